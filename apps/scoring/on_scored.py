"""What happens after a layer gets a new score. Alert rules subscribe here.

A plain list of callables rather than a Django signal: the subscribers are few, known, and called
after the score is committed, and a failing subscriber must not undo the score.
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

_subscribers: list[Callable[..., None]] = []


def subscribe(callback: Callable[..., None]) -> Callable[..., None]:
    if callback not in _subscribers:
        _subscribers.append(callback)
    return callback


def send(*, layer_id: int, score_id: int) -> None:
    for callback in list(_subscribers):
        try:
            callback(layer_id=layer_id, score_id=score_id)
        except Exception:
            logger.exception("After-scoring step %s failed for layer %s", callback, layer_id)
