"""Nothing acknowledged is lost: 1000 layers are uploaded over HTTP while the scoring worker is
SIGKILLed mid-batch, Redis restarts empty and PostgreSQL restarts; afterwards every acknowledged
layer has exactly one score (or failed with a reason). Within 2 minutes of the last fault every
layer still queued is on its way to a worker again (a message for it in Redis, or a live claim);
the rest is the time the CPUs take to score the backlog.

Runs on a private stack (tests/reliability/stack.py). Alone: `pytest -m faults -n 0`.
"""

import hashlib
import json
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from apps.scoring.broker import scoring_message_layer_ids
from tests.images import image_bytes
from tests.reliability.stack import Stack, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.long(200)]

LAYERS = 1000
RECOVERY_SECONDS = 120
# Then scoring the backlog left: about 20 layers a second on 2 idle cores, far fewer on a busy machine.
DRAIN_SECONDS = 300
# Short delivery timings, so the sweeper acts within seconds in the test as it would within a
# minute in production; beat runs it every SWEEP seconds.
TIMINGS = {
    "LAYERWATCH_SWEEP_INTERVAL_SECONDS": "2",
    "LAYERWATCH_REQUEUE_AFTER_SECONDS": "4",
    "LAYERWATCH_CLAIM_TIMEOUT_SECONDS": "10",
}
SETUP = """
from django.core.files.base import ContentFile
from django.core.management import call_command
from apps.machines.services import machine_create
from apps.scoring.models import ModelVersion
call_command("migrate", verbosity=0)
printer = machine_create(name="Printer F")
version = ModelVersion(machine=printer.machine, version=1, scorer="seed", status="active", threshold=1000.0,
                       calibration_method="fpr_target", sha256="{sha256}")
version.artifact.save("model.keras", ContentFile(open("{artifact}", "rb").read()), save=False)
version.save()
print(printer.token)
"""


@pytest.fixture
def stack(request, seed_artifact):
    # Its own folder, kept when the test fails: the processes' logs say what went wrong.
    folder = Path(tempfile.mkdtemp(prefix="layerwatch-faults-"))
    stack = Stack(folder, **TIMINGS)
    try:
        stack.postgres.start()
        stack.redis.start()
        sha256 = hashlib.sha256(seed_artifact.read_bytes()).hexdigest()
        stack.token = stack.python(SETUP.format(sha256=sha256, artifact=seed_artifact))
        stack.start_all()
        yield stack
    finally:
        stack.close()
        if not getattr(request.node, "failed", True):
            shutil.rmtree(folder, ignore_errors=True)


class Printer:
    """Uploads layers as a printer does: it retries until the server acknowledges each one."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.acknowledged: dict[int, int] = {}  # layer index -> layer id
        self.refusals: dict[int, int] = {}  # status code (0: no answer) -> count
        self.lock = threading.Lock()

    def upload(self, index: int) -> None:
        data = image_bytes(seed=index, size=48)
        session = requests.Session()
        while True:
            try:
                response = session.post(
                    f"{self.stack.url}/api/v1/layers/",
                    headers={"Authorization": f"Token {self.stack.token}"},
                    files={"image": ("layer.png", data)},
                    data={"job": "J-faults", "layer": str(index)},
                    timeout=30,
                )
                code = response.status_code
            except requests.RequestException:
                code = 0
            if code in (200, 202):
                with self.lock:
                    self.acknowledged[index] = response.json()["id"]
                return
            assert code in (0, 500, 502, 503), f"layer {index}: unexpected {code} {response.text[:300]}"
            with self.lock:
                self.refusals[code] = self.refusals.get(code, 0) + 1
            time.sleep(0.2)


def layers_claimed_unscored(stack: Stack) -> bool:
    [(count,)] = stack.postgres.query(
        "SELECT count(*) FROM layers_layer WHERE status='queued' AND claimed_at IS NOT NULL"
    )
    return count > 0


def inject_faults(stack: Stack, printer: Printer) -> float:
    """Breaks the stack three times while the printer uploads; returns when the last fault ended."""

    def acknowledged_at_least(n):
        return lambda: len(printer.acknowledged) >= n

    wait_for(acknowledged_at_least(150), timeout=120, what="150 uploads")
    # SIGKILL in the middle of a batch: the worker holds claims it will never finish.
    wait_for(lambda: layers_claimed_unscored(stack), timeout=60, what="a batch in progress", log=stack.log("scoring"))
    stack.kill("scoring")
    stack.start_worker("scoring-2", ready=False)  # as a supervisor restarts it

    wait_for(acknowledged_at_least(450), timeout=120, what="450 uploads")
    # The restarted worker must be connected when Redis goes, to show that it reconnects by itself.
    wait_for(lambda: "ready." in stack.log("scoring-2").read_text(), timeout=120, what="worker restart")
    stack.redis.kill()  # its queues and unacked messages are gone
    time.sleep(1)
    stack.redis.start()

    wait_for(acknowledged_at_least(700), timeout=120, what="700 uploads")
    stack.postgres.stop()
    time.sleep(2)
    stack.postgres.start()
    return time.monotonic()


def layers_in_flight(stack: Stack) -> tuple[int, int]:
    """(queued layers, those of them on their way to a worker): a message waiting or just delivered
    for it in Redis, or a claim younger than the claim timeout. Recovered means the two are equal."""
    client = redis.Redis.from_url(stack.redis.url)
    try:
        messages = client.lrange("scoring", 0, -1)
        delivered_since = time.time() - int(TIMINGS["LAYERWATCH_REQUEUE_AFTER_SECONDS"])
        tags = client.zrangebyscore("unacked_index", delivered_since, "+inf")
        messages += [json.loads(entry)[0] for entry in client.hmget("unacked", tags) if entry] if tags else []
    except redis.RedisError:
        return 1, 0
    finally:
        client.close()
    on_their_way = scoring_message_layer_ids(messages)
    claim_timeout = int(TIMINGS["LAYERWATCH_CLAIM_TIMEOUT_SECONDS"])
    queued = stack.postgres.query(
        "SELECT id, claimed_at > now() - make_interval(secs => %s) FROM layers_layer WHERE status='queued'",
        claim_timeout,
    )
    return len(queued), sum(1 for pk, live_claim in queued if live_claim or pk in on_their_way)


def test_it_scores_every_acknowledged_layer_once_through_worker_redis_and_database_faults(stack):
    printer = Printer(stack)
    with ThreadPoolExecutor(4) as pool:
        uploads = [pool.submit(printer.upload, index) for index in range(LAYERS)]
        last_fault_ended = inject_faults(stack, printer)
        for upload in uploads:
            upload.result()
    assert len(printer.acknowledged) == LAYERS
    assert printer.refusals.get(503), f"the database restart was never answered with 503: {printer.refusals}"
    assert 500 not in printer.refusals, f"an upload got a 500 rather than a 503: {printer.refusals}"

    # Recovered: every layer still queued is on its way to a worker again, nothing is stranded.
    def recovered() -> bool:
        queued, on_their_way = layers_in_flight(stack)
        return queued == on_their_way

    wait_for(recovered, timeout=RECOVERY_SECONDS - (time.monotonic() - last_fault_ended), what="recovery")
    stopped = [name for name, process in stack.processes.items() if process.poll() is not None]
    assert not stopped, f"{stopped} stopped on their own through the faults; logs in {stack.folder}"

    def all_done() -> bool:
        [(left,)] = stack.postgres.query("SELECT count(*) FROM layers_layer WHERE status IN ('queued', 'unscored')")
        return left == 0

    # Draining what is left takes as long as the CPUs need to score it; nothing else should.
    try:
        wait_for(all_done, timeout=DRAIN_SECONDS, what="every layer done")
    except AssertionError as error:
        states = stack.postgres.query(
            "SELECT status, claimed_at IS NOT NULL, count(*) FROM layers_layer GROUP BY 1, 2 ORDER BY 1, 2"
        )
        raise AssertionError(f"{error}\n(status, claimed, count): {states}; logs in {stack.folder}") from None
    rows = stack.postgres.query(
        "SELECT l.id, l.status, l.error, count(s.id) FROM layers_layer l "
        "LEFT JOIN scoring_layerscore s ON s.layer_id = l.id GROUP BY l.id"
    )
    by_id = {row[0]: row for row in rows}
    assert set(by_id) == set(printer.acknowledged.values()), "a layer was stored without being acknowledged, or lost"
    wrong = [row for row in rows if not ((row[1] == "scored" and row[3] == 1) or (row[1] == "failed" and row[2]))]
    assert not wrong, f"{len(wrong)} layers not scored exactly once nor failed with a reason: {wrong[:5]}"
    [(scores,)] = stack.postgres.query("SELECT count(*) FROM scoring_layerscore")
    assert scores == sum(row[3] for row in rows if row[1] == "scored")
