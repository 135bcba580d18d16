"""Inputs the fuzzers found answering 500, each now a clear 4xx (or a page that says what is wrong)."""

import pytest

from tests.security.conftest import session_for

pytestmark = pytest.mark.django_db


def test_it_refuses_a_nul_in_the_label_queues_machine(operator_client):
    response = operator_client.get("/api/v1/labels/queue/?machine=a%00b")
    assert response.status_code == 400
    assert "Null characters" in response.json()["machine"]


def test_it_refuses_analysis_with_an_active_model_that_has_no_file(operator_client, fleet, png):
    from django.core.files.uploadedfile import SimpleUploadedFile

    image = SimpleUploadedFile("x.png", png, content_type="image/png")
    response = operator_client.post("/api/v1/analyze/", {"image": image, "machine": fleet.own.machine.slug})
    assert response.status_code == 400
    assert "No active model to analyze with." in str(response.json()["machine"])


@pytest.mark.parametrize("version", ["abc", "", "99999999999999999999999", "1.5"])
def test_it_asks_again_for_a_model_on_the_analyze_page_given_a_bad_version(operator, png, version):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = session_for(operator, csrf=False)
    image = SimpleUploadedFile("x.png", png, content_type="image/png")
    response = client.post("/analyze/", {"version": version, "images": image})
    assert response.status_code == 200
    assert response.context["error"] == "Pick a model and at least one image."


def test_it_ignores_a_nul_in_the_audit_logs_filter(operator):
    response = session_for(operator).get("/audit/?action=model%00x&machine=%00")
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["limit=9223372036854775808", "offset=9223372036854775808", "limit=0&offset=-1"])
def test_it_bounds_the_page_size_and_offset(operator_client, query):
    response = operator_client.get(f"/api/v1/jobs/?{query}")
    assert response.status_code == 200
    if query.startswith("offset"):
        assert response.json()["results"] == []


def test_it_serves_at_most_a_thousand_rows_a_page():
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from apps.api.pagination import Pagination

    request = Request(APIRequestFactory().get("/api/v1/layers/?limit=100000&offset=99999999999999999999"))
    assert Pagination().get_limit(request) == 1000
    assert Pagination().get_offset(request) == 10**12
