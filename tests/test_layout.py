import importlib.util
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_it_keeps_platform_folder_from_becoming_a_python_package():
    assert (ROOT / "platform").is_dir()
    assert not list((ROOT / "platform").rglob("__init__.py"))


def test_it_imports_the_standard_library_platform_module():
    spec = importlib.util.find_spec("platform")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).parent != ROOT / "platform"
    assert hasattr(platform, "python_version") and platform.python_version().startswith("3.")
    assert sys.modules["platform"] is platform


def test_it_has_the_top_level_layout_of_the_design_card():
    for name in ["config", "apps", "workers", "ml", "templates", "tests", "platform", "bench", ".ci"]:
        assert (ROOT / name).is_dir(), name
    for name in ["manage.py", "docker-compose.yml", "pyproject.toml", "README.md", "Makefile", ".ci/run"]:
        assert (ROOT / name).is_file(), name


def test_it_keeps_ml_free_of_django():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "ml").rglob("*.py")
        if "django" in path.read_text() or "from apps" in path.read_text() or "import PIL" in path.read_text()
    ]
    assert offenders == []


def test_it_reads_test_data_from_the_repository_only():
    from tests.ml.helpers import PBLM

    assert PBLM.resolve().is_relative_to(ROOT), PBLM
    assert len(list((PBLM / "good").glob("*.jpg"))) == 12
    assert (PBLM / "LICENSE").is_file()
    beside_checkout = ("/ \"shared\"", "../" + "shared")
    offenders = [str(p.relative_to(ROOT)) for p in [*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
                 if any(marker in p.read_text() for marker in beside_checkout)]
    assert offenders == []


def test_it_keeps_imports_running_one_way_from_workers_to_apps():
    import_of_workers = re.compile(r"^\s*(from|import)\s+workers\b", re.MULTILINE)
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "apps").rglob("*.py")
                 if import_of_workers.search(path.read_text())]
    assert offenders == []
