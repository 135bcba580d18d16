"""The audit log: who changed an alert rule, a channel, a threshold or the active model, when, from what to what."""

import pytest
from rest_framework.test import APIClient

from apps.alerts.models import AlertRule, NotificationChannel
from apps.audit.models import AuditEntry
from apps.scoring.models import ModelVersion
from apps.scoring.thresholds import model_version_threshold_set
from apps.scoring.training import model_version_activate
from tests.security.conftest import csrf_token_from, session_for

pytestmark = pytest.mark.django_db

RULE = {
    "is_active": "on", "warmup_layers": "12", "window_layers": "6", "k_warning": "2", "k_critical": "4",
    "ewm_alpha": "0.4", "ewm_warning": "1.0", "ewm_critical": "1.2", "cooldown_layers": "15",
    "pause_on_critical": "", "pause_url": "",
}


@pytest.fixture
def machine(printer):
    return printer.machine


@pytest.fixture
def superuser(admin_user):
    admin_user.is_superuser = True
    admin_user.save()
    return admin_user


def versions(machine) -> tuple[ModelVersion, ModelVersion]:
    make = ModelVersion.objects.create
    first = make(machine=machine, version=1, scorer="seed", status=ModelVersion.Status.ACTIVE, threshold=1.0)
    return first, make(machine=machine, version=2, scorer="seed", status=ModelVersion.Status.READY, threshold=2.0)


def admin_form_data(client, url: str) -> dict:
    """The admin change form's current values, as the browser would post them back."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.widget.input_type == "file" if hasattr(field.widget, "input_type") else False:
            continue
        data[name] = "" if value is None else value
    return {**data, **{k: v for k, v in _inline_management(client, url).items()}}


def _inline_management(client, url: str) -> dict:
    context = client.get(url).context
    data = {}
    for formset in context.get("inline_admin_formsets", []):
        prefix = formset.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def test_it_records_a_rule_saved_on_the_machine_page(machine, admin_user):
    client = session_for(admin_user)
    url = f"/machines/{machine.slug}/alerts/"
    client.post(url, {**RULE, "csrfmiddlewaretoken": csrf_token_from(client, url)})
    created = AuditEntry.objects.get(action="alert_rule.create")
    assert created.actor == admin_user and created.machine == machine
    assert created.new["warmup_layers"] == 12 and created.old == {}
    client.post(url, {**RULE, "warmup_layers": "20", "csrfmiddlewaretoken": csrf_token_from(client, url)})
    updated = AuditEntry.objects.get(action="alert_rule.update")
    assert (updated.old, updated.new) == ({"warmup_layers": 12}, {"warmup_layers": 20})


def test_it_records_nothing_when_a_save_changes_nothing(machine, admin_user):
    client = session_for(admin_user)
    url = f"/machines/{machine.slug}/alerts/"
    for _ in range(2):
        client.post(url, {**RULE, "csrfmiddlewaretoken": csrf_token_from(client, url)})
    assert AuditEntry.objects.filter(action__startswith="alert_rule").count() == 1


def test_it_records_the_pause_hook(machine, admin_user):
    client = session_for(admin_user)
    url = f"/machines/{machine.slug}/alerts/"
    data = {**RULE, "pause_on_critical": "on", "pause_url": "http://printer.local/pause"}
    client.post(url, {**data, "csrfmiddlewaretoken": csrf_token_from(client, url)})
    entry = AuditEntry.objects.get(action="machine.pause_hook")
    assert entry.new == {"pause_on_critical": True, "pause_url": "http://printer.local/pause"}


def test_it_records_a_rule_changed_through_the_api(machine, admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    AlertRule.objects.create(machine=machine, k_critical=3)
    response = client.patch(f"/api/v1/machines/{machine.slug}/alert-rule/", {"k_critical": 4}, format="json")
    assert response.status_code == 200 and response.json()["k_critical"] == 4
    entry = AuditEntry.objects.get(action="alert_rule.update")
    assert (entry.actor, entry.old, entry.new) == (admin_user, {"k_critical": 3}, {"k_critical": 4})


def test_it_records_nothing_for_a_refused_rule(machine, admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    response = client.patch(f"/api/v1/machines/{machine.slug}/alert-rule/", {"k_critical": 99}, format="json")
    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_it_records_a_fleet_rule_changed_in_the_admin(superuser):
    rule = AlertRule.objects.create(machine=None, cooldown_layers=20)
    client = session_for(superuser, csrf=False)
    url = f"/admin/alerts/alertrule/{rule.pk}/change/"
    response = client.post(url, {**admin_form_data(client, url), "cooldown_layers": "30"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="alert_rule.update")
    assert (entry.old, entry.new, entry.machine) == ({"cooldown_layers": 20}, {"cooldown_layers": 30}, None)


def test_it_records_channels_added_changed_and_deleted_in_the_admin_without_their_secret(machine, superuser):
    client = session_for(superuser, csrf=False)
    added = client.post("/admin/alerts/notificationchannel/add/", {
        "name": "ops hook", "machine": machine.pk, "kind": "webhook", "is_active": "on",
        "min_severity": "warning", "url": "https://hooks.example/x", "secret": "hunter2", "recipients": "",
    })
    assert added.status_code == 302
    channel = NotificationChannel.objects.get()
    url = f"/admin/alerts/notificationchannel/{channel.pk}/change/"
    client.post(url, {**admin_form_data(client, url), "min_severity": "critical", "secret": "hunter3"})
    client.post(f"/admin/alerts/notificationchannel/{channel.pk}/delete/", {"post": "yes"})
    entries = {e.action: e for e in AuditEntry.objects.all()}
    assert set(entries) == {"channel.create", "channel.update", "channel.delete"}
    assert entries["channel.update"].old["min_severity"] == "warning"
    assert entries["channel.update"].new == {"min_severity": "critical", "secret": "(new value)"}
    assert not NotificationChannel.objects.exists()
    assert all("hunter" not in str(e.old) + str(e.new) for e in entries.values())


def test_it_records_a_model_activated_on_the_models_page(machine, admin_user):
    first, second = versions(machine)
    client = session_for(admin_user)
    page = f"/machines/{machine.slug}/models/"
    client.post(f"{page}{second.pk}/activate/", {"csrfmiddlewaretoken": csrf_token_from(client, page)})
    entry = AuditEntry.objects.get(action="model.activate")
    assert entry.actor == admin_user and entry.machine == machine
    assert (entry.old, entry.new) == ({"active_version": 1, "threshold": 1.0}, {"active_version": 2, "threshold": 2.0})


def test_it_records_work_without_a_person_as_the_system(machine):
    _, second = versions(machine)
    model_version_activate(version=second)
    assert AuditEntry.objects.get(action="model.activate").actor_name == "system"


def test_it_records_a_threshold_changed_in_the_admin(machine, superuser):
    first, _ = versions(machine)
    client = session_for(superuser, csrf=False)
    url = f"/admin/scoring/modelversion/{first.pk}/change/"
    response = client.post(url, {**admin_form_data(client, url), "threshold": "1.5"})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entry = AuditEntry.objects.get(action="model.threshold")
    assert (entry.actor, entry.old, entry.new) == (superuser, {"threshold": 1.0}, {"threshold": 1.5})
    first.refresh_from_db()
    assert first.threshold == 1.5


def test_it_refuses_a_threshold_that_is_not_a_positive_number(machine):
    first, _ = versions(machine)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive"):
            model_version_threshold_set(version=first, threshold=bad, actor=None)
    assert not AuditEntry.objects.exists()


def test_it_lists_changes_on_the_audit_page(machine, other_printer, admin_user, operator):
    first, second = versions(machine)
    model_version_activate(version=second, actor=admin_user)
    model_version_threshold_set(version=second, threshold=2.5, actor=admin_user)
    client = session_for(operator)
    page = client.get("/audit/").content.decode()
    assert "model.activate" in page and "model.threshold" in page and "threshold=2.5" in page and "ada" in page
    other = client.get(f"/audit/?machine={other_printer.machine.slug}")
    assert list(other.context["page"].object_list) == [] and "No changes recorded yet" in other.content.decode()
    only = client.get("/audit/?action=model.threshold").context["page"].object_list
    assert [e.action for e in only] == ["model.threshold"]


def test_it_shows_the_log_read_only_in_the_admin(machine, admin_user):
    _, second = versions(machine)
    model_version_activate(version=second, actor=admin_user)
    admin_user.is_superuser = True
    admin_user.save()
    client = session_for(admin_user, csrf=False)
    listing = client.get("/admin/audit/auditentry/")
    assert listing.status_code == 200 and "model.activate" in listing.content.decode()
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    entry = AuditEntry.objects.get()
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.count() == 1


def test_it_keeps_the_filter_on_the_next_page(machine, operator):
    from apps.audit.services import audit_record

    for i in range(51):
        audit_record(actor=None, action="model.threshold", target=machine, machine=machine,
                     old={"threshold": i}, new={"threshold": i + 1})
    response = session_for(operator).get(f"/audit/?machine={machine.slug}&action=model.threshold")
    assert len(response.context["page"].object_list) == 50
    assert f"?page=2&amp;machine={machine.slug}&amp;action=model.threshold" in response.content.decode()
    assert "Audit</a>" in response.content.decode()  # the navigation links to the log
