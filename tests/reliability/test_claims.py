"""A layer is scored by the one worker that claims it; a broken model fails it with the reason."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.layers.models import Failure, Layer
from apps.layers.services import layer_ingest
from apps.scoring.claims import layers_claim, layers_requeue_repaired, layers_score_claimed
from apps.scoring.models import LayerScore
from apps.scoring.training import model_version_activate
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


def queued(machine, index=0):
    return layer_ingest(machine=machine, job_id="J", index=index, data=image_bytes(seed=index)).layer


def test_it_lets_only_one_claimant_take_a_queued_layer(printer):
    layer = queued(printer.machine)
    assert layers_claim(layer_ids=[layer.pk], token="worker-a") == [layer.pk]
    assert layers_claim(layer_ids=[layer.pk], token="worker-b") == []
    # A retried batch holds its own claims still.
    assert layers_claim(layer_ids=[layer.pk], token="worker-a") == [layer.pk]


def test_it_lets_a_claim_that_ran_out_be_taken_over(printer, settings):
    settings.LAYERWATCH_CLAIM_TIMEOUT_SECONDS = 60
    layer = queued(printer.machine)
    Layer.objects.filter(pk=layer.pk).update(claimed_at=timezone.now() - timedelta(seconds=61), claimed_by="dead")
    assert layers_claim(layer_ids=[layer.pk], token="worker-b") == [layer.pk]
    assert Layer.objects.get(pk=layer.pk).claimed_by == "worker-b"


def test_it_scores_a_layer_delivered_twice_once(printer, install_model):
    install_model(printer.machine)
    layer = queued(printer.machine)
    assert layers_score_claimed(layer_ids=[layer.pk], token="worker-a") == 1
    assert layers_score_claimed(layer_ids=[layer.pk], token="worker-b") == 0
    layer.refresh_from_db()
    assert layer.status == Layer.Status.SCORED
    assert LayerScore.objects.filter(layer=layer).count() == 1


def test_it_fails_layers_with_the_reason_when_the_artifact_is_corrupt(printer, install_model):
    version = install_model(printer.machine)
    with open(version.artifact.path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00garbage\x00")
    layer = queued(printer.machine)
    layers_score_claimed(layer_ids=[layer.pk], token="worker-a")
    layer.refresh_from_db()
    assert layer.status == Layer.Status.FAILED and layer.failure == Failure.MODEL_ARTIFACT
    assert "corrupt" in layer.error and "sha256" in layer.error
    assert not LayerScore.objects.filter(layer=layer).exists()


def test_it_fails_layers_with_the_reason_when_the_artifact_is_missing(printer, install_model):
    version = install_model(printer.machine)
    version.artifact.storage.delete(version.artifact.name)
    layer = queued(printer.machine)
    layers_score_claimed(layer_ids=[layer.pk], token="worker-a")
    layer.refresh_from_db()
    assert layer.status == Layer.Status.FAILED and "missing" in layer.error


def test_it_requeues_artifact_failures_once_the_artifact_is_repaired(printer, install_model, seed_artifact):
    version = install_model(printer.machine)
    good = seed_artifact.read_bytes()
    with open(version.artifact.path, "wb") as handle:
        handle.write(good[:1000])
    layer = queued(printer.machine)
    layers_score_claimed(layer_ids=[layer.pk], token="worker-a")
    assert layers_requeue_repaired() == 0  # still broken: it stays failed
    with open(version.artifact.path, "wb") as handle:
        handle.write(good)
    assert layers_requeue_repaired() == 1
    layer.refresh_from_db()
    assert layer.status == Layer.Status.QUEUED and layer.error == "" and layer.failure == ""
    layers_score_claimed(layer_ids=[layer.pk], token="worker-b")
    assert Layer.objects.get(pk=layer.pk).status == Layer.Status.SCORED


def test_it_requeues_artifact_failures_when_another_version_is_activated(printer, install_model):
    broken = install_model(printer.machine)
    broken.artifact.storage.delete(broken.artifact.name)
    layer = queued(printer.machine)
    layers_score_claimed(layer_ids=[layer.pk], token="worker-a")
    broken.status = broken.Status.RETIRED
    broken.save()
    replacement = install_model(printer.machine)
    replacement.status = replacement.Status.READY
    replacement.save()
    model_version_activate(version=replacement)
    layer.refresh_from_db()
    assert layer.status == Layer.Status.QUEUED
    layers_score_claimed(layer_ids=[layer.pk], token="worker-b")
    assert Layer.objects.get(pk=layer.pk).current_score.model_version == replacement


def test_it_claims_the_earlier_queued_layers_it_scores_first_and_leaves_others_claims_alone(printer, install_model):
    install_model(printer.machine)
    free, held, layer = (queued(printer.machine, index=i) for i in range(3))
    assert layers_claim(layer_ids=[held.pk], token="worker-b") == [held.pk]
    assert layers_score_claimed(layer_ids=[layer.pk], token="worker-a") == 1
    free.refresh_from_db()
    held.refresh_from_db()
    assert free.status == Layer.Status.SCORED and free.claimed_by == "worker-a"
    # Another worker's live claim is its to score: it is neither scored twice nor taken over.
    assert held.status == Layer.Status.QUEUED and held.claimed_by == "worker-b"
    assert not LayerScore.objects.filter(layer=held).exists()


def test_it_fails_the_earlier_layers_it_claimed_when_scoring_fails(printer, install_model):
    version = install_model(printer.machine)
    earlier, layer = queued(printer.machine, index=0), queued(printer.machine, index=1)
    with open(version.artifact.path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00garbage\x00")
    assert layers_score_claimed(layer_ids=[layer.pk], token="worker-a") == 1
    earlier.refresh_from_db()
    assert earlier.status == Layer.Status.FAILED and earlier.failure == Failure.MODEL_ARTIFACT
