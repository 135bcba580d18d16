"""Who may call what: every route of the URLconf against five callers.

Callers: nobody signed in, an operator (signed-in, not staff), an admin (staff), the token of the
machine whose data the path names ("own"), and another machine's token ("other"). Each cell is
the status the caller gets. A route added to the URLconf without a row here fails
`test_it_has_a_row_for_every_route`: give it one.
"""

import re

import pytest
from django.contrib import admin
from django.urls import reverse
from rest_framework.test import APIClient

from tests.security.url_inventory import path_for, routes

pytestmark = pytest.mark.django_db

LOGIN = "to login"  # 302 to /accounts/login/
ADMIN_LOGIN = "to admin login"  # 302 to /admin/login/ (Django admin's own staff check)
CALLERS = ("anonymous", "operator", "admin", "own", "other")

# (route, method): statuses for (anonymous, operator, admin, own machine, other machine).
# Writes are sent with an empty body: 400 means the caller got past the permission check.
MATRIX = {
    # Printer API and operator reads.
    ("api/v1/machines/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/machines/<slug:slug>/groups/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/machines/<slug:slug>/token/rotate/", "POST"): (401, 403, 201, 403, 403),
    ("api/v1/machines/<slug:slug>/token/revoke/", "POST"): (401, 403, 200, 403, 403),
    ("api/v1/machines/<slug:slug>/test-alert/", "POST"): (401, 202, 202, 403, 403),
    ("api/v1/machines/<slug:slug>/alert-rule/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/machines/<slug:slug>/alert-rule/", "PUT"): (401, 403, 200, 403, 403),
    ("api/v1/machines/<slug:slug>/alert-rule/", "PATCH"): (401, 403, 200, 403, 403),
    ("api/v1/jobs/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/jobs/", "POST"): (401, 403, 403, 400, 400),
    ("api/v1/jobs/<int:job_pk>/finish/", "POST"): (401, 403, 403, 200, 404),
    ("api/v1/jobs/<int:job_pk>/abort/", "POST"): (401, 403, 403, 200, 404),
    ("api/v1/jobs/<int:job_id>/parts/", "GET"): (401, 200, 200, 200, 404),
    ("api/v1/jobs/<int:job_id>/volume/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/jobs/<int:job_id>/evidence.zip", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/system-alerts/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/system-alerts/<int:alert_id>/", "GET"): (401, 404, 404, 403, 403),  # the id is a defect alert's
    ("api/v1/layers/", "GET"): (401, 200, 200, 200, 200),  # a machine sees only its own layers
    ("api/v1/layers/", "POST"): (401, 403, 403, 400, 400),
    ("api/v1/layers/<int:layer_id>/", "GET"): (401, 200, 200, 200, 404),
    ("api/v1/layers/<int:layer_id>/image/", "GET"): (401, 200, 200, 200, 404),
    ("api/v1/layers/<int:layer_id>/heatmap/", "GET"): (401, 200, 200, 200, 404),
    ("api/v1/layers/<int:layer_id>/reconstruction/", "GET"): (401, 200, 200, 200, 404),
    ("api/v1/layers/<int:layer_id>/label/", "POST"): (401, 400, 400, 403, 403),
    ("api/v1/labels/queue/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/labels/batch/", "POST"): (401, 400, 400, 403, 403),
    ("api/v1/analyze/", "POST"): (401, 400, 400, 403, 403),
    ("api/v1/alerts/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/alerts/<int:alert_id>/", "GET"): (401, 200, 200, 403, 403),
    ("api/v1/alerts/<int:alert_id>/acknowledge/", "POST"): (401, 200, 200, 403, 403),
    ("api/v1/alerts/<int:alert_id>/resolve/", "POST"): (401, 200, 200, 403, 403),
    ("api/schema/", "GET"): (200, 200, 200, 200, 200),
    ("api/docs/", "GET"): (200, 200, 200, 200, 200),
    # Accounts (Django's own views).
    ("accounts/login/", "GET"): (200, 200, 200, 200, 200),
    ("accounts/logout/", "POST"): (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    ("accounts/password_change/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("accounts/password_change/done/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("accounts/password_reset/", "GET"): (200, 200, 200, 200, 200),
    ("accounts/password_reset/done/", "GET"): (200, 200, 200, 200, 200),
    ("accounts/reset/<uidb64>/<token>/", "GET"): (200, 200, 200, 200, 200),
    ("accounts/reset/done/", "GET"): (200, 200, 200, 200, 200),
    # Operator pages: a machine token is no login.
    ("", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("fleet/cards/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("label/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("analyze/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("analyze/", "POST"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("alerts/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("alerts/<int:alert_id>/acknowledge/", "POST"): (LOGIN, 302, 302, LOGIN, LOGIN),
    ("alerts/<int:alert_id>/resolve/", "POST"): (LOGIN, 302, 302, LOGIN, LOGIN),
    ("audit/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("machines/<slug:slug>/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("machines/<slug:slug>/token/rotate/", "POST"): (LOGIN, 403, 200, LOGIN, LOGIN),
    ("machines/<slug:slug>/token/revoke/", "POST"): (LOGIN, 403, 302, LOGIN, LOGIN),
    ("machines/<slug:slug>/alerts/", "GET"): (LOGIN, 403, 200, LOGIN, LOGIN),
    ("machines/<slug:slug>/alerts/", "POST"): (LOGIN, 403, 200, LOGIN, LOGIN),
    ("machines/<slug:slug>/alerts/test/", "POST"): (LOGIN, 403, 302, LOGIN, LOGIN),
    ("machines/<slug:slug>/models/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("machines/<slug:slug>/models/retrain/", "POST"): (ADMIN_LOGIN, ADMIN_LOGIN, 302, ADMIN_LOGIN, ADMIN_LOGIN),
    ("machines/<slug:slug>/models/rollback/", "POST"): (ADMIN_LOGIN, ADMIN_LOGIN, 302, ADMIN_LOGIN, ADMIN_LOGIN),
    ("machines/<slug:slug>/models/<int:version_id>/activate/", "POST"): (
        ADMIN_LOGIN, ADMIN_LOGIN, 302, ADMIN_LOGIN, ADMIN_LOGIN,
    ),
    ("models/<int:version_id>/progress/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("jobs/<int:job_id>/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("jobs/<int:job_id>/report/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("jobs/<int:job_id>/report.pdf", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("jobs/<int:job_id>/volume/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("parts/verdict-rule/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("parts/verdict-rule/", "POST"): (LOGIN, 403, 400, LOGIN, LOGIN),
    # Health and metrics: no login, for probes and Prometheus.
    ("healthz", "GET"): (200, 200, 200, 200, 200),
    ("readyz", "GET"): (503, 503, 503, 503, 503),  # no scoring worker beats in this test
    ("metrics", "GET"): (200, 200, 200, 200, 200),
    ("layers/<int:layer_id>/", "GET"): (LOGIN, 200, 200, LOGIN, LOGIN),
    ("layers/<int:layer_id>/features.png", "GET"): (LOGIN, 404, 404, LOGIN, LOGIN),  # no trained model here
}

CELLS = [(route, method, caller) for (route, method) in MATRIX for caller in CALLERS]


def client_for(caller: str, fleet, django_user_model) -> APIClient:
    client = APIClient()
    if caller in ("operator", "admin"):
        client.force_login(django_user_model.objects.create_user(caller, is_staff=caller == "admin"))
    elif caller in ("own", "other"):
        token = fleet.own.token if caller == "own" else fleet.other.token
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def outcome(response):
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith("/accounts/login/"):
            return LOGIN
    return response.status_code


@pytest.mark.parametrize(("route", "method", "caller"), CELLS, ids=[f"{m} /{r} as {c}" for r, m, c in CELLS])
def test_it_gives_each_caller_the_expected_status(route, method, caller, fleet, django_user_model):
    client = client_for(caller, fleet, django_user_model)
    path = path_for(route, fleet.path_values())
    response = getattr(client, method.lower())(path)
    expected = MATRIX[(route, method)][CALLERS.index(caller)]
    assert outcome(response) == expected, getattr(response, "content", b"")[:300]


def test_it_has_a_row_for_every_route():
    """Fails for a new route (or a new method of an API view) until the matrix says who may call it."""
    listed_routes = {route for route, _ in MATRIX}
    missing, stale = [], []
    for route in routes():
        if route.pattern.startswith("admin/"):
            continue  # Django's admin: test_it_keeps_the_admin_to_staff
        if route.drf_class:
            missing += [(route.pattern, m) for m in route.api_methods() if (route.pattern, m) not in MATRIX]
        elif route.pattern not in listed_routes:
            missing.append((route.pattern, "?"))
    known = {route.pattern for route in routes()}
    stale = [key for key in MATRIX if key[0] not in known]
    assert not missing, f"Routes without a row in MATRIX: {missing}"
    assert not stale, f"Rows in MATRIX for routes that no longer exist: {stale}"


def test_it_checks_every_api_operation_of_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (path, method.upper()) for path, item in schema["paths"].items() for method in item if method != "parameters"
    }
    listed = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/" + route), method) for route, method in MATRIX}
    assert operations <= listed, f"OpenAPI operations without a row in MATRIX: {sorted(operations - listed)}"


@pytest.mark.parametrize("caller", ["anonymous", "operator", "own", "other"])
def test_it_keeps_the_admin_to_staff(caller, fleet, django_user_model):
    client = client_for(caller, fleet, django_user_model)
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert outcome(client.get(url)) == ADMIN_LOGIN, url


def test_it_opens_every_admin_list_to_staff(fleet, django_user_model):
    client = client_for("admin", fleet, django_user_model)
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_it_lists_only_a_machines_own_layers(fleet):
    client = client_for("other", fleet, None)
    ids = {row["id"] for row in client.get("/api/v1/layers/").json()["results"]}
    assert ids == {fleet.other_layer.pk}
    asked_for_another = client.get(f"/api/v1/layers/?machine={fleet.own.machine.slug}").json()["results"]
    assert fleet.layer.pk not in {row["id"] for row in asked_for_another}
