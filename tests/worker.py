"""A real Celery worker process against the test PostgreSQL database and Redis.

One worker serves the whole session (tests/conftest.py registers these fixtures). After each test
that used it, `worker_drained` waits until the worker has finished every task the test set off:
a task still writing while the test database is flushed deadlocks the flush, and a task left
over would run during the next test.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ("scoring", "training", "default")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # no leftovers from earlier runs
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "LAYERWATCH_TEST_DB_NAME": db_name,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "scoring,training,default",
               "-P", "solo", "--prefetch-multiplier", "64", "-l", "info", "-n", f"test-{os.getpid()}@%h"]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while "ready." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"The Celery worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.3)
    process.log_path = log_path
    yield process
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(autouse=True)
def worker_drained(request):
    if "celery_worker_process" not in request.fixturenames:
        yield
        return
    # Set up before this fixture, so the test database is flushed only after its teardown below.
    request.getfixturevalue("transactional_db")
    yield
    wait_until(worker_idle, timeout=120, worker=request.getfixturevalue("celery_worker_process"))


def worker_idle() -> bool:
    """No task waits in a queue, and none is reserved or running: with late acks a task stays in
    the broker's unacked set until it has finished. Checked twice, because a message the worker
    has just taken off a queue reaches the unacked set a moment later."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def idle() -> bool:
        return not any(broker.llen(queue) for queue in QUEUES) and not broker.hlen("unacked")

    if not idle():
        return False
    time.sleep(0.5)
    return idle()


def wait_until(predicate, *, timeout: float = 90, interval: float = 0.3, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = worker.log_path.read_text()[-3000:] if worker is not None else ""
    raise AssertionError(f"Timed out after {timeout}s waiting for {predicate}.\nWorker log:\n{tail}")
