"""Notifications people read: HTML email through a real SMTP server, Apprise to a real HTTP
receiver, and the printer's pause hook signed and fired once per alert."""

import base64
import email
import json
import socket
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from aiosmtpd.controller import Controller
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from apps.alerts.models import AlertRule, Delivery, DeliveryAttempt, NotificationChannel
from apps.alerts.services import alert_rules_evaluate
from apps.scoring.models import LayerScore
from apps.scoring.rendering import heatmap_png
from tests.alerts.conftest import scored_job
from tests.monitoring.conftest import own_heartbeats  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
BASE = "https://lw.plant.example"
HEATMAP = heatmap_png(np.outer(np.linspace(0, 1, 64), np.linspace(1, 0, 64)), vmax=1.0)


@pytest.fixture
def base_url(settings):
    settings.LAYERWATCH_BASE_URL = BASE
    settings.LAYERWATCH_ALERT_HTTP_TIMEOUT = 2
    settings.LAYERWATCH_ALERT_MAX_ATTEMPTS = 2


def critical_alert(machine, capture, values=(0.5,) * 5 + (2.0,) * 3, *, start=0):
    """A critical alert over layers that carry real heatmap files."""
    AlertRule.objects.get_or_create(machine=machine, defaults={"warmup_layers": 0})
    layers = scored_job(machine, list(values), start=start)
    for layer in layers:
        score = LayerScore.objects.get(layer=layer)
        score.heatmap.save("heatmap.png", ContentFile(HEATMAP), save=True)
    with capture(execute=True):
        return alert_rules_evaluate(layer_id=layers[-1].pk)


class Inbox:
    """An aiosmtpd handler that keeps each message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "layerwatch@plant.example"
    yield inbox
    controller.stop()


class JsonReceiver:
    """A plain HTTP receiver that keeps each JSON body; `codes` says how to answer the next ones."""

    def __init__(self):
        self.bodies, self.codes = [], []


@pytest.fixture
def json_receiver():
    state = JsonReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            state.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(state.codes.pop(0) if state.codes else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.port = server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()


def test_it_emails_html_and_text_with_the_heatmap_inline_and_absolute_links(
    printer, smtp_server, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    NotificationChannel.objects.create(name="shift", kind="email", recipients="ops@plant.example")
    alert = critical_alert(printer.machine, django_capture_on_commit_callbacks)
    ((recipients, message),) = smtp_server.messages
    assert recipients == ["ops@plant.example"] and message["From"] == "layerwatch@plant.example"
    assert message["Subject"] == "[layerwatch] critical alert on printer-a, job J1 opened"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    worst = Delivery.objects.get(kind="email").payload["layer"]
    assert worst["index"] in (5, 6, 7) and worst["id"] in alert.layers.values_list("pk", flat=True)
    layer_url = f"{BASE}/layers/{worst['id']}/"
    assert "Layers: 5, 6, 7" in text
    assert layer_url in text and f"{BASE}/alerts/?machine=printer-a" in text
    assert f'href="{layer_url}"' in html and 'src="cid:heatmap"' in html
    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<heatmap>" and image.get_content_disposition() == "inline"
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Delivery.objects.get(kind="email").status == "sent"


def test_it_retries_an_email_the_smtp_server_refuses(
    printer, settings, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    NotificationChannel.objects.create(name="shift", kind="email", recipients="ops@plant.example")
    critical_alert(printer.machine, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(kind="email")
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "ConnectionRefusedError" in delivery.attempt_log.first().error


def test_it_sends_through_apprise_to_a_json_receiver(
    printer, json_receiver, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    NotificationChannel.objects.create(
        name="chat", kind="apprise", apprise_urls=f"json://127.0.0.1:{json_receiver.port}/notify"
    )
    alert = critical_alert(printer.machine, django_capture_on_commit_callbacks)
    (body,) = json_receiver.bodies
    assert body["title"] == "critical alert on printer-a, job J1 opened"
    assert alert.reason in body["message"] and f"{BASE}/alerts/?machine=printer-a" in body["message"]
    (attachment,) = body["attachments"]
    assert attachment["mimetype"] == "image/png"
    assert base64.b64decode(attachment["base64"])[:4] == b"\x89PNG"
    assert Delivery.objects.get(kind="apprise").status == "sent"


def test_it_counts_a_failed_apprise_delivery_and_retries_it(
    printer, json_receiver, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    json_receiver.codes = [500]
    NotificationChannel.objects.create(
        name="chat", kind="apprise", apprise_urls=f"json://127.0.0.1:{json_receiver.port}/notify"
    )
    critical_alert(printer.machine, django_capture_on_commit_callbacks)
    attempts = list(DeliveryAttempt.objects.values_list("number", "ok"))
    assert attempts == [(1, False), (2, True)] and len(json_receiver.bodies) == 2
    assert DeliveryAttempt.objects.filter(ok=False).get().error


def test_it_rejects_an_apprise_url_it_cannot_use(printer):
    channel = NotificationChannel(name="chat", kind="apprise", apprise_urls="nosuchservice://x")
    with pytest.raises(ValidationError, match="Apprise cannot use: nosuchservice://"):
        channel.full_clean()
    with pytest.raises(ValidationError, match="at least one Apprise URL"):
        NotificationChannel(name="chat", kind="apprise").full_clean()


def test_it_fails_an_unusable_apprise_channel_without_retrying(
    printer, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    NotificationChannel.objects.create(name="chat", kind="apprise", apprise_urls="nosuchservice://x")
    critical_alert(printer.machine, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "Apprise cannot use" in delivery.attempt_log.get().error


@pytest.fixture
def pausing(printer, receiver):
    machine = printer.machine
    machine.pause_on_critical, machine.pause_url = True, f"{receiver.url}/pause"
    machine.pause_secret = receiver.secret
    machine.save()
    return machine


def test_it_signs_the_pause_hook_like_a_webhook(
    pausing, receiver, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    critical_alert(pausing, django_capture_on_commit_callbacks)
    (pause,) = receiver.requests
    assert pause["signed"] and pause["payload"]["action"] == "pause"


def test_it_signs_the_pause_hook_with_the_fleet_key_when_the_machine_has_none(
    pausing, receiver, base_url, settings, eager_tasks, django_capture_on_commit_callbacks
):
    pausing.pause_secret = ""
    pausing.save()
    settings.LAYERWATCH_PAUSE_HOOK_SECRET = receiver.secret
    critical_alert(pausing, django_capture_on_commit_callbacks)
    assert receiver.requests[0]["signed"]


def test_it_refuses_a_pause_hook_signed_with_another_key(
    pausing, receiver, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    pausing.pause_secret = "not-the-printers-key"
    pausing.save()
    critical_alert(pausing, django_capture_on_commit_callbacks)
    assert not receiver.requests[0]["signed"]


def test_it_does_not_pause_a_resumed_printer_again_for_the_same_alert(
    pausing, receiver, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    alert = critical_alert(pausing, django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 1
    joined_before = alert.layers.count()
    # The operator resumes the print; more anomalous layers join the same open alert.
    again = critical_alert(pausing, django_capture_on_commit_callbacks, values=(3.0,) * 3, start=8)
    assert again.pk == alert.pk and again.layers.count() > joined_before
    assert len(receiver.requests) == 1
    assert Delivery.objects.filter(kind="pause").count() == 1


def test_it_pauses_once_when_a_warning_escalates_and_more_layers_follow(
    pausing, receiver, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    AlertRule.objects.create(machine=pausing, warmup_layers=0, ewm_warning=9, ewm_critical=9)
    warning = critical_alert(pausing, django_capture_on_commit_callbacks, values=(0.5,) * 5 + (2.0,) * 2)
    assert warning.severity == "warning" and receiver.requests == []
    critical_alert(pausing, django_capture_on_commit_callbacks, values=(2.0,), start=7)
    critical_alert(pausing, django_capture_on_commit_callbacks, values=(2.0,) * 3, start=8)
    warning.refresh_from_db()
    assert warning.severity == "critical"
    assert [r["payload"]["event"] for r in receiver.requests] == ["escalated"]


@pytest.mark.usefixtures("own_heartbeats")
def test_it_emails_a_system_alert_with_a_link_to_the_fleet(
    printer, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    from django.core import mail

    from apps.monitoring.services import system_alerts_check

    NotificationChannel.objects.create(name="fleet", kind="email", recipients="ops@plant.example")
    with django_capture_on_commit_callbacks(execute=True):
        system_alerts_check()  # no scoring worker has a heartbeat
    (message,) = mail.outbox
    assert message.subject == "[layerwatch] critical: no scoring worker opened"
    assert "No scoring worker is alive" in message.body and f"The fleet: {BASE}/" in message.body
    html, _ = message.alternatives[0]
    assert f'href="{BASE}/"' in html and "cid:" not in html


def test_it_sends_a_test_alert_through_apprise(
    printer, json_receiver, base_url, eager_tasks, django_capture_on_commit_callbacks
):
    from apps.alerts.notifications import machine_test_alert_send

    NotificationChannel.objects.create(
        name="chat", machine=printer.machine, kind="apprise", apprise_urls=f"json://127.0.0.1:{json_receiver.port}/"
    )
    with django_capture_on_commit_callbacks(execute=True):
        machine_test_alert_send(machine=printer.machine, requested_by="olivia")
    (body,) = json_receiver.bodies
    assert body["title"] == "test alert for printer-a" and "requested by olivia" in body["message"]
    assert f"{BASE}/machines/printer-a/alerts/" in body["message"] and body["attachments"] == []
