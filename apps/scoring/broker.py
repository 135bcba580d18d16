"""What the broker holds for the scoring queue, so the sweeper re-sends only lost messages.

Read straight from kombu's Redis layout: the queue's lists (one per priority step) hold waiting
messages, and the `unacked` hash holds those delivered to a worker and not yet acknowledged,
with the time of delivery in `unacked_index`.
"""

import base64
import json
import logging
from datetime import datetime

from celery import current_app

logger = logging.getLogger(__name__)

SCORING_QUEUE = "scoring"
SCORING_TASK = "workers.scoring.score_layer"
_CHUNK = 1000


def scoring_messages_pending(*, delivered_since: datetime) -> set[int] | None:
    """Ids of layers with a scoring message waiting in the queue, or delivered since the given
    time (a worker is still expected to claim them). None when the broker is not Redis."""
    with current_app.connection_for_read() as connection:
        if connection.transport.driver_type != "redis":
            return None
        channel = connection.default_channel
        client = channel.client
        ids: set[int] = set()
        for priority in channel.priority_steps:
            key = channel._q_for_pri(SCORING_QUEUE, priority)
            for start in range(0, client.llen(key), _CHUNK):
                ids.update(scoring_message_layer_ids(client.lrange(key, start, start + _CHUNK - 1)))
        tags = client.zrangebyscore(channel.unacked_index_key, delivered_since.timestamp(), "+inf")
        if tags:
            delivered = [entry for entry in client.hmget(channel.unacked_key, tags) if entry]
            ids.update(scoring_message_layer_ids(json.loads(entry)[0] for entry in delivered))
        return ids


def scoring_message_layer_ids(messages) -> set[int]:
    """The layer ids of the scoring messages among raw Redis entries (JSON strings or decoded dicts)."""
    ids = set()
    for message in messages:
        try:
            payload = json.loads(message) if isinstance(message, str | bytes) else message
            if payload.get("headers", {}).get("task") != SCORING_TASK:
                continue
            body = payload["body"]
            if payload.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args = json.loads(body)[0]
            ids.add(int(args[0]))
        except (ValueError, KeyError, IndexError, TypeError):
            logger.warning("A message on the scoring queue could not be read; it is left alone.")
    return ids
