"""ml/ reaches TensorFlow only through Keras, so that the scorers, their networks and their saved
artifacts also run on Keras's JAX or PyTorch backend: bench/gpu_scoring.py measures them so on a
GPU machine that has no TensorFlow."""

import ast
from pathlib import Path

ML = Path(__file__).resolve().parent.parent.parent / "ml"


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_no_module_of_ml_imports_tensorflow_itself():
    importers = sorted(
        str(path.relative_to(ML))
        for path in ML.rglob("*.py")
        if any(module.partition(".")[0] == "tensorflow" for module in imported_modules(path))
    )
    assert importers == []
