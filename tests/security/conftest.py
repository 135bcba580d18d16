"""Named people for the security tests: an admin, an operator, an operator allowed to manage tokens."""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client

from tests.security.fleet import fleet_build, fleet_remove


@pytest.fixture(autouse=True)
def fresh_rate_counters():
    """Throttle counters live in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_user("ada", password="admin-password", is_staff=True)


@pytest.fixture
def token_keeper(django_user_model):
    """An operator (not staff) given the permission to rotate and revoke machine tokens."""
    user = django_user_model.objects.create_user("tom", password="keeper-password")
    user.user_permissions.add(Permission.objects.get(codename="manage_machine_token"))
    return user


def session_for(user, *, csrf: bool = True) -> Client:
    """A browser-like session for `user` that enforces CSRF as a real browser meets it."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def csrf_token_from(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.context["csrf_token"]


@pytest.fixture(scope="module")
def fleet(django_db_setup, django_db_blocker):
    """Two printers with layers, scores, an alert and model versions, built once per module.

    Each test's writes are rolled back with its transaction, so the fleet is the same for all.
    """
    with django_db_blocker.unblock():
        built = fleet_build()
    yield built
    with django_db_blocker.unblock():
        fleet_remove(built)
