"""docs/configuration.md names every environment variable that the settings read."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "configuration.md"
VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Calls that read a variable by name: os.environ.get/setdefault/pop, os.getenv, env("X"), env.bool("X"),
# a settings helper such as _required("X") or _env_int("X").
READER = re.compile(r"(^|_)(get|getenv|setdefault|pop|env|required)(_|$)|env", re.IGNORECASE)


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _reads_environment(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute) and func.attr in {"get", "setdefault", "pop"}:
        return "environ" in ast.unparse(func.value)
    if isinstance(func, ast.Attribute) and "env" in ast.unparse(func.value).lower():
        return True  # env.str("X"), env.bool("X") …
    return bool(READER.search(_called_name(func)))


def variables_read(source: str) -> set[str]:
    """The names of the environment variables a Python module reads."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Call) and node.args and _reads_environment(node.func):
            name = node.args[0]
        elif isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value):
            name = node.slice
        elif isinstance(node, ast.Compare) and any("environ" in ast.unparse(c) for c in node.comparators):
            name = node.left
        if isinstance(name, ast.Constant) and isinstance(name.value, str) and VARIABLE.match(name.value):
            found.add(name.value)
    return found


def test_it_finds_the_ways_settings_read_the_environment():
    source = '''
import os
A = os.environ.get("LW_A", "1")
B = os.environ["LW_B"]
C = os.getenv("LW_C")
os.environ.setdefault("LW_D", "x")
E = _required("LW_E")
F = env.bool("LW_F", default=False)
G = env("LW_G")
if "LW_H" in os.environ: pass
I = settings.get("not_a_variable")
'''
    assert variables_read(source) == {f"LW_{c}" for c in "ABCDEFGH"}


def test_it_documents_every_environment_variable_the_settings_read():
    modules = sorted((ROOT / "config").rglob("*.py"))
    read = {name: path.relative_to(ROOT) for path in modules for name in variables_read(path.read_text())}
    assert {"DATABASE_URL", "SECRET_KEY", "LAYERWATCH_TARGET_FPR"} <= set(read)  # the scan sees them
    reference = REFERENCE.read_text(encoding="utf-8")
    missing = {name: str(path) for name, path in read.items() if f"`{name}`" not in reference}
    assert not missing, f"read by the settings but not described in docs/configuration.md: {missing}"
