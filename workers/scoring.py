"""Scoring tasks, on the `scoring` queue.

Requests are buffered by celery-batches and scored together: one model call per machine per
batch. Run the worker with the solo or threads pool (TensorFlow is not fork-safe) and a prefetch
multiplier above flush_every, e.g. `celery -A config worker -Q scoring -P solo --prefetch-multiplier 64`.

A batch scores only the layers it claims (apps.scoring.claims), so a message delivered twice is
harmless; a database restart is waited out here, and anything lost is re-sent by the sweeper.
"""

import uuid

from celery import shared_task
from celery_batches import Batches

from apps.scoring.claims import database_retry, layers_score_claimed


@shared_task(base=Batches, flush_every=32, flush_interval=0.25, acks_late=True)
def score_layer(requests) -> None:
    layer_ids = sorted({int(request.args[0]) for request in requests})
    token = f"{requests[0].hostname or 'worker'}:{uuid.uuid4().hex[:12]}" if requests else ""
    database_retry(lambda: layers_score_claimed(layer_ids=layer_ids, token=token))
