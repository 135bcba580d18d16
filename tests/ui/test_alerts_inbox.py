"""The alerts inbox: tabs and machine filter, acknowledge and resolve, and what outcomes label."""

import pytest
from django.utils import timezone

from apps.alerts.models import Alert
from apps.layers.models import Label, Layer
from apps.machines.services import machine_create
from tests.ui.conftest import layer_add

pytestmark = pytest.mark.django_db


def test_it_asks_for_a_login(client):
    response = client.get("/alerts/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_lists_open_alerts_with_their_layers_and_job(operator_session, make_alert):
    alert = make_alert()
    make_alert(job="job-done", status=Alert.Status.RESOLVED)
    page = operator_session.get("/alerts/").content.decode()
    assert f'data-alert="{alert.pk}"' in page and "job-done" not in page
    assert f"/jobs/{alert.job_id}/" in page
    for layer in alert.layers.all():
        assert f"/layers/{layer.pk}/" in page
    assert "3 of the last 5 layers are anomalous." in page and "Acknowledge" in page


def test_it_filters_by_status_tab(operator_session, make_alert, operator):
    make_alert(job="job-open")
    make_alert(
        job="job-ack", status=Alert.Status.ACKNOWLEDGED, acknowledged_by=operator, acknowledged_at=timezone.now()
    )
    page = operator_session.get("/alerts/?status=acknowledged").content.decode()
    assert "job-ack" in page and "job-open" not in page
    assert "by olivia" in page


def test_it_filters_by_machine(operator_session, make_alert):
    other = machine_create(name="Printer Z").machine
    make_alert(job="job-mine")
    make_alert(job="job-theirs", target=other)
    page = operator_session.get(f"/alerts/?machine={other.slug}").content.decode()
    assert "job-theirs" in page and "job-mine" not in page


def test_it_shows_the_open_count_in_the_nav(operator_session, make_alert):
    make_alert(job="a")
    make_alert(job="b")
    page = operator_session.get("/").content.decode()
    assert 'data-testid="nav-alerts">Alerts <span class="badge">2</span>' in page


def test_it_bounds_the_queries_however_many_alerts(operator_session, make_alert, django_assert_max_num_queries):
    make_alert(job="job-first")
    with django_assert_max_num_queries(9) as one:
        assert operator_session.get("/alerts/").status_code == 200
    for n in range(8):
        make_alert(job=f"job-{n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert operator_session.get("/alerts/").status_code == 200


def test_it_shows_at_most_twelve_thumbnails_per_alert(operator_session, make_alert, machine, fake_version):
    alert = make_alert()
    version = fake_version(machine)
    alert.layers.add(*[layer_add(machine, job="job-a", index=i, score=1.5, version=version) for i in range(3, 15)])
    page = operator_session.get("/alerts/").content.decode()
    assert page.count('class="strip-item"') == 12 and "+3 more" in page


def test_it_acknowledges_an_alert(operator_session, make_alert, operator):
    alert = make_alert()
    response = operator_session.post(f"/alerts/{alert.pk}/acknowledge/", {"next": "/alerts/?status=open"})
    assert response.status_code == 302 and response["Location"] == "/alerts/?status=open"
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == operator


def test_it_resolves_without_labeling(operator_session, make_alert):
    alert = make_alert()
    operator_session.post(f"/alerts/{alert.pk}/resolve/", {"action": "resolve"})
    alert.refresh_from_db()
    assert (alert.status, alert.outcome) == ("resolved", "")
    assert not Label.objects.exists()


def test_it_labels_the_layers_good_on_a_false_alarm(operator_session, make_alert, operator):
    alert = make_alert()
    operator_session.post(f"/alerts/{alert.pk}/resolve/", {"action": "false_alarm"})
    alert.refresh_from_db()
    assert (alert.status, alert.outcome, alert.resolved_by) == ("resolved", "false_alarm", operator)
    assert set(Layer.objects.filter(alerts=alert).values_list("label", flat=True)) == {"good"}
    page = operator_session.get("/alerts/?status=resolved").content.decode()
    assert "False Alarm" in page and 'data-testid="acknowledge"' not in page and "by olivia" in page


def test_it_labels_the_layers_defective_when_confirmed(operator_session, make_alert):
    alert = make_alert()
    operator_session.post(f"/alerts/{alert.pk}/resolve/", {"action": "confirmed"})
    assert set(Layer.objects.filter(alerts=alert).values_list("label", flat=True)) == {"defective"}
    assert Label.objects.filter(user__username="olivia").count() == 3


def test_it_says_so_when_resolving_twice(operator_session, make_alert):
    alert = make_alert()
    operator_session.post(f"/alerts/{alert.pk}/resolve/", {"action": "confirmed"})
    response = operator_session.post(f"/alerts/{alert.pk}/resolve/", {"action": "false_alarm"}, follow=True)
    assert "already resolved" in response.content.decode()
    assert set(Layer.objects.filter(alerts=alert).values_list("label", flat=True)) == {"defective"}


def test_it_refuses_actions_without_a_login(client, make_alert):
    alert = make_alert()
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 302
    alert.refresh_from_db()
    assert alert.status == "open"


def test_it_refuses_get_on_actions(operator_session, make_alert):
    alert = make_alert()
    assert operator_session.get(f"/alerts/{alert.pk}/resolve/").status_code == 405


def test_it_ignores_an_offsite_next(operator_session, make_alert):
    alert = make_alert()
    response = operator_session.post(f"/alerts/{alert.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert response["Location"] == "/alerts/"
