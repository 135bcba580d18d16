import pytest

from apps.scoring.models import LayerGroup
from tests.ui.conftest import layer_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def grouped_version(printer, install_model):
    version = install_model(printer.machine, threshold=2.0)
    for index, (threshold, source) in enumerate([(1.5, "group"), (2.0, "global")]):
        LayerGroup.objects.create(
            model_version=version, index=index, centroid=[0.0, 1.0], threshold=threshold,
            threshold_source=source, calibration_method="fpr_target" if source == "group" else "",
            n_train=400, n_holdout=120 if source == "group" else 7,
        )
    return version


def test_it_lists_the_active_versions_layer_groups(operator_client, printer, grouped_version):
    body = operator_client.get(f"/api/v1/machines/{printer.machine.slug}/groups/").json()
    assert body["model_version"] == grouped_version.version and body["threshold"] == 2.0
    assert [(g["index"], g["threshold"], g["threshold_source"], g["n_holdout"]) for g in body["groups"]] == [
        (0, 1.5, "group", 120),
        (1, 2.0, "global", 7),
    ]


def test_it_answers_404_for_groups_of_a_machine_without_an_active_model(operator_client, printer):
    assert operator_client.get(f"/api/v1/machines/{printer.machine.slug}/groups/").status_code == 404
    assert operator_client.get("/api/v1/machines/no-such-machine/groups/").status_code == 404


def test_it_keeps_layer_groups_from_printers(printer_client, printer, grouped_version):
    assert printer_client.get(f"/api/v1/machines/{printer.machine.slug}/groups/").status_code == 403


def test_it_includes_the_layer_group_in_the_layer_output(operator_client, printer, grouped_version):
    layer = layer_add(printer.machine, index=0, score=1.0, version=grouped_version)
    layer.current_score.layer_group = 1
    layer.current_score.save(update_fields=["layer_group"])
    unscored = layer_add(printer.machine, index=1)
    body = operator_client.get(f"/api/v1/layers/{layer.pk}/").json()
    assert body["layer_group"] == 1 and body["threshold"] == 2.0
    assert operator_client.get(f"/api/v1/layers/{unscored.pk}/").json()["layer_group"] is None


def test_it_documents_the_groups_endpoint_in_the_openapi_schema(client):
    text = client.get("/api/schema/").content.decode()
    assert "/api/v1/machines/{slug}/groups/" in text and "layer_group" in text
