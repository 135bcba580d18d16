"""How layerwatch-upload treats each kind of answer, against a local receiver that answers as told."""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.uploader.cli import main
from apps.uploader.scan import Scanner, pattern_compile
from apps.uploader.send import Backoff
from tests.images import image_bytes

FAST = ["--settle", "0.2", "--poll", "0.1", "--max-backoff", "0.3"]


class Receiver(ThreadingHTTPServer):
    """Answers uploads from `plan` (status, headers), then 202; records each request's path and size."""

    def __init__(self, plan: list[tuple[int, dict]]) -> None:
        self.plan = list(plan)
        self.requests: list[tuple[str, int]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.rfile.read(length)
        self.server.requests.append((self.path, length))
        code, headers = self.server.plan.pop(0) if self.server.plan else (202, {})
        body = json.dumps({"url": "http://x/api/v1/layers/1/"} if code < 300 else {"detail": f"told to {code}"})
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "build-7").mkdir()
    (tmp_path / "build-7" / "layer_00001.png").write_bytes(image_bytes())
    return tmp_path


@pytest.fixture
def receiver(request):
    server = Receiver(request.param)
    yield server
    server.shutdown()
    server.server_close()


def once(receiver, folder) -> int:
    return main([str(folder), "--server", receiver.url, "--token", "lwm_x", "--once", *FAST])


@pytest.mark.parametrize("receiver", [[(429, {"Retry-After": "0"}), (503, {}), (500, {})]], indirect=True)
def test_it_retries_429_and_5xx_until_the_server_takes_the_layer(receiver, folder):
    assert [once(receiver, folder) for _ in range(4)] == [3, 3, 3, 0]
    assert [path for path, _ in receiver.requests] == ["/api/v1/layers/"] * 4
    assert once(receiver, folder) == 0 and len(receiver.requests) == 4


@pytest.mark.parametrize("code", [400, 403, 413, 415])
def test_it_does_not_retry_a_4xx_other_than_429(folder, code, caplog):
    receiver = Receiver([(code, {})])
    try:
        assert once(receiver, folder) == 1
        assert once(receiver, folder) == 0
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert len(receiver.requests) == 1
    assert f"was refused ({code}): told to {code}; not retried" in caplog.text


def test_it_waits_longer_after_each_failure_up_to_the_cap_and_honours_retry_after():
    backoff = Backoff(base=1.0, cap=8.0)
    delays = [backoff.failed() for _ in range(5)]
    assert all(0.8 * 2**i <= delay <= 2**i for i, delay in enumerate(delays[:4]))  # doubling, with jitter
    assert 6.4 <= delays[4] <= 8.0 and not backoff.due()
    assert backoff.failed(retry_after=5.0) >= 5.0 and backoff.failed(retry_after=60.0) == 8.0
    backoff.succeeded()
    assert backoff.due() and backoff.failed() <= 1.0


def test_it_waits_until_a_growing_file_stops_changing(tmp_path):
    path = tmp_path / "build-7" / "layer_00002.png"
    path.parent.mkdir()
    data = image_bytes(seed=2)
    scanner = Scanner(root=tmp_path, pattern=pattern_compile(r"(?P<layer>\d+)\.png$"), job=None, settle=0.2,
                      log=logging.getLogger("test"))
    path.write_bytes(data[:100])
    assert list(scanner.ready({})) == []  # first seen
    time.sleep(0.25)
    with path.open("ab") as handle:
        handle.write(data[100:])
    assert list(scanner.ready({})) == []  # it changed since
    assert list(scanner.ready({})) == []  # unchanged, but not for --settle yet
    time.sleep(0.25)
    (found,) = scanner.ready({})
    assert (found.job, found.layer, found.data) == ("build-7", 2, data)
