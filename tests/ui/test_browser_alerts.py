"""The alerts inbox in a real Chromium: an operator acknowledges an alert, with screenshots."""

import pytest

from apps.alerts.models import Alert
from apps.machines.services import machine_create
from tests.ui.test_browser import browser, page, shoot  # noqa: F401  (fixtures and the screenshot helper)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_acknowledges_an_alert_from_the_inbox(page, live_server, make_alert, operator):  # noqa: F811
    alert = make_alert(job="job-warn")
    make_alert(job="job-crit", severity="critical", target=machine_create(name="Printer C").machine)
    page.goto(f"{live_server.url}/alerts/")
    assert page.inner_text("[data-testid=nav-alerts] .badge") == "2"
    card = page.locator(f'[data-alert="{alert.pk}"]')
    assert "job-warn" in card.inner_text() and card.locator(".strip-item img").count() == 3
    shoot(page, "alerts-inbox")

    card.locator("[data-testid=acknowledge]").click()
    page.wait_for_selector(".messages li")
    assert f"Alert #{alert.pk} acknowledged." in page.inner_text(".messages")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == operator
    assert page.inner_text("[data-testid=nav-alerts] .badge") == "1"

    page.click("[data-testid=tab-acknowledged]")
    page.wait_for_url("**/alerts/?status=acknowledged")
    assert "by olivia" in page.locator(f'[data-alert="{alert.pk}"]').inner_text()
    shoot(page, "alerts-inbox-acknowledged")


def test_it_edits_the_alert_rule_and_sends_a_test_alert(browser, live_server, machine, admin_user, eager_tasks):  # noqa: F811
    from django.core import mail

    from apps.alerts.models import AlertRule, NotificationChannel

    NotificationChannel.objects.create(name="night shift", machine=machine, kind="email", recipients="n@x.io")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = context.new_page()
    admin.goto(f"{live_server.url}/accounts/login/")
    admin.fill("input[name=username]", "ada")
    admin.fill("input[name=password]", "admin-password")
    admin.click("button[type=submit]")
    admin.wait_for_url(f"{live_server.url}/")
    admin.goto(f"{live_server.url}/machines/{machine.slug}/alerts/")
    admin.fill("#id_k_critical", "9")
    admin.click(".rule-form button[type=submit]")
    assert "Cannot exceed the window n (5)." in admin.inner_text("[data-testid=error-k_critical]")
    shoot(admin, "machine-alert-rule-error")
    admin.fill("#id_k_critical", "4")
    admin.click(".rule-form button[type=submit]")
    admin.wait_for_selector(".messages li")
    assert AlertRule.objects.get(machine=machine).k_critical == 4
    admin.click("[data-testid=send-test]")
    admin.wait_for_selector("[data-testid=test-deliveries]")
    assert "sent" in admin.inner_text("[data-testid=test-deliveries]")
    assert [m.to for m in mail.outbox] == [["n@x.io"]]
    shoot(admin, "machine-alert-rule")
    context.close()
