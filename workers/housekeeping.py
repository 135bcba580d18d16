from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from apps.layers.models import Layer
from workers.scoring import score_layer


@shared_task
def requeue_stuck_layers() -> int:
    """Puts layers that stayed queued too long (a lost message) back on the scoring queue.

    Each layer is claimed with a conditional UPDATE on its enqueued_at, so several sweepers
    running at once never queue the same layer twice.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.LAYERWATCH_REQUEUE_AFTER_SECONDS)
    stuck = Layer.objects.filter(status=Layer.Status.QUEUED, enqueued_at__lt=cutoff)
    requeued = 0
    for layer_id, enqueued_at in stuck.values_list("pk", "enqueued_at")[:1000]:
        claimed = Layer.objects.filter(pk=layer_id, enqueued_at=enqueued_at).update(
            enqueued_at=timezone.now()
        )
        if claimed:
            score_layer.delay(layer_id)
            requeued += 1
    return requeued
