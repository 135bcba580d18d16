import pytest

from apps.alerts.models import Alert, AlertRule, Delivery, NotificationChannel
from apps.alerts.services import alert_rules_evaluate
from apps.layers.models import Label
from tests.alerts.conftest import scored_job

pytestmark = pytest.mark.django_db


def open_alert(machine, *, job_id="J1", values=(2.0, 2.0, 2.0)) -> Alert:
    AlertRule.objects.get_or_create(machine=machine, defaults={"warmup_layers": 0})
    layers = scored_job(machine, [0.5] * 5 + list(values), job_id=job_id)
    return alert_rules_evaluate(layer_id=layers[-1].pk)


@pytest.fixture
def alerts(printer, other_printer):
    a = open_alert(printer.machine)
    b = open_alert(other_printer.machine, job_id="J9", values=(1.2, 1.2))
    return a, b


def test_it_lists_alerts_with_filters(operator_client, alerts, printer):
    a, b = alerts

    def ids(query):
        return sorted(r["id"] for r in operator_client.get(f"/api/v1/alerts/?{query}").json()["results"])

    assert ids("status=open") == sorted([a.pk, b.pk])
    assert ids(f"machine={printer.machine.slug}") == [a.pk]
    assert ids("severity=warning") == [b.pk]
    assert ids("job=J9") == [b.pk]
    assert ids("status=resolved") == []
    assert operator_client.get("/api/v1/alerts/?severity=bogus").status_code == 400


def test_it_shows_an_alerts_layers_and_reason(operator_client, alerts):
    body = operator_client.get(f"/api/v1/alerts/{alerts[0].pk}/").json()
    assert [lr["index"] for lr in body["layers"]] == [5, 6, 7]
    assert body["machine"] == "printer-a" and body["job"] == "J1" and body["severity"] == "critical"


def test_it_acknowledges_with_who_and_when(operator_client, alerts):
    body = operator_client.post(f"/api/v1/alerts/{alerts[0].pk}/acknowledge/").json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == "olivia"
    assert body["acknowledged_at"] is not None


def test_it_labels_the_layers_good_on_a_false_alarm(operator_client, alerts, operator):
    url = f"/api/v1/alerts/{alerts[0].pk}/resolve/"
    body = operator_client.post(url, {"outcome": "false_alarm"}, format="json").json()
    assert (body["status"], body["outcome"], body["resolved_by"]) == ("resolved", "false_alarm", "olivia")
    labels = Label.objects.filter(layer__alerts=alerts[0])
    assert sorted(labels.values_list("layer__index", "value", "source", "user")) == [
        (i, "good", "alert_feedback", operator.pk) for i in (5, 6, 7)
    ]


def test_it_labels_the_layers_defective_when_confirmed(operator_client, alerts):
    operator_client.post(f"/api/v1/alerts/{alerts[0].pk}/resolve/", {"outcome": "confirmed"}, format="json")
    assert set(alerts[0].layers.values_list("label", flat=True)) == {"defective"}


def test_it_resolves_without_an_outcome_and_labels_nothing(operator_client, alerts):
    response = operator_client.post(f"/api/v1/alerts/{alerts[0].pk}/resolve/")
    assert response.status_code == 200 and response.json()["outcome"] == ""
    assert not Label.objects.exists()


def test_it_refuses_to_resolve_twice(operator_client, alerts):
    url = f"/api/v1/alerts/{alerts[0].pk}/resolve/"
    operator_client.post(url, {"outcome": "fixed"}, format="json")
    assert operator_client.post(url, {"outcome": "confirmed"}, format="json").status_code == 409
    assert operator_client.post(f"/api/v1/alerts/{alerts[0].pk}/acknowledge/").status_code == 409
    assert not Label.objects.exists()


def test_it_rejects_an_unknown_outcome(operator_client, alerts):
    url = f"/api/v1/alerts/{alerts[0].pk}/resolve/"
    assert operator_client.post(url, {"outcome": "meh"}, format="json").status_code == 400


def test_it_refuses_printers_and_strangers(printer_client, client, alerts):
    assert printer_client.get("/api/v1/alerts/").status_code == 403
    assert printer_client.post(f"/api/v1/alerts/{alerts[0].pk}/resolve/").status_code == 403
    assert client.get("/api/v1/alerts/").status_code in (401, 403)


def test_it_answers_404_for_a_missing_alert(operator_client):
    assert operator_client.post("/api/v1/alerts/999999/acknowledge/").status_code == 404


def test_it_sends_a_test_alert_through_the_machines_and_fleet_channels(
    operator_client, printer, other_printer, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    NotificationChannel.objects.create(
        name="mine", machine=printer.machine, kind="webhook", url=receiver.url, secret=receiver.secret
    )
    NotificationChannel.objects.create(name="fleet", kind="email", recipients="ops@x.io")
    NotificationChannel.objects.create(name="theirs", machine=other_printer.machine, kind="email", recipients="b@x.io")
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(f"/api/v1/machines/{printer.machine.slug}/test-alert/")
    assert response.status_code == 202
    assert sorted(d["kind"] for d in response.json()) == ["email", "webhook"]
    (request,) = receiver.requests
    assert request["signed"] and request["payload"]["test"] is True
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["sent", "sent"]


def test_it_lets_admins_edit_a_machines_alert_rule(operator_client, operator, printer):
    url = f"/api/v1/machines/{printer.machine.slug}/alert-rule/"
    assert operator_client.get(url).json()["k_critical"] == 3
    assert operator_client.patch(url, {"k_critical": 4}, format="json").status_code == 403
    operator.is_staff = True
    operator.save()
    response = operator_client.patch(url, {"k_critical": 4, "warmup_layers": 20}, format="json")
    assert response.status_code == 200
    rule = AlertRule.objects.get(machine=printer.machine)
    assert (rule.k_critical, rule.warmup_layers, rule.window_layers) == (4, 20, 5)
    assert operator_client.patch(url, {"k_critical": 9}, format="json").status_code == 400
    too_low = operator_client.patch(url, {"k_warning": 4, "k_critical": 3}, format="json")
    assert too_low.status_code == 400 and "k_critical" in too_low.json()
