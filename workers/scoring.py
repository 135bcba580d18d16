"""Scoring tasks, on the `scoring` queue.

Requests are buffered by celery-batches and scored together: one model call per machine per
batch. Run the worker with the solo or threads pool (TensorFlow is not fork-safe) and a prefetch
multiplier above flush_every, e.g. `celery -A config worker -Q scoring -P solo --prefetch-multiplier 64`.
"""

from celery import shared_task
from celery_batches import Batches

from apps.scoring.services import layers_score


@shared_task(base=Batches, flush_every=32, flush_interval=0.25, acks_late=True)
def score_layer(requests) -> None:
    layer_ids = sorted({int(request.args[0]) for request in requests})
    layers_score(layer_ids=layer_ids)
