import pytest

from apps.alerts.models import Alert, AlertRule, Delivery, NotificationChannel
from apps.scoring.services import layer_scored_handoff
from config.celery import app as celery_app
from tests.alerts.conftest import scored_job
from tests.worker import wait_until

pytestmark = pytest.mark.django_db


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_hands_a_scored_layer_to_the_alert_rules_on_the_worker(printer, celery_worker_process):
    AlertRule.objects.create(machine=printer.machine, warmup_layers=0)
    layers = scored_job(printer.machine, [0.5] * 4 + [3.0] * 3)
    layer_scored_handoff(layer_id=layers[-1].pk)
    wait_until(lambda: Alert.objects.exists(), worker=celery_worker_process)
    assert Alert.objects.get().severity == "critical"


def test_it_keeps_the_score_when_the_hand_off_to_the_alert_rules_fails(printer, monkeypatch, caplog):
    def broker_down(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("apps.scoring.services.alert_rules_enqueue", broker_down)
    layers = scored_job(printer.machine, [3.0])
    layer_scored_handoff(layer_id=layers[0].pk)
    assert "alert rules" in caplog.text and not Alert.objects.exists()


@pytest.mark.parametrize("task", ["workers.alerts.evaluate_alert_rules", "workers.alerts.deliver_notification"])
def test_it_routes_alert_work_to_the_default_queue(task):
    route = celery_app.amqp.router.route({}, task)
    assert route["queue"].name == "default"


def test_it_sends_a_test_alert_from_the_admin(admin_client, printer, eager_tasks):
    channel = NotificationChannel.objects.create(
        name="shift", machine=printer.machine, kind="email", recipients="ops@x.io"
    )
    response = admin_client.post(
        "/admin/alerts/notificationchannel/",
        {"action": "send_test_alert", "_selected_action": [channel.pk]},
    )
    assert response.status_code == 302
    assert Delivery.objects.get().event == "test"


@pytest.mark.parametrize("model", ["alert", "alertrule", "notificationchannel", "delivery"])
def test_it_shows_the_admin_pages(admin_client, model, printer):
    assert admin_client.get(f"/admin/alerts/{model}/").status_code == 200
    assert admin_client.get(f"/admin/alerts/{model}/add/").status_code == 200
