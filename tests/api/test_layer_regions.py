import pytest

from apps.layers.services import layer_ingest
from apps.scoring.services import layers_score
from tests.images import image_bytes

pytestmark = pytest.mark.django_db

REGION_KEYS = {"box", "box_image", "box_fraction", "area", "area_fraction", "peak"}
# One layer's regions also say which parts they count against and what they likely are.
DETAIL_KEYS = REGION_KEYS | {"part_id", "part_ids", "part_damage", "likely_kind", "likely_kind_probability"}


def test_it_shows_the_heatmap_regions_of_a_scored_layer(operator_client, printer, install_model):
    install_model(printer.machine, threshold=1.0)  # far below the seed's scores: regions for sure
    layer = layer_ingest(machine=printer.machine, job_id="J", index=0, data=image_bytes(), enqueue=False).layer
    layers_score(layer_ids=[layer.pk])
    body = operator_client.get(f"/api/v1/layers/{layer.pk}/").json()
    assert body["anomalous"] is True and body["threshold"] == 1.0
    assert body["regions"] and set(body["regions"][0]) == DETAIL_KEYS
    assert set(body["regions"][0]["box_fraction"]) == {"x", "y", "width", "height"}
    assert 0 < body["regions"][0]["area_fraction"] <= 1 and body["regions"][0]["peak"] >= 1.0
    (listed,) = operator_client.get("/api/v1/layers/", {"job": "J"}).json()["results"]
    assert set(listed["regions"][0]) == REGION_KEYS  # a list leaves the reading of parts and kinds out


def test_it_shows_no_regions_for_a_layer_not_scored_yet(printer_client, printer):
    layer = layer_ingest(machine=printer.machine, job_id="J", index=0, data=image_bytes(), enqueue=False).layer
    body = printer_client.get(f"/api/v1/layers/{layer.pk}/").json()
    assert body["status"] == "queued" and body["regions"] == [] and body["score"] is None
