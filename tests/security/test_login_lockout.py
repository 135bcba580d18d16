"""Repeated failed logins lock the username out at that address (django-axes), with Retry-After."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def attempt(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_it_locks_a_username_out_after_repeated_failures(operator, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "olivia", "wrong").status_code == 200  # the form again, with its error
    locked = attempt(client, "olivia", "wrong")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == round(settings.AXES_COOLOFF_TIME * 3600)
    assert "Too many failed logins" in locked.content.decode()
    # Now even the right password is refused, and no session is opened.
    right = attempt(client, "olivia", "shift-password")
    assert right.status_code == 429 and "_auth_user_id" not in client.session


def test_it_lets_the_same_user_in_from_another_address(operator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), "olivia", "wrong")
    assert attempt(Client(), "olivia", "shift-password", address="10.0.0.2").status_code == 302


def test_it_forgets_failures_after_a_successful_login(operator, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "olivia", "wrong")
    assert attempt(client, "olivia", "shift-password").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "olivia", "wrong").status_code == 200


def test_it_locks_out_the_admin_login_too(admin_user, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "ada", "password": "wrong"}, REMOTE_ADDR="10.0.0.3")
    response = client.post("/admin/login/", {"username": "ada", "password": "admin-password"}, REMOTE_ADDR="10.0.0.3")
    assert response.status_code == 429


def test_it_still_logs_in_from_code_and_tests(operator):
    # client.login() authenticates without a request; the lockout backend must not refuse it.
    assert Client().login(username="olivia", password="shift-password")
