"""Parts estimated from the photos of a job whose printer sends no part labels."""

import numpy as np
import pytest
import requests

from apps.demo.printers import png_bytes
from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.parts.models import LayerParts, PartTrack
from apps.parts.selectors import job_part_summaries
from apps.parts.services import frame_unpack, layer_parts_estimate
from ml.synthetic import generate_job
from tests.parts.conftest import labels_png, two_parts
from tests.worker import wait_until

JOB = generate_job(seed=2, n_layers=4)  # two parts apart from each other, in every layer


def ingest(machine, layers, *, job="est-1") -> list[Layer]:
    return [
        layer_ingest(machine=machine, job_id=job, index=lr.index, data=png_bytes(lr.image), enqueue=False).layer
        for lr in layers
    ]


@pytest.mark.django_db
def test_it_estimates_parts_that_keep_their_place_and_numbers_them_once(printer, settings):
    settings.LAYERWATCH_ESTIMATED_PART_MIN_LAYERS = 3
    layers = ingest(printer.machine, JOB)
    for layer in layers:
        layer_parts_estimate(layer_id=layer.pk)
    assert layer_parts_estimate(layer_id=layers[0].pk) is None  # done once: idempotent
    assert PartTrack.objects.count() == len(np.unique(JOB[0].parts)) - 1
    summaries = job_part_summaries(job=layers[0].job)
    assert [s.estimated for s in summaries] == [True] * len(summaries) and len(summaries) == 2
    assert all(s.layers == (0, 3) and s.name.startswith("Estimated part") for s in summaries)
    frame = frame_unpack(LayerParts.objects.get(layer=layers[2]).frame)
    truth = JOB[2].parts
    for summary in summaries:  # each estimate covers one true part closely
        estimate = frame == summary.part_id
        true_id = np.bincount(truth[estimate]).argmax()
        iou = (estimate & (truth == true_id)).sum() / (estimate | (truth == true_id)).sum()
        assert true_id and iou >= 0.8


@pytest.mark.django_db
def test_it_lists_estimated_parts_only_once_seen_on_enough_layers(printer, settings):
    settings.LAYERWATCH_ESTIMATED_PART_MIN_LAYERS = 3
    layers = ingest(printer.machine, JOB[:2])
    for layer in layers:
        layer_parts_estimate(layer_id=layer.pk)
    assert job_part_summaries(job=layers[0].job) == []


@pytest.mark.django_db
def test_it_leaves_a_layer_with_sent_labels_as_it_is(printer):
    layer = layer_ingest(machine=printer.machine, job_id="sent", index=0, data=png_bytes(JOB[0].image[:128, :128]),
                         parts=labels_png(two_parts()), enqueue=False).layer
    assert layer_parts_estimate(layer_id=layer.pk) is None
    assert LayerParts.objects.get(layer=layer).estimated is False and not PartTrack.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_estimates_parts_after_scoring_in_the_worker(live_server, celery_worker_process, printer, install_model):
    install_model(printer.machine, threshold=1e9)
    for layer in JOB[:3]:
        response = requests.post(
            f"{live_server.url}/api/v1/layers/", headers={"Authorization": f"Token {printer.token}"},
            files={"image": ("l.png", png_bytes(layer.image))}, data={"job": "live", "layer": str(layer.index)},
            timeout=30,
        )
        assert response.status_code == 202
    wait_until(lambda: LayerParts.objects.filter(layer__job__job_id="live").count() == 3, worker=celery_worker_process)
    job = Layer.objects.filter(job__job_id="live").first().job
    assert {s.part_id for s in job_part_summaries(job=job)} == {1, 2}


@pytest.mark.django_db
def test_it_queues_an_estimate_after_scoring_only_for_layers_without_sent_labels(
    printer, django_capture_on_commit_callbacks
):
    import json

    import redis
    from django.conf import settings

    from apps.parts.services import layer_parts_estimate_enqueue

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("default")
    sent = layer_ingest(machine=printer.machine, job_id="q", index=0, data=png_bytes(JOB[0].image[:128, :128]),
                        parts=labels_png(two_parts()), enqueue=False).layer
    bare = ingest(printer.machine, JOB[:1], job="q2")[0]
    with django_capture_on_commit_callbacks(execute=True):
        layer_parts_estimate_enqueue(layer_id=sent.pk)
    assert broker.llen("default") == 0
    with django_capture_on_commit_callbacks(execute=True):
        layer_parts_estimate_enqueue(layer_id=bare.pk)
    (message,) = broker.lpop("default", 10)
    assert json.loads(message)["headers"]["task"] == "workers.parts.estimate_layer_parts"
