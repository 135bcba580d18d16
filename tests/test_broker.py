"""The embedded default's broker (config.broker) hands a consumer only whole messages, even while
a producer is writing the next ones into the folder it drains."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty

from kombu import Connection

from config.broker import ALIAS

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 300
PAYLOAD = "x" * 200_000  # large enough that a write takes a while


def drained(transport: str, folder) -> list:
    """Every message a consumer takes while a producer sends MESSAGES into the same folder."""
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(folder)}
    received, sent = [], threading.Event()
    with Connection(f"{transport}://", transport_options=options) as connection:
        queue = connection.SimpleQueue("scoring")

        def produce():
            with Connection(f"{transport}://", transport_options=options) as producer:
                outbox = producer.SimpleQueue("scoring")
                for number in range(MESSAGES):
                    outbox.put({"number": number, "payload": PAYLOAD})
            sent.set()

        producer = threading.Thread(target=produce)
        producer.start()
        deadline = time.monotonic() + 60  # a lost message fails the test rather than hanging it
        while not (sent.is_set() and len(received) == MESSAGES) and time.monotonic() < deadline:
            try:
                message = queue.get(block=False)
            except Empty:
                continue
            received.append(message.payload)
            message.ack()
        producer.join()
    return received


def test_a_consumer_draining_the_folder_never_reads_a_message_half_written(tmp_path):
    received = drained(ALIAS, tmp_path)
    assert sorted(message["number"] for message in received) == list(range(MESSAGES))
    assert all(message["payload"] == PAYLOAD for message in received)


def test_the_embedded_default_sends_tasks_through_it(tmp_path):
    code = "from config.celery import app; print(type(app.connection_for_write().transport).__module__)"
    environment = {
        key: value for key, value in os.environ.items() if key not in {"CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    environment |= {"DJANGO_SETTINGS_MODULE": "config.settings.local", "LAYERWATCH_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert result.stdout.strip() == "config.broker", result.stderr[-2000:]
