"""A real Celery worker process against the test PostgreSQL database and Redis."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


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


def wait_until(predicate, *, timeout: float = 90, interval: float = 0.3, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = worker.log_path.read_text()[-3000:] if worker is not None else ""
    raise AssertionError(f"Timed out after {timeout}s waiting for {predicate}.\nWorker log:\n{tail}")
