"""A machine's alert settings page: admins edit the rule and pause hook and send a test alert."""

import pytest
from django.core import mail

from apps.alerts.models import AlertRule, Delivery, NotificationChannel

pytestmark = pytest.mark.django_db

VALID = {
    "is_active": "on",
    "warmup_layers": "12",
    "window_layers": "6",
    "k_warning": "2",
    "k_critical": "4",
    "ewm_alpha": "0.4",
    "ewm_warning": "1.0",
    "ewm_critical": "1.2",
    "cooldown_layers": "15",
    "pause_on_critical": "on",
    "pause_url": "http://printer-a.local/pause",
}


def url(machine, suffix: str = "") -> str:
    return f"/machines/{machine.slug}/alerts/{suffix}"


def test_it_starts_from_the_fleet_default(admin_session, machine):
    AlertRule.objects.create(machine=None, warmup_layers=33, k_critical=4)
    response = admin_session.get(url(machine))
    assert response.status_code == 200
    assert response.context["form"].initial["warmup_layers"] == 33
    assert "follows the fleet default" in response.content.decode()
    assert not AlertRule.objects.filter(machine=machine).exists()


def test_it_saves_the_machines_own_rule_and_pause_hook(admin_session, machine):
    fleet = AlertRule.objects.create(machine=None)
    response = admin_session.post(url(machine), VALID)
    assert response.status_code == 302
    rule = AlertRule.objects.get(machine=machine)
    assert (rule.warmup_layers, rule.window_layers, rule.k_critical, rule.ewm_alpha) == (12, 6, 4, 0.4)
    machine.refresh_from_db()
    assert machine.pause_on_critical and machine.pause_url == "http://printer-a.local/pause"
    fleet.refresh_from_db()
    assert fleet.warmup_layers == 10  # the fleet default is untouched
    assert "has its own rule" in admin_session.get(url(machine)).content.decode()


def test_it_updates_an_existing_rule(admin_session, machine):
    AlertRule.objects.create(machine=machine, cooldown_layers=99)
    admin_session.post(url(machine), {**VALID, "is_active": ""})
    rule = AlertRule.objects.get(machine=machine)
    assert (rule.cooldown_layers, rule.is_active) == (15, False)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"k_critical": "7"}, "k_critical", "Cannot exceed the window n (6)."),
        ({"k_warning": "9", "k_critical": "9"}, "k_warning", "Cannot exceed the window n (6)."),
        ({"k_warning": "4", "k_critical": "3"}, "k_critical", "Must be at least k warning."),
        ({"ewm_alpha": "0"}, "ewm_alpha", "Must be above 0 and at most 1."),
        ({"ewm_critical": "0.5"}, "ewm_critical", "Must be at least the EWM warning."),
        ({"pause_url": ""}, "pause_url", "Give the URL to call, or switch pausing off."),
        ({"window_layers": "-1"}, "window_layers", "Ensure this value is greater than or equal to 0."),
        ({"pause_url": "not a url"}, "pause_url", "Enter a valid URL."),
    ],
)
def test_it_rejects_invalid_rules_with_field_errors(admin_session, machine, change, field, message):
    response = admin_session.post(url(machine), {**VALID, **change})
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert not AlertRule.objects.filter(machine=machine).exists()


def test_it_refuses_operators(operator_session, machine):
    assert operator_session.get(url(machine)).status_code == 403
    assert operator_session.post(url(machine), VALID).status_code == 403
    assert operator_session.post(url(machine, "test/")).status_code == 403
    assert not AlertRule.objects.exists() and not Delivery.objects.exists()


def test_it_sends_anonymous_visitors_to_login(client, machine):
    response = client.get(url(machine))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_lists_the_machines_and_fleet_channels(admin_session, machine):
    NotificationChannel.objects.create(name="night shift", machine=machine, kind="email", recipients="n@x.io")
    NotificationChannel.objects.create(name="fleet hook", kind="webhook", url="http://hooks.local/x")
    NotificationChannel.objects.create(name="switched off", kind="email", recipients="o@x.io", is_active=False)
    page = admin_session.get(url(machine)).content.decode()
    assert "night shift" in page and "fleet hook" in page and "switched off" not in page


def test_it_delivers_a_test_alert_by_email(admin_session, machine, eager_tasks, django_capture_on_commit_callbacks):
    NotificationChannel.objects.create(name="night shift", machine=machine, kind="email", recipients="n@x.io")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_session.post(url(machine, "test/"))
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["n@x.io"]]
    (delivery,) = Delivery.objects.all()
    assert (delivery.event, delivery.status) == ("test", "sent")
    page = admin_session.get(url(machine)).content.decode()
    assert "Test alert queued to 1 channel(s): night shift." in page
    assert 'data-testid="test-deliveries"' in page and ">sent<" in page


def test_it_says_when_there_is_no_channel_to_test(admin_session, machine):
    response = admin_session.post(url(machine, "test/"), follow=True)
    assert "No active notification channel" in response.content.decode()


def test_it_links_the_settings_from_the_machine_page_for_admins_only(client, admin_user, operator, machine):
    client.login(username="ada", password="admin-password")
    assert url(machine) in client.get(f"/machines/{machine.slug}/").content.decode()
    client.login(username="olivia", password="shift-password")
    assert url(machine) not in client.get(f"/machines/{machine.slug}/").content.decode()
