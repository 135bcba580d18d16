"""The sweeper re-sends a queued layer whose message is lost, and only that, and only once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring.broker import scoring_messages_pending
from apps.scoring.claims import scoring_send
from tests.images import image_bytes
from workers.housekeeping import requeue_stuck_layers

pytestmark = pytest.mark.django_db


@pytest.fixture
def sweep_settings(settings):
    settings.LAYERWATCH_REQUEUE_AFTER_SECONDS = 30
    settings.LAYERWATCH_CLAIM_TIMEOUT_SECONDS = 60
    return settings


def layer_waiting(machine, index, *, waited, claimed=None):
    layer = layer_ingest(machine=machine, job_id="J", index=index, data=image_bytes(seed=index), enqueue=False).layer
    now = timezone.now()
    Layer.objects.filter(pk=layer.pk).update(
        enqueued_at=now - timedelta(seconds=waited),
        claimed_at=None if claimed is None else now - timedelta(seconds=claimed),
        claimed_by="" if claimed is None else "worker-gone",
    )
    return layer


def messages(broker) -> list[int]:
    return sorted(scoring_messages_pending(delivered_since=timezone.now()))


def test_it_resends_a_layer_whose_message_is_lost_once(printer, broker, sweep_settings):
    lost = layer_waiting(printer.machine, 0, waited=40)
    layer_waiting(printer.machine, 1, waited=5)  # too recent to call lost
    assert requeue_stuck_layers() == 1
    assert messages(broker) == [lost.pk]
    # Taken: its enqueued_at moved on, so the next sweep (or a second sweeper) sends nothing.
    assert requeue_stuck_layers() == 0
    assert broker.llen("scoring") == 1


def test_it_leaves_a_layer_whose_message_waits_in_the_queue(printer, broker, sweep_settings):
    waiting = layer_waiting(printer.machine, 0, waited=300)  # behind a long backlog
    scoring_send(layer_id=waiting.pk)
    assert requeue_stuck_layers() == 0
    assert broker.llen("scoring") == 1


def test_it_resends_a_layer_whose_worker_died_holding_its_claim(printer, broker, sweep_settings):
    abandoned = layer_waiting(printer.machine, 0, waited=200, claimed=61)
    held = layer_waiting(printer.machine, 1, waited=200, claimed=10)  # a live worker is scoring it
    assert requeue_stuck_layers() == 1
    assert messages(broker) == [abandoned.pk]
    abandoned.refresh_from_db()
    assert abandoned.claimed_at is None and abandoned.status == Layer.Status.QUEUED
    assert Layer.objects.get(pk=held.pk).claimed_by == "worker-gone"


def test_it_leaves_scored_and_failed_layers_alone(printer, broker, sweep_settings):
    for index, status in enumerate([Layer.Status.SCORED, Layer.Status.FAILED, Layer.Status.UNSCORED]):
        layer = layer_waiting(printer.machine, index, waited=400)
        Layer.objects.filter(pk=layer.pk).update(status=status)
    assert requeue_stuck_layers() == 0
    assert broker.llen("scoring") == 0


def test_it_leaves_imported_layers_that_were_not_queued(printer, broker, sweep_settings):
    layer_ingest(machine=printer.machine, job_id="J", index=0, data=image_bytes(), enqueue=False)
    assert requeue_stuck_layers() == 0


def test_it_leaves_a_layer_whose_message_a_worker_has_just_taken(printer, broker, sweep_settings):
    from celery import current_app

    taken = layer_waiting(printer.machine, 0, waited=40)
    scoring_send(layer_id=taken.pk)
    with current_app.connection_for_read() as connection:
        queue = connection.SimpleQueue("scoring", no_ack=False)
        message = queue.get(timeout=5)  # delivered, not yet acknowledged: a worker holds it
        assert broker.llen("scoring") == 0 and broker.hlen("unacked") == 1
        assert requeue_stuck_layers() == 0
        message.ack()
        queue.close()
