"""Worker heartbeats: each Celery worker refreshes its row every few seconds from a thread.

A row goes when its worker stops cleanly; a worker that is killed or frozen leaves a row that
grows old, and a row older than LAYERWATCH_WORKER_STALE_SECONDS counts as a dead worker.
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from apps.monitoring.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

SCORING_QUEUE = "scoring"


def heartbeat_record(*, hostname: str, queues: list[str], started_at=None) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={"queues": sorted(queues), "beat_at": now},
        create_defaults={"queues": sorted(queues), "beat_at": now, "started_at": started_at or now},
    )


def heartbeat_forget(*, hostname: str) -> None:
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def heartbeats_prune(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Drops the rows of workers long gone (a killed container's host name never comes back)."""
    deleted, _ = WorkerHeartbeat.objects.filter(beat_at__lt=timezone.now() - older_than).delete()
    return deleted


def workers_alive(*, queue: str = SCORING_QUEUE) -> list[WorkerHeartbeat]:
    """Workers that consume `queue` and beat recently."""
    fresh = timezone.now() - timedelta(seconds=settings.LAYERWATCH_WORKER_STALE_SECONDS)
    return [hb for hb in WorkerHeartbeat.objects.filter(beat_at__gte=fresh) if queue in hb.queues]


class HeartbeatThread(threading.Thread):
    """Beats for one worker process until stopped; a failed beat (database away) is retried."""

    def __init__(self, *, hostname: str, queues: list[str]) -> None:
        super().__init__(name="layerwatch-heartbeat", daemon=True)
        self.hostname, self.queues = hostname, list(queues)
        self.started_at = timezone.now()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                close_old_connections()
                heartbeat_record(hostname=self.hostname, queues=self.queues, started_at=self.started_at)
            except Exception:
                logger.exception("Heartbeat of %s not recorded", self.hostname)
            self.stopping.wait(settings.LAYERWATCH_HEARTBEAT_SECONDS)
        connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        try:
            heartbeat_forget(hostname=self.hostname)
        finally:
            connection.close()
