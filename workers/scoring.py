"""Scoring tasks, on the `scoring` queue.

Requests are buffered by celery-batches and scored together: one model call per machine per
batch. Run the worker with the solo or threads pool (TensorFlow is not fork-safe) and a prefetch
multiplier above flush_every, e.g. `celery -A config worker -Q scoring -P solo --prefetch-multiplier 64`.

A batch scores only the layers it claims (apps.scoring.claims), so a message delivered twice is
harmless; a database restart is waited out here, and anything lost is re-sent by the sweeper.
"""

import uuid

from celery import shared_task
from celery_batches import Batches, consume_queue

from apps.scoring.claims import database_retry, layers_score_claimed


class ReconnectingBatches(Batches):
    """Batches that keep flushing after the worker reconnects to the broker (a Redis restart).

    The worker builds each task's strategy again on every (re)connection. Without this, the
    buffer's flush timer, started once, is gone with the old connection and never restarted, so
    messages taken after the reconnect wait in the buffer until 32 have come.
    """

    def Strategy(self, task, app, consumer):
        if self._tref is not None:
            self._tref.cancel()
            self._tref = None
        # As the consumer drops its reserved requests: they belong to the lost channel and cannot
        # be acknowledged; their layers come back through the broker or the sweeper.
        for _ in consume_queue(self._buffer):
            pass
        for _ in consume_queue(self._pending):
            pass
        return super().Strategy(task, app, consumer)


@shared_task(base=ReconnectingBatches, flush_every=32, flush_interval=0.25, acks_late=True)
def score_layer(requests) -> None:
    layer_ids = sorted({int(request.args[0]) for request in requests})
    token = f"{requests[0].hostname or 'worker'}:{uuid.uuid4().hex[:12]}" if requests else ""
    database_retry(lambda: layers_score_claimed(layer_ids=layer_ids, token=token))
