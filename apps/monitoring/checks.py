"""The readiness checks behind /readyz, on django-health-check's check classes."""

import dataclasses
import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from health_check import checks
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from apps.monitoring.heartbeats import SCORING_QUEUE, workers_alive


@dataclasses.dataclass
class Database(checks.Database):
    """django-health-check's query, closing the connection it opened in the executor's thread."""

    def run(self) -> None:
        try:
            super().run()
        finally:
            connections[self.alias].close()


@dataclasses.dataclass
class ScoringWorkers(HealthCheck):
    """At least one worker that consumes the scoring queue beat within the stale age."""

    queue: str = SCORING_QUEUE
    timeout = datetime.timedelta(seconds=3)

    async def run(self) -> None:
        # In the request's own thread, on the request's database connection.
        alive = await sync_to_async(workers_alive, thread_sensitive=True)(queue=self.queue)
        if not alive:
            raise ServiceUnavailable(
                f"No worker on the {self.queue!r} queue beat in the last "
                f"{settings.LAYERWATCH_WORKER_STALE_SECONDS:g} s."
            )


def _redis_client():
    from redis.asyncio import Redis

    return Redis.from_url(settings.REDIS_URL, socket_timeout=3, socket_connect_timeout=3)


def readiness_checks() -> list:
    """Database, storage, Redis (where the deployment has one) and a scoring worker."""
    checks: list = [Database, "health_check.checks.Storage"]
    if getattr(settings, "REDIS_URL", None):
        checks.append(("health_check.contrib.redis.Redis", {"client_factory": _redis_client}))
    checks.append(ScoringWorkers)
    return checks
