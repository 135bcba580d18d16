from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.monitoring.heartbeats import heartbeat_record
from apps.monitoring.models import WorkerHeartbeat
from tests.alerts.conftest import receiver  # noqa: F401  (fixture)


@pytest.fixture
def own_heartbeats(db):
    """Only the heartbeats this test records count. The suite's Celery worker, where one runs,
    beats into the same database: its heartbeat waits on this lock until the test's transaction
    is rolled back."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {WorkerHeartbeat._meta.db_table} IN EXCLUSIVE MODE")
    WorkerHeartbeat.objects.all().delete()


@pytest.fixture
def scoring_worker(own_heartbeats):
    """A scoring worker that beat just now."""
    heartbeat_record(hostname="celery@gpu-1", queues=["scoring"])


def beat_ago(*, hostname: str, seconds: float, queues=("scoring",)) -> None:
    heartbeat_record(hostname=hostname, queues=list(queues))
    WorkerHeartbeat.objects.filter(hostname=hostname).update(beat_at=timezone.now() - timedelta(seconds=seconds))
