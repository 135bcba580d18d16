"""A defective label may say what the defect is."""

import pytest

from apps.layers.models import Label
from apps.layers.services import layer_ingest
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def layer(printer):
    return layer_ingest(machine=printer.machine, job_id="J", index=0, data=image_bytes(), enqueue=False).layer


def test_it_stores_the_kind_of_a_defective_label(operator_client, layer):
    response = operator_client.post(f"/api/v1/layers/{layer.pk}/label/", {"label": "defective", "kind": "spatter"},
                                    format="json")
    assert response.status_code == 201
    assert response.json()["kind"] == "spatter"
    assert Label.objects.get(layer=layer).kind == "spatter"


def test_it_keeps_a_label_without_kind_as_before(operator_client, layer):
    response = operator_client.post(f"/api/v1/layers/{layer.pk}/label/", {"label": "good"}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == ""


def test_it_rejects_an_unknown_kind_and_stores_nothing(operator_client, layer):
    response = operator_client.post(f"/api/v1/layers/{layer.pk}/label/", {"label": "defective", "kind": "crack"},
                                    format="json")
    assert response.status_code == 400 and "kind" in response.json()
    assert not Label.objects.filter(layer=layer).exists()


def test_it_rejects_a_kind_on_a_good_label(operator_client, layer):
    response = operator_client.post(f"/api/v1/layers/{layer.pk}/label/", {"label": "good", "kind": "pit"},
                                    format="json")
    assert response.status_code == 400
    assert response.json()["kind"] == ["Only a defective label takes a defect kind."]
    assert not Label.objects.filter(layer=layer).exists()


def test_it_offers_the_kinds_on_the_layer_page(client, operator, layer):
    client.login(username="olivia", password="shift-password")
    page = client.get(f"/layers/{layer.pk}/").content.decode()
    assert 'data-testid="defect-kind"' in page and '<option value="short_feed">short feed</option>' in page
