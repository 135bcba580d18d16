"""Rate limits: per machine token for printers, per user for operators; 429 with Retry-After."""

import pytest
from rest_framework.test import APIClient

from tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"machine": "3/min", "operator": "2/min", "anonymous": "2/min"},
    }


def upload(client: APIClient, layer: int):
    return client.post("/api/v1/layers/", {"image": _file(layer), "job": "j1", "layer": layer}, format="multipart")


def _file(seed: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("layer.png", image_bytes(seed=seed, size=32), content_type="image/png")


def test_it_throttles_a_machine_token_with_retry_after(low_rates, printer_client):
    assert [upload(printer_client, i).status_code for i in range(3)] == [202, 202, 202]
    refused = upload(printer_client, 3)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()


def test_it_counts_each_machine_token_apart(low_rates, printer_client, other_printer):
    for i in range(3):
        upload(printer_client, i)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {other_printer.token}")
    assert upload(other, 0).status_code == 202
    assert printer_client.get("/api/v1/layers/").status_code == 429  # every endpoint shares the budget


def test_it_throttles_an_operator_per_user(low_rates, operator_client, django_user_model):
    assert [operator_client.get("/api/v1/machines/").status_code for _ in range(2)] == [200, 200]
    refused = operator_client.get("/api/v1/machines/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    colleague = APIClient()
    colleague.force_authenticate(django_user_model.objects.create_user("carl"))
    assert colleague.get("/api/v1/machines/").status_code == 200


def test_it_throttles_anonymous_callers_of_public_endpoints(low_rates):
    client = APIClient()
    assert [client.get("/api/schema/").status_code for _ in range(2)] == [200, 200]
    assert client.get("/api/schema/").status_code == 429


def test_it_has_generous_defaults_that_a_printer_never_meets(settings):
    from rest_framework.throttling import SimpleRateThrottle

    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    parsed = {scope: SimpleRateThrottle.parse_rate(None, rate) for scope, rate in rates.items()}
    per_second = {scope: n / seconds for scope, (n, seconds) in parsed.items()}
    assert per_second["machine"] >= 10 and per_second["operator"] >= 10  # a layer every 0.1 s


def test_it_reads_rates_from_the_environment():
    import os
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['machine'])"
    env = {**os.environ, "LAYERWATCH_THROTTLE_MACHINE": "7/hour", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout.strip().splitlines()[-1] == "7/hour", result.stderr
