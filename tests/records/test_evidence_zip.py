"""The evidence zip: every file it holds is listed in manifest.json with the SHA-256 it has."""

import hashlib
import io
import json
import zipfile

import pytest

from tests.records.test_build_record import job  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _zip(client, job, query: str = "") -> zipfile.ZipFile:  # noqa: F811
    response = client.get(f"/api/v1/jobs/{job.pk}/evidence.zip{query}")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_it_matches_every_file_to_its_manifest_hash(operator_client, job):  # noqa: F811
    archive = _zip(operator_client, job)
    manifest = json.loads(archive.read("manifest.json"))
    listed = {row["path"]: row["sha256"] for row in manifest["files"]}
    assert set(listed) == set(archive.namelist()) - {"manifest.json"}
    for path, sha256 in listed.items():
        assert hashlib.sha256(archive.read(path)).hexdigest() == sha256, path


def test_it_holds_the_record_and_the_evidence_layers(operator_client, job):  # noqa: F811
    names = set(_zip(operator_client, job).namelist())
    assert {"record.html", "record.pdf", "record.json", "manifest.json"} <= names
    # Layers 4 and 5 are anomalous, alerted and labeled; the six good ones are not evidence.
    assert {n for n in names if n.startswith("images/")} == {"images/layer-000004.png", "images/layer-000005.png"}
    assert {n for n in names if n.startswith("heatmaps/")} == {"heatmaps/layer-000004.png", "heatmaps/layer-000005.png"}


def test_it_points_the_html_record_at_the_files_beside_it(operator_client, job):  # noqa: F811
    archive = _zip(operator_client, job)
    html = archive.read("record.html").decode()
    assert 'src="images/layer-000004.png"' in html and 'src="heatmaps/layer-000005.png"' in html
    assert archive.read("record.pdf").startswith(b"%PDF-")
    record = json.loads(archive.read("record.json"))
    assert [row["layer"] for row in record["anomalous_layers"]] == [4, 5]
    assert record["alerts"][0]["resolved_by"] == "rosa" and record["alerts"][0]["outcome"] == "confirmed"


def test_it_adds_every_layer_on_request(operator_client, job):  # noqa: F811
    names = _zip(operator_client, job, "?layers=all").namelist()
    assert len([n for n in names if n.startswith("images/")]) == 8


def test_it_rejects_an_unknown_layer_choice(operator_client, job):  # noqa: F811
    response = operator_client.get(f"/api/v1/jobs/{job.pk}/evidence.zip?layers=some")
    assert response.status_code == 400 and response.json() == {"layers": ['Use "evidence" or "all".']}


def test_it_refuses_printers_and_unknown_jobs(printer_client, operator_client, job):  # noqa: F811
    assert printer_client.get(f"/api/v1/jobs/{job.pk}/evidence.zip").status_code == 403
    assert operator_client.get("/api/v1/jobs/999999/evidence.zip").status_code == 404


def test_it_still_gives_the_record_when_a_heatmap_file_is_gone(operator_session, operator_client, job):  # noqa: F811
    layer = job.layers.get(index=4)
    layer.current_score.heatmap.delete(save=False)  # the row still names the file
    assert operator_session.get(f"/jobs/{job.pk}/report/").status_code == 200
    assert operator_session.get(f"/jobs/{job.pk}/report.pdf").status_code == 200
    archive = _zip(operator_client, job)
    names = set(archive.namelist())
    assert "heatmaps/layer-000004.png" not in names and "heatmaps/layer-000005.png" in names
    listed = {row["path"] for row in json.loads(archive.read("manifest.json"))["files"]}
    assert listed == names - {"manifest.json"}
