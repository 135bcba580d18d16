"""Rotating and revoking a machine's token, from the API (staff) and the machine page (with CSRF)."""

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.machines.models import Machine
from tests.security.conftest import csrf_token_from, session_for

pytestmark = pytest.mark.django_db


def upload(token: str, png: bytes, *, layer: int = 0):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.post("/api/v1/layers/", {"image": _file(png), "job": "j1", "layer": layer}, format="multipart")


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("layer.png", data, content_type="image/png")


def staff_api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_rotates_a_token_through_the_api_and_the_old_one_stops_working(printer, admin_user, png):
    response = staff_api(admin_user).post(f"/api/v1/machines/{printer.machine.slug}/token/rotate/")
    assert response.status_code == 201
    new = response.json()["token"]
    assert response.json()["machine"] == printer.machine.slug and new != printer.token
    assert upload(printer.token, png).status_code == 401
    assert upload(new, png).status_code == 202
    entry = AuditEntry.objects.get(action="machine.token_rotate")
    assert entry.actor == admin_user and entry.machine == printer.machine
    assert new not in str(entry.new)  # only the public prefix is logged


def test_it_revokes_a_token_through_the_api(printer, admin_user, png):
    assert upload(printer.token, png).status_code == 202
    response = staff_api(admin_user).post(f"/api/v1/machines/{printer.machine.slug}/token/revoke/")
    assert response.status_code == 200 and response.json()["revoked_at"]
    refused = upload(printer.token, png, layer=1)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert AuditEntry.objects.filter(action="machine.token_revoke", actor=admin_user).count() == 1


def test_it_lets_a_revoked_machine_back_in_with_a_rotated_token(printer, admin_user, png):
    api = staff_api(admin_user)
    api.post(f"/api/v1/machines/{printer.machine.slug}/token/revoke/")
    new = api.post(f"/api/v1/machines/{printer.machine.slug}/token/rotate/").json()["token"]
    assert upload(new, png).status_code == 202
    assert Machine.objects.get(pk=printer.machine.pk).token_revoked_at is None


def test_it_revokes_only_once(printer, admin_user):
    api = staff_api(admin_user)
    first = api.post(f"/api/v1/machines/{printer.machine.slug}/token/revoke/").json()["revoked_at"]
    second = api.post(f"/api/v1/machines/{printer.machine.slug}/token/revoke/").json()["revoked_at"]
    assert first == second
    assert AuditEntry.objects.filter(action="machine.token_revoke").count() == 1


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_it_refuses_token_changes_to_operators_and_printers_through_the_api(
    printer, operator_client, printer_client, token_keeper, png, action
):
    url = f"/api/v1/machines/{printer.machine.slug}/token/{action}/"
    assert operator_client.post(url).status_code == 403
    assert staff_api(token_keeper).post(url).status_code == 403  # the API is staff only
    assert printer_client.post(url).status_code == 403
    assert APIClient().post(url).status_code == 401
    assert upload(printer.token, png).status_code == 202  # the token still works
    assert not AuditEntry.objects.exists()


def test_it_answers_404_for_an_unknown_machine(admin_user):
    assert staff_api(admin_user).post("/api/v1/machines/nope/token/rotate/").status_code == 404


@pytest.mark.parametrize("user_fixture", ["admin_user", "token_keeper"])
def test_it_rotates_from_the_machine_page_and_shows_the_token_once(printer, png, request, user_fixture):
    user = request.getfixturevalue(user_fixture)
    page = f"/machines/{printer.machine.slug}/"
    client = session_for(user)
    csrf = csrf_token_from(client, page)
    assert 'id="rotate-token"' in client.get(page).content.decode()
    response = client.post(f"/machines/{printer.machine.slug}/token/rotate/", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    new = response.context["token"]
    assert new in response.content.decode() and "no-store" in response["Cache-Control"]
    assert upload(printer.token, png).status_code == 401
    assert upload(new, png).status_code == 202
    assert new not in client.get(page).content.decode()  # shown once
    assert AuditEntry.objects.get(action="machine.token_rotate").actor == user


def test_it_revokes_from_the_machine_page(printer, admin_user, png):
    client = session_for(admin_user)
    csrf = csrf_token_from(client, f"/machines/{printer.machine.slug}/")
    response = client.post(f"/machines/{printer.machine.slug}/token/revoke/", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    assert upload(printer.token, png).status_code == 401
    assert "Revoked on" in client.get(f"/machines/{printer.machine.slug}/").content.decode()


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_it_refuses_a_token_change_without_the_csrf_token(printer, admin_user, png, action):
    client = session_for(admin_user)
    response = client.post(f"/machines/{printer.machine.slug}/token/{action}/")
    assert response.status_code == 403
    assert upload(printer.token, png).status_code == 202


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_it_refuses_token_changes_to_operators_without_the_permission(printer, operator, png, action):
    client = session_for(operator)
    page = client.get(f"/machines/{printer.machine.slug}/").content.decode()
    assert 'id="rotate-token"' not in page and 'id="revoke-token"' not in page
    csrf = csrf_token_from(client, f"/machines/{printer.machine.slug}/")
    response = client.post(f"/machines/{printer.machine.slug}/token/{action}/", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 403
    assert upload(printer.token, png).status_code == 202


def test_it_refuses_a_get_on_the_token_actions(printer, admin_user):
    client = session_for(admin_user)
    assert client.get(f"/machines/{printer.machine.slug}/token/rotate/").status_code == 405
