"""Notifications against a real HTTP receiver on 127.0.0.1."""

import pytest
from django.core import mail

from apps.alerts.models import AlertRule, Delivery, NotificationChannel
from apps.alerts.services import alert_rules_evaluate
from tests.alerts.conftest import scored_job
from workers.alerts import deliver_notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast(settings):
    settings.LAYERWATCH_ALERT_HTTP_TIMEOUT = 0.5
    settings.LAYERWATCH_ALERT_MAX_ATTEMPTS = 4


@pytest.fixture
def webhook(printer, receiver):
    return NotificationChannel.objects.create(
        name="ops hook",
        machine=printer.machine,
        kind="webhook",
        url=f"{receiver.url}/hook",
        secret=receiver.secret,
    )


def critical_alert(machine, django_capture_on_commit_callbacks, *, execute=True):
    AlertRule.objects.create(machine=machine, warmup_layers=0)
    layers = scored_job(machine, [0.5] * 5 + [2.0] * 3)
    with django_capture_on_commit_callbacks(execute=execute):
        return alert_rules_evaluate(layer_id=layers[-1].pk)


def test_it_posts_a_signed_json_payload_once(
    printer, webhook, receiver, eager_tasks, fast, django_capture_on_commit_callbacks, settings
):
    settings.LAYERWATCH_BASE_URL = "https://lw.plant.example"
    alert = critical_alert(printer.machine, django_capture_on_commit_callbacks)
    (request,) = receiver.requests
    assert request["signed"] and request["path"] == "/hook"
    assert request["payload"]["event"] == "opened"
    assert request["payload"]["alert"] | {"opened_at": None} == {
        "id": alert.pk,
        "severity": "critical",
        "status": "open",
        "machine": printer.machine.slug,
        "job": "J1",
        "layers": [5, 6, 7],
        "reason": "3 of the last 5 layers above threshold",
        "opened_at": None,
        "kind": "defect",
        "url": f"https://lw.plant.example/api/v1/alerts/{alert.pk}/",
        "ui_url": "https://lw.plant.example/alerts/?machine=printer-a",
        "job_url": f"https://lw.plant.example/jobs/{alert.job_id}/",
    }
    assert request["payload"]["category"] == "defect"
    delivery = Delivery.objects.get()
    assert request["key"] == str(delivery.idempotency_key)
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    deliver_notification.apply(args=[delivery.pk])  # a redelivered task
    assert len(receiver.requests) == 1


def test_it_retries_on_500_with_the_same_idempotency_key(
    printer, webhook, receiver, eager_tasks, fast, django_capture_on_commit_callbacks
):
    receiver.plan = [500, 503]
    critical_alert(printer.machine, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    attempts = list(delivery.attempt_log.values_list("number", "ok", "response_code"))
    assert attempts == [(1, False, 500), (2, False, 503), (3, True, 200)]
    assert {r["key"] for r in receiver.requests} == {str(delivery.idempotency_key)}
    assert all(r["signed"] for r in receiver.requests)
    assert receiver.processed == {str(delivery.idempotency_key): 1}
    assert Delivery.objects.get().status == "sent"


def test_it_retries_after_a_timeout_and_the_receiver_can_dedupe(
    printer, webhook, receiver, eager_tasks, fast, django_capture_on_commit_callbacks
):
    receiver.plan = [("slow", 1.5)]
    critical_alert(printer.machine, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    first, second = delivery.attempt_log.all()
    assert not first.ok and "Timeout" in first.error and first.duration_ms < 1400
    assert second.ok and delivery.status == "sent"
    # The slow receiver acted on the first request too: the shared key is how it tells.
    keys = [r["key"] for r in receiver.requests]
    assert keys == [str(delivery.idempotency_key)] * 2


def test_it_gives_up_after_the_last_attempt(
    printer, webhook, receiver, eager_tasks, fast, django_capture_on_commit_callbacks
):
    receiver.plan = [500] * 10
    critical_alert(printer.machine, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.attempt_log.count()) == ("failed", 4, 4)


def test_it_does_not_retry_a_rejected_payload(
    printer, webhook, receiver, eager_tasks, fast, django_capture_on_commit_callbacks
):
    receiver.plan = [400]
    critical_alert(printer.machine, django_capture_on_commit_callbacks)
    assert (Delivery.objects.get().status, len(receiver.requests)) == ("failed", 1)


def test_it_backs_off_exponentially(settings):
    from apps.alerts.delivery import delivery_backoff

    settings.LAYERWATCH_ALERT_BACKOFF_SECONDS = 10
    assert [delivery_backoff(attempts=n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]


def test_it_emails_fleet_channels_and_pauses_the_printer_on_critical(
    printer, receiver, eager_tasks, fast, django_capture_on_commit_callbacks
):
    machine = printer.machine
    machine.pause_on_critical, machine.pause_url = True, f"{receiver.url}/pause"
    machine.save()
    NotificationChannel.objects.create(name="shift", kind="email", recipients="a@x.io, b@x.io")
    critical_alert(machine, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["a@x.io", "b@x.io"]]
    assert "critical alert on printer-a" in mail.outbox[0].subject
    (pause,) = receiver.requests
    assert pause["path"] == "/pause" and pause["payload"]["action"] == "pause"
    assert sorted(Delivery.objects.values_list("kind", "status")) == [("email", "sent"), ("pause", "sent")]


def test_it_skips_channels_above_the_alerts_severity(printer, webhook, receiver, django_capture_on_commit_callbacks):
    webhook.min_severity = "critical"
    webhook.save()
    AlertRule.objects.create(machine=printer.machine, warmup_layers=0, ewm_warning=9, ewm_critical=9)
    layers = scored_job(printer.machine, [0.5] * 5 + [2.0] * 2)
    with django_capture_on_commit_callbacks(execute=False):
        alert = alert_rules_evaluate(layer_id=layers[-1].pk)
    assert alert.severity == "warning" and not Delivery.objects.exists()


def test_it_queues_deliveries_only_after_the_alert_commits(
    printer, webhook, receiver, django_capture_on_commit_callbacks
):
    critical_alert(printer.machine, django_capture_on_commit_callbacks, execute=False)
    assert receiver.requests == [] and Delivery.objects.get().status == "pending"
