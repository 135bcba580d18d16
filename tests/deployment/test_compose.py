"""docker-compose.yml (CPU only) and docker-compose.gpu.yml keep the invariants that make them work as written.

No Docker daemon here: the files are read with PyYAML, and the override merged the way compose
merges mappings (the only kind of key the override sets).
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
APP_SERVICES = {"migrate", "web", "worker-scoring", "worker-training", "worker-default", "beat"}
REQUIRED_SECRETS = {"SECRET_KEY", "POSTGRES_PASSWORD"}


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def merged(base: dict, override: dict) -> dict:
    result = dict(base)
    for key, value in override.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and key in result else value
    return result


@pytest.fixture
def cpu() -> dict:
    return load("docker-compose.yml")["services"]


@pytest.fixture
def gpu() -> dict:
    return merged(load("docker-compose.yml"), load("docker-compose.gpu.yml"))["services"]


def entrypoint_roles() -> set[str]:
    return set(re.findall(r"^  ([a-z-]+)\)$", (ROOT / "platform" / "entrypoint.sh").read_text(), re.MULTILINE))


def test_it_runs_the_whole_stack_without_a_gpu(cpu):
    assert set(cpu) == APP_SERVICES | {"postgres", "redis"}
    assert not re.search(r"nvidia|capabilities|devices", yaml.safe_dump(cpu)), "a GPU reservation in the CPU stack"
    assert {cpu[name]["image"] for name in APP_SERVICES} == {"layerwatch:cpu"}


def test_every_app_service_runs_a_role_the_entrypoint_knows(cpu):
    roles = entrypoint_roles()
    assert APP_SERVICES <= roles
    for name in APP_SERVICES:
        assert cpu[name]["command"] == [name], name


@pytest.mark.parametrize("stack", ["cpu", "gpu"])
def test_each_image_tag_is_built_by_exactly_one_service_and_never_pulled(stack, request):
    services = request.getfixturevalue(stack)
    builders: dict[str, list[str]] = {}
    for name, service in services.items():
        if service["image"].startswith("layerwatch:"):
            if "build" in service:
                builders.setdefault(service["image"], []).append(name)
                assert service["pull_policy"] == "build", name
            else:
                assert service["pull_policy"] == "never", name  # there is no such image in a registry
    used = {s["image"] for s in services.values() if s["image"].startswith("layerwatch:")}
    assert {tag: len(names) for tag, names in builders.items()} == dict.fromkeys(used, 1)
    for tag, (name,) in builders.items():
        build = services[name]["build"]
        assert build["dockerfile"] == "platform/Dockerfile" and (ROOT / build["context"] / build["dockerfile"]).exists()
        assert build["args"]["TENSORFLOW"] == tag.removeprefix("layerwatch:"), f"{tag} built as {build['args']}"


def test_the_gpu_override_gives_gpus_and_the_gpu_image_to_scoring_and_training_only(gpu):
    for name, service in gpu.items():
        on_gpu = name in {"worker-scoring", "worker-training"}
        assert ("deploy" in service) == on_gpu, name
        if on_gpu:
            assert service["image"] == "layerwatch:gpu"
            (device,) = service["deploy"]["resources"]["reservations"]["devices"]
            assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]


def test_required_secrets_stop_compose_when_unset_and_have_no_default():
    for name in ("docker-compose.yml", "docker-compose.gpu.yml"):
        text = (ROOT / name).read_text()
        for variable, operator in re.findall(r"\$\{(\w+)(:?[-?+]|)", text):
            if variable in REQUIRED_SECRETS:
                assert operator == ":?", f"{name}: ${{{variable}{operator}…}}"
    text = (ROOT / "docker-compose.yml").read_text()
    assert {v for v in REQUIRED_SECRETS if "${" + v + ":?" in text} == REQUIRED_SECRETS
    assert "change-me" not in text


def test_services_start_in_order_migrations_first(cpu):
    assert cpu["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert cpu["migrate"]["restart"] == "no"
    for name in APP_SERVICES - {"migrate"}:
        assert cpu[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    for name, service in cpu.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in cpu[dependency], f"{name} waits on {dependency}, which has no healthcheck"


def test_the_web_healthcheck_asks_readyz_with_a_host_the_web_server_allows(cpu):
    check = cpu["web"]["healthcheck"]["test"]
    assert check == ["CMD", "python", "/platform/healthcheck.py", "/readyz"]
    assert "platform/healthcheck.py" in (ROOT / "platform" / "Dockerfile").read_text()
    assert cpu["web"]["environment"]["ALLOWED_HOSTS"].endswith(",localhost")


def compose_config(*files: str, **variables: str) -> subprocess.CompletedProcess:
    """`docker-compose config`: Debian's compose (v1) parses, validates and merges without a daemon."""
    executable = shutil.which("docker-compose")
    assert executable, "docker-compose is missing: apt-get install docker-compose (.ci/run does)"
    arguments = [item for name in files for item in ("-f", name)]
    environment = {"PATH": os.environ["PATH"], **variables}
    return subprocess.run([executable, *arguments, "config"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_compose_refuses_to_start_without_the_secret_key():
    result = compose_config("docker-compose.yml", POSTGRES_PASSWORD="pw")
    assert result.returncode != 0 and "set SECRET_KEY" in result.stderr


def test_compose_validates_and_merges_the_gpu_override():
    secrets = {"SECRET_KEY": "k", "POSTGRES_PASSWORD": "pw"}
    cpu = compose_config("docker-compose.yml", **secrets)
    assert cpu.returncode == 0, cpu.stderr
    assert "nvidia" not in cpu.stdout
    gpu = compose_config("docker-compose.yml", "docker-compose.gpu.yml", **secrets)
    assert gpu.returncode == 0, gpu.stderr
    services = yaml.safe_load(gpu.stdout)["services"]
    assert services["worker-scoring"]["image"] == services["worker-training"]["image"] == "layerwatch:gpu"
    assert services["worker-scoring"]["build"]["args"] == {"TENSORFLOW": "gpu"}
    assert "deploy" in services["worker-training"] and "deploy" not in services["web"]
    assert services["web"]["environment"]["DATABASE_URL"] == "postgres://layerwatch:pw@postgres:5432/layerwatch"
