"""Layers with scores for the operator pages, made without running a model (fast)."""

import numpy as np
import pytest
from django.core.files.base import ContentFile

from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring.models import LayerScore, ModelVersion
from apps.scoring.rendering import grayscale_png, heatmap_png
from tests.images import image_bytes

HEATMAP = heatmap_png(np.outer(np.linspace(0, 1, 64), np.linspace(1, 0, 64)), vmax=1.0)
RECONSTRUCTION = grayscale_png(np.full((64, 64), 0.5))


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_user("ada", password="admin-password", is_staff=True)


@pytest.fixture
def operator_session(client, operator):
    client.login(username="olivia", password="shift-password")
    return client


@pytest.fixture
def fake_version(db):
    """An active model version without an artifact: enough for pages that only read scores."""

    def make(machine, *, threshold: float = 1.0) -> ModelVersion:
        machine.model_versions.filter(status="active").update(status="retired")
        return ModelVersion.objects.create(
            machine=machine, version=machine.model_versions.count() + 1, scorer="seed",
            status=ModelVersion.Status.ACTIVE, threshold=threshold,
            metrics={"tp": 8, "fp": 1, "tn": 40, "fn": 2, "precision": 0.89, "recall": 0.8,
                     "f1": 0.84, "auroc": 0.95},
        )

    return make


def layer_add(machine, *, job: str = "job-1", index: int, score: float | None = None,
              version: ModelVersion | None = None) -> Layer:
    """Stores a layer as a printer would and, given a score, records it as the worker would."""
    layer = layer_ingest(machine=machine, job_id=job, index=index,
                         data=image_bytes(seed=index, size=64), enqueue=False).layer
    if score is not None:
        score_record(layer, version, score=score)
    return layer


def score_record(layer: Layer, version: ModelVersion, *, score: float) -> LayerScore:
    """Records a score for a stored layer as the worker would, with a fixed heatmap."""
    row = LayerScore(layer=layer, model_version=version, scorer=version.scorer, score=score,
                     threshold=version.threshold, anomalous=score > version.threshold)
    row.heatmap.save("heatmap.png", ContentFile(HEATMAP), save=False)
    row.reconstruction.save("reconstruction.png", ContentFile(RECONSTRUCTION), save=False)
    row.save()
    Layer.objects.filter(pk=layer.pk).update(status=Layer.Status.SCORED, current_score=row)
    layer.refresh_from_db()
    return row


@pytest.fixture
def machine(printer):
    return printer.machine


@pytest.fixture
def scored_layers(machine, fake_version):
    """Twelve scored layers of one job, scores 0.5 … 1.6 against a threshold of 1."""
    version = fake_version(machine)
    return [layer_add(machine, index=i, score=0.5 + i * 0.1, version=version) for i in range(12)]


@pytest.fixture
def make_alert(machine, fake_version):
    """An alert over three scored layers of its own job, as the rules would open it."""
    from apps.alerts.models import Alert

    version = fake_version(machine)

    def make(*, job: str = "job-a", severity: str = "warning", target=None, **fields) -> Alert:
        target = target or machine
        layers = [layer_add(target, job=job, index=i, score=1.5, version=version) for i in range(3)]
        alert = Alert.objects.create(machine=target, job=layers[0].job, severity=severity,
                                     reason="3 of the last 5 layers are anomalous.", last_layer_index=2, **fields)
        alert.layers.add(*layers)
        return alert

    return make


@pytest.fixture
def admin_session(client, admin_user):
    client.login(username="ada", password="admin-password")
    return client
