import importlib
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent.parent


def test_it_installs_the_uploader_as_the_layerwatch_upload_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    module, _, name = project["project"]["scripts"]["layerwatch-upload"].partition(":")
    assert callable(getattr(importlib.import_module(module), name))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert "apps.uploader" in find_packages(where=str(ROOT), include=include)


def test_it_keeps_the_uploader_free_of_django():
    # A printer's PC installs requests and the standard library, not the server.
    sources = [path.read_text() for path in (ROOT / "apps" / "uploader").glob("*.py")]
    assert sources and not [text for text in sources if "django" in text or "rest_framework" in text]
