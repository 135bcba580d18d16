"""Prints the image's requirements, one a line, from pyproject.toml's pins.

    python requirements.py PYPROJECT cpu|gpu [EXTRAS]

`cpu` keeps pyproject's tensorflow-cpu; `gpu` puts tensorflow[and-cuda] at the same version in its
place, so an image never holds two TensorFlows. EXTRAS is a comma-separated list of optional
dependency groups (`s3`). A script, not a module: platform/ is never a Python package.
"""

import argparse
import re
import tomllib
from pathlib import Path

TENSORFLOW_CPU = re.compile(r"^tensorflow-cpu==(?P<version>\S+)$")


def requirements(pyproject: dict, tensorflow: str, extras: list[str]) -> list[str]:
    project = pyproject["project"]
    unknown = set(extras) - set(project.get("optional-dependencies", {}))
    if unknown:
        raise SystemExit(f"requirements.py: pyproject.toml has no optional dependencies {', '.join(sorted(unknown))}")
    pinned = [TENSORFLOW_CPU.match(requirement) for requirement in project["dependencies"]]
    if not any(pinned):
        raise SystemExit("requirements.py: pyproject.toml's dependencies pin no tensorflow-cpu==VERSION")
    lines = [
        f"tensorflow[and-cuda]=={match['version']}" if match and tensorflow == "gpu" else requirement
        for requirement, match in zip(project["dependencies"], pinned, strict=True)
    ]
    for extra in extras:
        lines.extend(project["optional-dependencies"][extra])
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The image's requirements from pyproject.toml's pins.")
    parser.add_argument("pyproject", type=Path)
    parser.add_argument("tensorflow", choices=["cpu", "gpu"])
    parser.add_argument("extras", nargs="?", default="", help="comma-separated optional dependency groups")
    arguments = parser.parse_args()
    groups = [name for name in arguments.extras.split(",") if name]
    print("\n".join(requirements(tomllib.loads(arguments.pyproject.read_text()), arguments.tensorflow, groups)))
