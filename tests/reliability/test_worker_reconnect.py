"""A scoring worker goes on scoring after Redis restarts under it, without being restarted."""

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring.claims import scoring_send
from tests.images import image_bytes
from tests.reliability.broker import broker_at
from tests.reliability.stack import ROOT, PrivateRedis, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_server(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    with broker_at(server.url):
        yield server
    server.kill()


@pytest.fixture
def scoring_worker(redis_server, tmp_path):
    """The scoring worker as platform/entrypoint.sh runs it, on the test database and the private Redis."""
    log = tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.test", LAYERWATCH_TEST_DB_NAME=connection.settings_dict["NAME"],
               REDIS_URL=redis_server.url, MEDIA_ROOT=str(settings.MEDIA_ROOT), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "scoring", "-P", "solo",
               "--prefetch-multiplier", "64", "-l", "info", "-n", f"reconnect-{os.getpid()}@%h"]
    with log.open("w") as handle:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    process.log = log
    try:
        wait_for(lambda: "ready." in log.read_text(), timeout=120, what="worker start", log=log)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def queued_layer(machine, index):
    return layer_ingest(machine=machine, job_id="J", index=index, data=image_bytes(seed=index), enqueue=False).layer


def scored(layer) -> bool:
    return Layer.objects.get(pk=layer.pk).status == Layer.Status.SCORED


def test_it_goes_on_scoring_after_redis_restarts_empty(printer, install_model, redis_server, scoring_worker):
    install_model(printer.machine)
    before = queued_layer(printer.machine, 0)
    scoring_send(layer_id=before.pk)  # one layer: a batch that only the flush timer sends
    wait_for(lambda: scored(before), timeout=120, what="scoring before the restart", log=scoring_worker.log)

    redis_server.kill()
    redis_server.start()
    wait_for(lambda: scoring_worker.log.read_text().count("Connected to redis") >= 2, timeout=60,
             what="the worker reconnecting", log=scoring_worker.log)

    after = queued_layer(printer.machine, 1)
    scoring_send(layer_id=after.pk)
    wait_for(lambda: scored(after), timeout=30, what="scoring after the restart", log=scoring_worker.log)
