import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.layers.models import Layer, PrintJob
from apps.scoring.models import LayerScore, ModelVersion

THRESHOLD = 0.02



def scored_job(machine, normalised: list[float], *, job_id: str = "J1", start: int = 0) -> list[Layer]:
    """A job whose layers carry the given scores (as multiples of the threshold). No images needed."""
    version = machine.model_versions.first() or ModelVersion.objects.create(
        machine=machine, version=1, scorer="seed", status=ModelVersion.Status.ACTIVE, threshold=THRESHOLD
    )
    job, _ = PrintJob.objects.get_or_create(machine=machine, job_id=job_id)
    layers = []
    for offset, value in enumerate(normalised):
        layer = Layer.objects.create(
            machine=machine,
            job=job,
            index=start + offset,
            image=f"x/{job_id}-{start + offset}.png",
            sha256="0" * 64,
            width=8,
            height=8,
            status=Layer.Status.SCORED,
        )
        score = LayerScore.objects.create(
            layer=layer,
            model_version=version,
            scorer="seed",
            score=value * THRESHOLD,
            threshold=THRESHOLD,
            anomalous=value > 1,
            heatmap="h.png",
        )
        Layer.objects.filter(pk=layer.pk).update(current_score=score)
        layers.append(layer)
    return layers


class Receiver:
    """A webhook receiver on 127.0.0.1 that checks signatures and dedupes by idempotency key.

    `plan` holds how to answer the next requests: an HTTP status, or ("slow", seconds) to answer
    200 only after the sender has given up.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.plan: list = []
        self.requests: list[dict] = []
        self.processed: dict[str, int] = {}
        self.lock = threading.Lock()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        timestamp = handler.headers.get("X-Layerwatch-Timestamp", "")
        expected = (
            "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        key = handler.headers.get("Idempotency-Key")
        with self.lock:
            action = self.plan.pop(0) if self.plan else 200
            self.requests.append(
                {
                    "path": handler.path,
                    "key": key,
                    "payload": json.loads(body),
                    "signed": hmac.compare_digest(expected, handler.headers.get("X-Layerwatch-Signature", "")),
                }
            )
        if isinstance(action, tuple):
            time.sleep(action[1])
            action = 200
        if action == 200:
            with self.lock:
                self.processed[key] = self.processed.get(key, 0) + 1
        handler.send_response(action)
        handler.end_headers()


@pytest.fixture
def receiver():
    state = Receiver(secret="s3cret")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            state.handle(self)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
