"""Scoring workers publish heartbeats; /readyz turns 503 soon after the last one stops."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from apps.monitoring.heartbeats import HeartbeatThread, workers_alive
from apps.monitoring.models import WorkerHeartbeat
from tests.monitoring.conftest import beat_ago
from tests.worker import ROOT, wait_until
from workers.monitoring import watch_check

READY_TARGET_SECONDS = 30
# The live check runs with short heartbeat timings (both are settings); the defaults are checked
# against the target: /readyz turns 503 at most one stale age after a worker's last beat.
STALE_SECONDS = 5
BEAT_SECONDS = 1


@pytest.mark.django_db(transaction=True)
def test_it_beats_while_running_and_forgets_the_worker_on_a_clean_stop(settings):
    settings.LAYERWATCH_HEARTBEAT_SECONDS = 0.1
    thread = HeartbeatThread(hostname="celery@test-beat", queues=["scoring", "default"])
    thread.start()
    try:
        first = wait_until(lambda: WorkerHeartbeat.objects.filter(hostname="celery@test-beat").first(), timeout=10)
        wait_until(lambda: WorkerHeartbeat.objects.get(hostname="celery@test-beat").beat_at > first.beat_at, timeout=10)
        assert "celery@test-beat" in [hb.hostname for hb in workers_alive()]
    finally:
        thread.stop()
    assert not WorkerHeartbeat.objects.filter(hostname="celery@test-beat").exists()


def test_it_prunes_the_heartbeats_of_workers_long_gone(own_heartbeats):
    beat_ago(hostname="celery@gone", seconds=2 * 86400)
    beat_ago(hostname="celery@dead-a-minute", seconds=60)
    watch_check.apply()
    assert list(WorkerHeartbeat.objects.values_list("hostname", flat=True)) == ["celery@dead-a-minute"]


def start_scoring_worker(tmp_path) -> subprocess.Popen:
    """A worker on the scoring queue alone, in its own process, as a GPU host runs one."""
    env = {
        **os.environ,
        "LAYERWATCH_HEARTBEAT_SECONDS": str(BEAT_SECONDS),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "LAYERWATCH_TEST_DB_NAME": connection.settings_dict["NAME"],
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = (tmp_path / "scoring-worker.log").open("w")
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "scoring", "-P", "solo",
               "-l", "info", "-n", f"readyz-{uuid.uuid4().hex[:8]}@%h"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.integration
@pytest.mark.long(12)
@pytest.mark.django_db(transaction=True)
def test_it_answers_503_within_30_s_of_the_last_scoring_worker_stopping(
    client, celery_worker_process, tmp_path, settings
):
    assert settings.LAYERWATCH_WORKER_STALE_SECONDS <= READY_TARGET_SECONDS
    assert settings.LAYERWATCH_HEARTBEAT_SECONDS < settings.LAYERWATCH_WORKER_STALE_SECONDS
    settings.LAYERWATCH_WORKER_STALE_SECONDS = STALE_SECONDS
    # The suite's shared worker is frozen for the test (SIGSTOP): its heartbeat goes stale like
    # a hung worker's, and the worker started here is then the only scoring worker alive.
    os.kill(celery_worker_process.pid, signal.SIGSTOP)
    worker = None
    try:
        worker = start_scoring_worker(tmp_path)
        mine = lambda: [hb.hostname for hb in workers_alive()]  # noqa: E731
        wait_until(lambda: len(mine()) == 1 and mine()[0].startswith("readyz-"), timeout=90)
        response = client.get("/readyz")
        assert response.status_code == 200, response.json()
        # Killed: no clean shutdown, so its heartbeat must go stale (the worst case).
        worker.kill()
        worker.wait(10)
        stopped = time.monotonic()
        while client.get("/readyz").status_code != 503:
            assert time.monotonic() - stopped < STALE_SECONDS + 10, "/readyz still answers 200"
            time.sleep(0.2)
        took = time.monotonic() - stopped
        assert took <= STALE_SECONDS + 2  # the stale age, and a poll or two
        failed = client.get("/readyz").json()["failed"]
        assert len(failed) == 1 and failed[0].startswith("ScoringWorkers")
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        os.kill(celery_worker_process.pid, signal.SIGCONT)
