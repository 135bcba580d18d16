import pytest

from apps.alerts.models import Alert, AlertRule, Delivery, NotificationChannel
from apps.alerts.services import alert_rules_enqueue
from apps.scoring import on_scored
from config.celery import app as celery_app
from tests.alerts.conftest import scored_job

pytestmark = pytest.mark.django_db


def test_it_subscribes_to_the_after_scoring_hook():
    assert alert_rules_enqueue in on_scored._subscribers


def test_it_evaluates_the_rules_after_a_layer_is_scored(printer, eager_tasks, django_capture_on_commit_callbacks):
    AlertRule.objects.create(machine=printer.machine, warmup_layers=0)
    layers = scored_job(printer.machine, [0.5] * 4 + [3.0] * 3)
    with django_capture_on_commit_callbacks(execute=True):
        on_scored.send(layer_id=layers[-1].pk, score_id=layers[-1].current_score_id)
    assert Alert.objects.get().severity == "critical"


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
