"""/metrics: django-prometheus's metrics and the product's own, read at scrape time."""

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.alerts.models import Delivery, DeliveryAttempt
from apps.layers.models import Layer
from apps.machines.services import machine_create
from apps.monitoring import metrics
from apps.scoring.models import LayerScore
from tests.alerts.conftest import scored_job


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.django_db
def test_it_exposes_the_latency_histogram_from_upload_to_first_score(client, printer):
    a, b = scored_job(printer.machine, [0.5, 0.6])
    now = timezone.now()
    for layer, seconds in ((a, 0.7), (b, 45.0)):
        Layer.objects.filter(pk=layer.pk).update(received_at=now - timedelta(seconds=seconds))
        LayerScore.objects.filter(layer=layer).update(scored_at=now)
    # A later score of the same layer (a new model) does not count again.
    later = LayerScore.objects.get(layer=a)
    later.pk, later.model_version = None, later.model_version.__class__.objects.create(
        machine=printer.machine, version=2, scorer="seed", status="ready", threshold=1
    )
    later.save()
    LayerScore.objects.filter(pk=later.pk).update(scored_at=now + timedelta(hours=1))
    got = samples(client.get("/metrics").content.decode())
    histogram = "layerwatch_upload_to_scored_seconds"
    assert got[(f"{histogram}_bucket", (("le", "0.5"),))] == 0
    assert got[(f"{histogram}_bucket", (("le", "1.0"),))] == 1
    assert got[(f"{histogram}_bucket", (("le", "30.0"),))] == 1
    assert got[(f"{histogram}_bucket", (("le", "60.0"),))] == 2
    assert got[(f"{histogram}_count", ())] == 2
    assert got[(f"{histogram}_sum", ())] == pytest.approx(45.7, abs=0.05)


@pytest.mark.django_db
def test_it_counts_scored_layers_per_machine_and_queued_ones(client, printer):
    other = machine_create(name="Printer B").machine
    scored_job(printer.machine, [0.5, 0.6, 0.7])
    queued = scored_job(other, [0.5, 0.5])
    Layer.objects.filter(pk=queued[0].pk).update(status="queued", current_score=None)
    got = samples(client.get("/metrics").content.decode())
    assert got[("layerwatch_layers_scored_total", (("machine", "printer-a"),))] == 3
    assert got[("layerwatch_layers_scored_total", (("machine", "printer-b"),))] == 1
    assert got[("layerwatch_layers_queued", ())] == 1
    assert got[("layerwatch_oldest_queued_layer_age_seconds", ())] >= 0


@pytest.mark.django_db
def test_it_reads_queue_depth_from_the_broker(client, monkeypatch):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = "layerwatch-test-metrics-queue"  # no worker consumes it
    monkeypatch.setattr(metrics, "QUEUES", (queue,))
    broker.delete(queue)
    broker.rpush(queue, "a", "b", "c")
    try:
        got = samples(client.get("/metrics").content.decode())
    finally:
        broker.delete(queue)
    assert got[("layerwatch_queue_depth", (("queue", queue),))] == 3


@pytest.mark.django_db
def test_it_keeps_serving_the_other_metrics_when_redis_is_away(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/metrics")
    got = samples(response.content.decode())
    assert response.status_code == 200
    assert not any(name == "layerwatch_queue_depth" for name, _ in got)
    assert ("layerwatch_scoring_workers_alive", ()) in got


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_exposes_every_product_metric_after_a_layer_is_uploaded_and_scored(
    live_server, celery_worker_process, printer, install_model, receiver
):
    import requests

    from apps.alerts.models import NotificationChannel
    from apps.layers.models import PrintJob
    from apps.monitoring.heartbeats import workers_alive
    from apps.monitoring.services import system_alerts_check
    from tests.images import image_bytes
    from tests.worker import wait_until

    install_model(printer.machine, threshold=1.0)
    response = requests.post(
        f"{live_server.url}/api/v1/layers/",
        headers={"Authorization": f"Token {printer.token}"},
        files={"image": ("layer.png", image_bytes(size=300))},
        data={"job": "J1", "layer": "0"},
        timeout=30,
    )
    assert response.status_code == 202
    wait_until(lambda: Layer.objects.filter(status="scored").exists(), worker=celery_worker_process)
    # The printer then goes quiet mid-job; its channel refuses the notification.
    receiver.plan = [400]
    NotificationChannel.objects.create(name="a", machine=printer.machine, kind="webhook", url=f"{receiver.url}/a")
    PrintJob.objects.update(last_layer_at=timezone.now() - timedelta(hours=1))
    # The suite's worker beats every few seconds, but a flush between tests can leave it a beat behind.
    wait_until(lambda: workers_alive(), worker=celery_worker_process)
    opened = system_alerts_check()["opened"]
    assert [a.kind for a in opened] == ["printer_stalled"]
    wait_until(lambda: Delivery.objects.filter(status="failed").exists(), worker=celery_worker_process)

    text = requests.get(f"{live_server.url}/metrics", timeout=30).text
    got = samples(text)
    for queue in ("scoring", "training", "default"):
        assert got[("layerwatch_queue_depth", (("queue", queue),))] >= 0
    assert got[("layerwatch_upload_to_scored_seconds_count", ())] == 1
    assert 0 < got[("layerwatch_upload_to_scored_seconds_sum", ())] < 120
    assert got[("layerwatch_layers_scored_total", (("machine", "printer-a"),))] == 1
    assert got[("layerwatch_alerts_opened_total", (("kind", "printer_stalled"), ("severity", "critical")))] == 1
    assert got[("layerwatch_alerts_opened_total", (("kind", "defect"), ("severity", "critical")))] == 0
    assert got[("layerwatch_notification_failures_total", (("channel", "webhook"),))] == 1
    assert got[("layerwatch_notification_failures_total", (("channel", "email"),))] == 0
    assert got[("layerwatch_scoring_workers_alive", ())] >= 1
    assert DeliveryAttempt.objects.filter(ok=False).count() == 1
    assert "django_http_requests_total_by_method_total" in text  # django-prometheus's own
