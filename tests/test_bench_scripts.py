"""The benchmark scripts are not run by the suite (they take minutes to hours), but each must at
least load: an import a refactor broke would otherwise surface only when someone measures."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", sorted(p for p in BENCH.rglob("*.py") if p.name != "__init__.py"),
                         ids=lambda path: str(path.relative_to(BENCH)))
def test_each_benchmark_script_loads(script, monkeypatch):
    name = "bench_" + "_".join(script.relative_to(BENCH).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)  # runs its imports; main() only runs as a script
    if 'if __name__ == "__main__":' in script.read_text():
        assert callable(module.main)
