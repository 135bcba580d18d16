"""platform/k8s renders with kustomize (kubectl's own) and every object passes the Kubernetes schema.

kubernetes-validate has no schema for KEDA's ScaledObject (a CRD): it is checked here by hand.
"""

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
K8S = ROOT / "platform" / "k8s"
KUBERNETES_VERSION = "1.32"
CRD_KINDS = {"ScaledObject"}  # KEDA's: no schema in kubernetes-validate
ROLES = {"web", "worker-scoring", "worker-training", "worker-default", "beat"}


def render(folder: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with its built-in kustomize) is needed to render platform/k8s"
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return list(yaml.safe_load_all(result.stdout))


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return render(K8S / "base")


@pytest.fixture(scope="module")
def gpu() -> list[dict]:
    return render(K8S / "overlays" / "gpu")


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(objects: list[dict]) -> dict[str, dict]:
    pods = [o["spec"]["template"]["spec"] for o in objects if o["kind"] in {"Deployment", "Job"}]
    return {c["name"]: c for pod in pods for c in pod["containers"]}


def test_it_lists_every_manifest_of_the_base_in_its_kustomization():
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    files = {p.name for p in (K8S / "base").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert not list(K8S.glob("*.yaml")), "loose manifests beside the base are applied by nobody"


@pytest.mark.parametrize("variant", ["base", "gpu"])
def test_every_rendered_object_passes_the_kubernetes_schema(variant, request):
    objects = request.getfixturevalue(variant)
    checked = 0
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 10


def test_it_runs_each_role_a_migration_job_a_service_an_ingress_and_media_storage(base):
    assert {name: c["args"] for name, c in containers(base).items()} == {r: [r] for r in ROLES | {"migrate"}}
    assert "layerwatch-migrate" in by_kind(base, "Job")
    service = by_kind(base, "Service")["layerwatch-web"]
    web = by_kind(base, "Deployment")["layerwatch-web"]
    assert service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    backend = by_kind(base, "Ingress")["layerwatch-web"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "layerwatch-web"
    assert "ReadWriteMany" in by_kind(base, "PersistentVolumeClaim")["layerwatch-media"]["spec"]["accessModes"]


def test_the_probes_use_health_endpoints_with_a_host_that_allowed_hosts_accepts(base):
    allowed = by_kind(base, "ConfigMap")["layerwatch-config"]["data"]["ALLOWED_HOSTS"].split(",")
    web = containers(base)["web"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        headers = {h["name"]: h["value"] for h in web[probe]["httpGet"]["httpHeaders"]}
        assert headers["Host"] in allowed, probe
    ingress_host = by_kind(base, "Ingress")["layerwatch-web"]["spec"]["rules"][0]["host"]
    assert ingress_host in allowed


def test_every_container_has_resource_requests_and_a_memory_limit_and_reads_config_and_secrets(base):
    for name, container in containers(base).items():
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert "memory" in container["resources"]["limits"], name
        sources = {next(iter(source.values()))["name"] for source in container["envFrom"]}
        assert sources == {"layerwatch-config", "layerwatch-secrets"}, name


def test_the_secret_template_holds_no_values(base):
    secret = by_kind(base, "Secret")["layerwatch-secrets"]
    assert set(secret["stringData"]) >= {"SECRET_KEY", "DATABASE_URL"}
    assert not any(secret["stringData"].values()) and "data" not in secret


def test_keda_scales_scoring_workers_on_the_scoring_queue_length(base):
    scaled = by_kind(base, "ScaledObject")["layerwatch-worker-scoring"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    target = scaled["spec"]["scaleTargetRef"]["name"]
    assert target in by_kind(base, "Deployment") and "replicas" not in by_kind(base, "Deployment")[target]["spec"]
    assert containers([by_kind(base, "Deployment")[target]])["worker-scoring"]["args"] == ["worker-scoring"]
    assert scaled["spec"]["minReplicaCount"] >= 1  # /readyz needs a live scoring worker
    (trigger,) = scaled["spec"]["triggers"]
    config = by_kind(base, "ConfigMap")["layerwatch-config"]["data"]
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == "scoring"
    assert int(trigger["metadata"]["listLength"]) > 0
    # The address KEDA reads is the Redis that the workers use as their broker.
    assert config[trigger["metadata"]["addressFromEnv"]] in config["REDIS_URL"]
    assert config["REDIS_URL"].endswith("/" + trigger["metadata"]["databaseIndex"])


def test_only_the_gpu_overlay_asks_for_gpus_and_runs_the_gpu_image(base, gpu):
    assert "nvidia.com/gpu" not in yaml.safe_dump_all(base)
    assert {c["image"] for c in containers(base).values()} == {"layerwatch:cpu"}
    for name, container in containers(gpu).items():
        on_gpu = name in {"worker-scoring", "worker-training"}
        assert container["image"] == ("layerwatch:gpu" if on_gpu else "layerwatch:cpu"), name
        assert ("nvidia.com/gpu" in container["resources"]["limits"]) == on_gpu, name
        # The patch adds to the base's container rather than replacing it.
        assert container["args"] and container["envFrom"], name
