import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.layers.models import Label
from apps.layers.services import layer_ingest
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def layers(printer, other_printer):
    made = [
        layer_ingest(machine=printer.machine, job_id="J1", index=i, data=image_bytes(seed=i)).layer for i in range(3)
    ]
    made.append(layer_ingest(machine=other_printer.machine, job_id="J9", index=0, data=image_bytes(seed=7)).layer)
    return made


def test_it_lists_machines_with_their_active_model(operator_client, printer, install_model):
    install_model(printer.machine, threshold=42.0)
    rows = operator_client.get("/api/v1/machines/").json()["results"]
    assert rows[0]["slug"] == printer.machine.slug
    assert rows[0]["active_model"] == {"version": 1, "scorer": "seed", "threshold": 42.0}


def test_it_filters_layers_by_machine_job_status_and_label(operator_client, layers, printer):
    def ids(query):
        return sorted(r["id"] for r in operator_client.get(f"/api/v1/layers/?{query}").json()["results"])

    assert ids(f"machine={printer.machine.slug}") == sorted(lr.pk for lr in layers[:3])
    assert ids("job=J9") == [layers[3].pk]
    assert ids("status=queued") == sorted(lr.pk for lr in layers)
    operator_client.post(f"/api/v1/layers/{layers[1].pk}/label/", {"label": "defective"}, format="json")
    assert ids("label=defective") == [layers[1].pk]
    assert len(ids("label=none")) == 3
    assert operator_client.get("/api/v1/layers/?status=bogus").status_code == 400


def test_it_lists_jobs_of_a_machine(operator_client, layers, printer):
    rows = operator_client.get(f"/api/v1/jobs/?machine={printer.machine.slug}").json()["results"]
    assert [(r["job_id"], r["layer_count"]) for r in rows] == [("J1", 3)]


def test_it_records_labels_append_only_with_the_latest_counting(operator_client, layers, operator):
    url = f"/api/v1/layers/{layers[0].pk}/label/"
    assert operator_client.post(url, {"label": "good"}, format="json").status_code == 201
    response = operator_client.post(url, {"label": "defective"}, format="json")
    assert response.status_code == 201 and response.json()["user"] == "olivia"
    assert list(Label.objects.filter(layer=layers[0]).values_list("value", flat=True)) == ["defective", "good"]
    assert operator_client.get(f"/api/v1/layers/{layers[0].pk}/").json()["label"] == "defective"


def test_it_rejects_an_unknown_label_with_400(operator_client, layers):
    response = operator_client.post(f"/api/v1/layers/{layers[0].pk}/label/", {"label": "meh"}, format="json")
    assert response.status_code == 400 and "label" in response.json()


def test_it_answers_404_for_labeling_a_missing_layer(operator_client):
    assert operator_client.post("/api/v1/layers/999999/label/", {"label": "good"}, format="json").status_code == 404


def test_it_accepts_a_users_api_token(operator, layers):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=operator).key}")
    assert client.get("/api/v1/layers/").status_code == 200


def test_it_serves_the_openapi_schema_with_the_printer_endpoints(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    paths = ["/api/v1/layers/", "/api/v1/layers/{layer_id}/", "/api/v1/layers/{layer_id}/label/", "/api/v1/machines/"]
    for path in paths:
        assert path in text


def test_it_serves_the_api_docs_page_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200 and b"cdn" not in response.content.lower()
