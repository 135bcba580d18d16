"""System alerts: a stalled printer, a scoring backlog, no scoring worker; apart from defect alerts."""

import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.alerts.models import Alert, Delivery, NotificationChannel
from apps.layers.models import Layer, PrintJob
from apps.monitoring.models import SystemAlert
from apps.monitoring.services import system_alerts_check
from tests.images import image_bytes
from workers.monitoring import watch_check

pytestmark = pytest.mark.django_db


def upload(printer_client, *, job="J1", layer=0):
    response = printer_client.post(
        "/api/v1/layers/",
        {"image": SimpleUploadedFile("layer.png", image_bytes()), "job": job, "layer": layer},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return response


def kinds(status="open"):
    return sorted(SystemAlert.objects.filter(status=status).values_list("kind", flat=True))


def test_it_runs_the_watch_check_from_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["watch-check"]
    assert entry["task"] == watch_check.name == "workers.monitoring.watch_check"
    assert entry["schedule"] == django_settings.LAYERWATCH_WATCH_INTERVAL_SECONDS


def test_it_raises_a_stall_alert_within_the_configured_time(
    printer, printer_client, scoring_worker, operator_client, settings
):
    settings.LAYERWATCH_STALL_AFTER_SECONDS = 1.5
    interval = 0.25  # the beat interval, short in this test
    for index in range(3):
        upload(printer_client, layer=index)
    last_upload = time.monotonic()
    while not SystemAlert.objects.filter(kind="printer_stalled").exists():
        assert time.monotonic() - last_upload < 10, "no stall alert"
        watch_check.apply()
        time.sleep(interval)
    took = time.monotonic() - last_upload
    # The stall time, then at most one beat interval, plus the check itself on a busy machine.
    assert settings.LAYERWATCH_STALL_AFTER_SECONDS <= took <= settings.LAYERWATCH_STALL_AFTER_SECONDS + interval + 1
    alert = SystemAlert.objects.get(kind="printer_stalled")
    assert (alert.machine, alert.job.job_id, alert.severity) == (printer.machine, "J1", "critical")
    assert "has sent no layer of running job J1" in alert.reason
    home = operator_client.get("/").content.decode()
    assert 'data-testid="stalled"' in home and "Not fully watching" in home and alert.reason in home


def test_it_resolves_a_stall_when_layers_come_again(printer, printer_client, scoring_worker, settings):
    upload(printer_client, layer=0)
    PrintJob.objects.update(last_layer_at=timezone.now() - timedelta(hours=1))
    system_alerts_check()
    assert kinds() == ["printer_stalled"]
    upload(printer_client, layer=1)
    changes = system_alerts_check()
    assert [a.kind for a in changes["resolved"]] == ["printer_stalled"] and kinds() == []
    assert SystemAlert.objects.get().resolved_at is not None


@pytest.mark.parametrize(
    "situation",
    ["finished", "all_expected_layers", "newer_job_started", "abandoned_long_ago", "machine_inactive"],
)
def test_it_does_not_call_a_quiet_job_stalled_when_it_is_not_printing(
    printer, printer_client, scoring_worker, situation
):
    upload(printer_client, layer=0)
    job = PrintJob.objects.get()
    job.last_layer_at = timezone.now() - timedelta(hours=1)
    if situation == "finished":
        job.status = PrintJob.Status.FINISHED
    elif situation == "all_expected_layers":
        job.expected_layers = 1
    elif situation == "newer_job_started":
        PrintJob.objects.create(machine=printer.machine, job_id="J2")
    elif situation == "abandoned_long_ago":
        job.last_layer_at = timezone.now() - timedelta(days=2)
    else:
        printer.machine.is_active = False
        printer.machine.save()
    job.save()
    system_alerts_check()
    assert kinds() == []


def test_it_raises_a_backlog_alert_for_a_layer_waiting_too_long(printer, printer_client, scoring_worker, settings):
    upload(printer_client, layer=0)
    system_alerts_check()
    assert kinds() == []
    Layer.objects.update(received_at=timezone.now() - timedelta(seconds=settings.LAYERWATCH_BACKLOG_AFTER_SECONDS + 5))
    system_alerts_check()
    alert = SystemAlert.objects.get()
    assert (alert.kind, alert.machine, alert.severity) == ("scoring_backlog", None, "warning")
    assert alert.reason.startswith("1 layer(s) wait for a score; the oldest for 5 min")
    Layer.objects.update(status=Layer.Status.SCORED)
    system_alerts_check()
    assert kinds() == [] and kinds("resolved") == ["scoring_backlog"]


def test_it_raises_and_resolves_the_no_scoring_worker_alert(own_heartbeats):
    from apps.monitoring.heartbeats import heartbeat_record

    system_alerts_check()
    system_alerts_check()  # still one alert for one condition
    assert kinds() == ["no_scoring_worker"]
    heartbeat_record(hostname="celery@gpu-1", queues=["scoring", "default"])
    system_alerts_check()
    assert kinds() == [] and kinds("resolved") == ["no_scoring_worker"]


def test_it_announces_fleet_wide_system_alerts_on_fleet_channels_only(
    printer, own_heartbeats, receiver, eager_tasks, settings, django_capture_on_commit_callbacks
):
    settings.LAYERWATCH_BASE_URL = "https://lw.plant.example"
    NotificationChannel.objects.create(
        name="fleet", kind="webhook", url=f"{receiver.url}/fleet", secret=receiver.secret
    )
    NotificationChannel.objects.create(
        name="printer a", machine=printer.machine, kind="webhook", url=f"{receiver.url}/a", secret=receiver.secret
    )
    with django_capture_on_commit_callbacks(execute=True):
        system_alerts_check()
    (request,) = receiver.requests
    assert request["path"] == "/fleet" and request["signed"]
    payload = request["payload"]
    assert (payload["event"], payload["category"]) == ("opened", "system")
    assert payload["alert"]["kind"] == "no_scoring_worker"
    alert = SystemAlert.objects.get()
    assert payload["alert"]["url"] == f"https://lw.plant.example/api/v1/system-alerts/{alert.pk}/"
    assert payload["alert"]["ui_url"] == "https://lw.plant.example/"
    assert Delivery.objects.get().system_alert == alert and not Alert.objects.exists()


def test_it_announces_a_stall_and_its_end_to_the_machines_channels(
    printer, printer_client, scoring_worker, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    NotificationChannel.objects.create(name="a", machine=printer.machine, kind="webhook", url=f"{receiver.url}/a")
    upload(printer_client, layer=0)
    PrintJob.objects.update(last_layer_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        system_alerts_check()
    upload(printer_client, layer=1)
    with django_capture_on_commit_callbacks(execute=True):
        system_alerts_check()
    events = [(r["payload"]["event"], r["payload"]["alert"]["kind"], r["payload"]["alert"]["job"])
              for r in receiver.requests]
    assert events == [("opened", "printer_stalled", "J1"), ("resolved", "printer_stalled", "J1")]


def test_it_lists_system_alerts_apart_from_defect_alerts(operator_client, own_heartbeats):
    system_alerts_check()
    body = operator_client.get("/api/v1/system-alerts/?status=open").json()
    assert [a["kind"] for a in body["results"]] == ["no_scoring_worker"]
    assert operator_client.get("/api/v1/alerts/?status=open").json()["results"] == []
    detail = operator_client.get(f"/api/v1/system-alerts/{body['results'][0]['id']}/")
    assert detail.status_code == 200 and detail.json()["severity"] == "critical"


def test_it_refuses_an_unknown_system_alert_filter(operator_client, db):
    response = operator_client.get("/api/v1/system-alerts/?status=sleeping")
    assert response.status_code == 400 and "status" in response.json()


def test_it_needs_a_login_for_system_alerts(client, db):
    assert client.get("/api/v1/system-alerts/").status_code in (401, 403)


def test_it_shows_the_fleet_as_watching_when_all_is_well(operator_client, scoring_worker):
    home = operator_client.get("/").content.decode()
    assert "Watching" in home and "1 scoring worker alive" in home and "no scoring backlog" in home
    assert 'data-testid="stalled"' not in home
