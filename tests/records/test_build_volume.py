"""The build volume's data: anomaly density by layer across x and y, regions and part outlines."""

import pytest

from apps.records.selectors import PartsSection
from apps.records.volume import BINS, job_volume
from tests.records.test_build_record import FAKE_PARTS, job  # noqa: F401  (fixture)
from tests.ui.conftest import layer_add

pytestmark = pytest.mark.django_db


def test_it_puts_the_anomalies_at_their_layers_and_place(operator_client, job):  # noqa: F811
    data = operator_client.get(f"/api/v1/jobs/{job.pk}/volume/").json()
    assert data["rows"] == list(range(8)) and data["bins"] == BINS
    assert {p["layer"] for p in data["points"]} == {4, 5}
    density = [sum(row) for row in data["x_layer"]]
    assert density[4] > 0 and density[5] > 0 and sum(density) == density[4] + density[5]
    # A click on a row opens that layer.
    layers = {layer.index: layer.pk for layer in job.layers.all()}
    assert data["targets"] == [layers[i] for i in range(8)]


def test_it_outlines_the_parts_in_image_shares(job):  # noqa: F811
    data = job_volume(job=job, parts_selector=lambda job: PartsSection(True, FAKE_PARTS))
    # The bracket's box (2, 2, 60, 60) on 256 px layers; the pin has no box and is not drawn.
    assert data["parts"] == [{"id": 1, "name": "bracket", "verdict": "fail", "estimated": False,
                              "x": [2 / 256, 60 / 256], "y": [2 / 256, 60 / 256], "layers": [0, 7]}]


def test_it_buckets_a_long_job_and_opens_each_buckets_strongest_layer(machine, fake_version, monkeypatch):
    monkeypatch.setattr("apps.records.volume.MAX_ROWS", 4)
    version = fake_version(machine)
    layers = [layer_add(machine, job="long", index=i, score=0.5 + (i == 5), version=version) for i in range(8)]
    data = job_volume(job=layers[0].job)
    assert data["rows"] == [0, 2, 4, 6] and data["layers_per_row"] == 2
    assert data["targets"] == [layers[0].pk, layers[2].pk, layers[5].pk, layers[6].pk]


def test_it_answers_an_empty_volume_for_a_job_without_layers(operator_client, machine):
    from apps.layers.models import PrintJob

    job = PrintJob.objects.create(machine=machine, job_id="empty")  # noqa: F811
    data = operator_client.get(f"/api/v1/jobs/{job.pk}/volume/").json()
    assert data["rows"] == [] and data["points"] == []


def test_it_refuses_printers(printer_client, job):  # noqa: F811
    assert printer_client.get(f"/api/v1/jobs/{job.pk}/volume/").status_code == 403
