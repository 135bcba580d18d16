"""End to end: upload → scoring worker → rules on the default queue → signed webhook."""

import pytest
import requests

from apps.alerts.models import Alert, AlertRule, Delivery, NotificationChannel
from tests.images import image_bytes
from tests.worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_alerts_and_notifies_after_real_scoring(
    live_server,
    celery_worker_process,
    printer,
    install_model,
    receiver,
):
    install_model(printer.machine, threshold=1e-9)  # every layer is anomalous
    AlertRule.objects.create(machine=printer.machine, warmup_layers=0)
    NotificationChannel.objects.create(
        name="hook", machine=printer.machine, kind="webhook", url=receiver.url, secret=receiver.secret
    )
    for index in range(3):
        response = requests.post(
            f"{live_server.url}/api/v1/layers/",
            headers={"Authorization": f"Token {printer.token}"},
            files={"image": ("layer.png", image_bytes(seed=index))},
            data={"job": "J1", "layer": str(index)},
            timeout=30,
        )
        assert response.status_code == 202
    wait_until(lambda: Delivery.objects.filter(status="sent").exists(), worker=celery_worker_process)
    alert = Alert.objects.get()
    assert alert.severity == "critical" and alert.job.job_id == "J1"
    assert len(receiver.requests) == 1 and receiver.requests[0]["signed"]
