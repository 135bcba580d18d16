from datetime import timedelta

import pytest
from django.utils import timezone

from apps.monitoring.heartbeats import heartbeat_record
from tests.alerts.conftest import eager_tasks, receiver  # noqa: F401  (fixtures)


@pytest.fixture
def scoring_worker(db):
    """A scoring worker that beat just now."""
    heartbeat_record(hostname="celery@gpu-1", queues=["scoring"])


def beat_ago(*, hostname: str, seconds: float, queues=("scoring",)) -> None:
    from apps.monitoring.models import WorkerHeartbeat

    heartbeat_record(hostname=hostname, queues=list(queues))
    WorkerHeartbeat.objects.filter(hostname=hostname).update(beat_at=timezone.now() - timedelta(seconds=seconds))
