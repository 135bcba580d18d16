import pytest
from rest_framework.test import APIClient

from apps.layers.services import layer_ingest
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign_layer(other_printer):
    return layer_ingest(machine=other_printer.machine, job_id="J", index=0, data=image_bytes(seed=2)).layer


@pytest.fixture
def own_layer(printer):
    return layer_ingest(machine=printer.machine, job_id="J", index=0, data=image_bytes(seed=1)).layer


def test_it_shows_a_printer_its_own_layer(printer_client, own_layer):
    body = printer_client.get(f"/api/v1/layers/{own_layer.pk}/").json()
    assert body["id"] == own_layer.pk and body["status"] == "queued"
    expected = {"id", "machine", "job", "layer", "status", "score", "threshold", "anomalous", "model_version",
                "scorer", "image_url", "heatmap_url", "scored_at", "error"}
    assert expected <= set(body)
    assert body["score"] is None and body["heatmap_url"] is None


@pytest.mark.parametrize("suffix", ["", "image/", "heatmap/", "reconstruction/"])
def test_it_hides_another_machines_layer_from_a_printer(printer_client, foreign_layer, suffix):
    assert printer_client.get(f"/api/v1/layers/{foreign_layer.pk}/{suffix}").status_code == 404


def test_it_lists_only_the_printers_own_layers(printer_client, own_layer, foreign_layer):
    ids = [row["id"] for row in printer_client.get("/api/v1/layers/").json()["results"]]
    assert ids == [own_layer.pk]


def test_it_serves_the_stored_image_bytes(printer_client, own_layer):
    response = printer_client.get(f"/api/v1/layers/{own_layer.pk}/image/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == image_bytes(seed=1)


def test_it_does_not_let_a_printer_label_layers(printer_client, own_layer):
    response = printer_client.post(f"/api/v1/layers/{own_layer.pk}/label/", {"label": "good"}, format="json")
    assert response.status_code == 403


def test_it_refuses_operator_endpoints_to_printers(printer_client):
    assert printer_client.get("/api/v1/machines/").status_code == 403
    assert printer_client.get("/api/v1/jobs/").status_code == 403


def test_it_refuses_anonymous_reads():
    client = APIClient()
    assert client.get("/api/v1/machines/").status_code in (401, 403)
    assert client.get("/api/v1/layers/").status_code == 401
