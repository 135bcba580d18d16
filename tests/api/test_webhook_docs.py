"""The signature check that docs/printer-api.md gives webhook receivers, run against real deliveries."""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.alerts.delivery import webhook_signature
from apps.alerts.models import NotificationChannel
from apps.alerts.notifications import machine_test_alert_send

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "printer-api.md"


def documented_check():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (source,) = [block for block in blocks if "def layerwatch_signature_ok" in block]
    namespace: dict = {}
    exec(source, namespace)
    return namespace["layerwatch_signature_ok"]


@pytest.fixture
def receiver():
    check, verdicts = documented_check(), []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            verdicts.append(check(secret="s3cret", headers=self.headers, body=body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", verdicts
    server.shutdown()
    server.server_close()


def test_it_documents_a_check_that_accepts_layerwatchs_signature(
    printer, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    url, verdicts = receiver
    for secret in ["s3cret", "another"]:
        NotificationChannel.objects.create(name=secret, machine=printer.machine, kind="webhook", url=url, secret=secret)
    with django_capture_on_commit_callbacks(execute=True):
        machine_test_alert_send(machine=printer.machine)
    assert sorted(verdicts) == [False, True]  # the channel with the receiver's secret passes, the other not


def test_it_documents_a_check_that_refuses_a_changed_body_or_an_old_timestamp():
    check = documented_check()
    now = str(int(time.time()))
    signed = {"X-Layerwatch-Timestamp": now,
              "X-Layerwatch-Signature": webhook_signature(secret="k", timestamp=now, body=b'{"a":1}')}
    assert check(secret="k", headers=signed, body=b'{"a":1}')
    assert not check(secret="k", headers=signed, body=b'{"a":2}')
    old = str(int(time.time()) - 600)
    stale = {"X-Layerwatch-Timestamp": old,
             "X-Layerwatch-Signature": webhook_signature(secret="k", timestamp=old, body=b"{}")}
    assert not check(secret="k", headers=stale, body=b"{}")
    assert not check(secret="k", headers={}, body=b"{}")
