"""CSRF on the operator pages: every POST form carries the token, and every POST without it is refused."""

import re
from pathlib import Path

import pytest

from tests.security.conftest import session_for
from tests.security.test_permission_matrix import MATRIX
from tests.security.url_inventory import path_for, routes

ROOT = Path(__file__).resolve().parents[2]
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)
UI_POSTS = sorted(route for route, method in MATRIX if method == "POST" and not route.startswith("api/"))


def templates() -> list[Path]:
    return [p for folder in (ROOT / "templates", ROOT / "apps") for p in folder.rglob("*.html")]


def test_it_puts_the_csrf_token_in_every_post_form():
    forms = [(path, form) for path in templates() for form in FORM.findall(path.read_text())]
    posts = [(path, form) for path, form in forms if re.search(r"method=[\"']post", form, re.I)]
    assert posts, "no POST form found: the pattern is wrong"
    missing = [f"{path.relative_to(ROOT)}: {form[:80]}" for path, form in posts if "{% csrf_token %}" not in form]
    assert not missing, missing


def test_it_exempts_no_page_from_csrf():
    # DRF views are csrf_exempt by design: DRF's SessionAuthentication enforces CSRF itself.
    exempt = [r.pattern for r in routes() if getattr(r.callback, "csrf_exempt", False) and not r.drf_class]
    assert exempt == []


@pytest.mark.django_db
@pytest.mark.parametrize("route", UI_POSTS)
def test_it_refuses_a_post_without_the_csrf_token(route, fleet, django_user_model):
    admin = django_user_model.objects.create_user("csrf-admin", is_staff=True, is_superuser=True)
    response = session_for(admin).post(path_for(route, fleet.path_values()), {"action": "resolve"})
    assert response.status_code == 403
    assert b"CSRF" in response.content


@pytest.mark.django_db
def test_it_refuses_an_api_write_from_a_session_without_the_csrf_token(fleet, django_user_model):
    operator = django_user_model.objects.create_user("csrf-operator")
    response = session_for(operator).post(f"/api/v1/alerts/{fleet.alert.pk}/acknowledge/")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
