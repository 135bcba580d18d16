import pytest

from apps.layers.services import layer_ingest
from apps.scoring.services import layers_score
from tests.images import image_bytes

pytestmark = pytest.mark.django_db

REGION_KEYS = {"box", "box_fraction", "area", "area_fraction", "peak"}


def test_it_shows_the_heatmap_regions_of_a_scored_layer(operator_client, printer, install_model):
    install_model(printer.machine, threshold=1.0)  # far below the seed's scores: regions for sure
    layer = layer_ingest(machine=printer.machine, job_id="J", index=0, data=image_bytes(), enqueue=False).layer
    layers_score(layer_ids=[layer.pk])
    body = operator_client.get(f"/api/v1/layers/{layer.pk}/").json()
    assert body["anomalous"] is True and body["threshold"] == 1.0
    assert body["regions"] and set(body["regions"][0]) == REGION_KEYS
    assert set(body["regions"][0]["box_fraction"]) == {"x", "y", "width", "height"}
    assert 0 < body["regions"][0]["area_fraction"] <= 1 and body["regions"][0]["peak"] >= 1.0


def test_it_shows_no_regions_for_a_layer_not_scored_yet(printer_client, printer):
    layer = layer_ingest(machine=printer.machine, job_id="J", index=0, data=image_bytes(), enqueue=False).layer
    body = printer_client.get(f"/api/v1/layers/{layer.pk}/").json()
    assert body["status"] == "queued" and body["regions"] == [] and body["score"] is None
