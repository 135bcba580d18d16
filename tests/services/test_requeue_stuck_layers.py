from datetime import timedelta

import pytest
from django.utils import timezone

from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from tests.images import image_bytes
from workers.housekeeping import requeue_stuck_layers

pytestmark = pytest.mark.django_db


def test_it_requeues_layers_stuck_in_the_queue_once(printer, settings):
    settings.LAYERWATCH_REQUEUE_AFTER_SECONDS = 60
    stuck = layer_ingest(machine=printer.machine, job_id="J", index=0, data=image_bytes(seed=0), enqueue=False).layer
    fresh = layer_ingest(machine=printer.machine, job_id="J", index=1, data=image_bytes(seed=1), enqueue=False).layer
    Layer.objects.filter(pk=stuck.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    Layer.objects.filter(pk=fresh.pk).update(enqueued_at=timezone.now())
    assert requeue_stuck_layers() == 1
    # Claimed: its enqueued_at moved forward, so a second sweeper finds nothing to do.
    assert requeue_stuck_layers() == 0
    assert Layer.objects.get(pk=stuck.pk).enqueued_at > timezone.now() - timedelta(seconds=30)
