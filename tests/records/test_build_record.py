"""The build record: its HTML page, its PDF and what it says."""

import io
import sys
from dataclasses import dataclass

import pytest
from pypdf import PdfReader

from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge, alert_resolve
from apps.layers.services import label_submit
from apps.records.rendering import record_html
from apps.records.selectors import PARTS_UNAVAILABLE, PartsSection, job_parts, record_build
from tests.records.helpers import synthetic_layer_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(machine, fake_version, operator, django_user_model):
    """Eight layers, 4 and 5 with a streak; an alert on them acknowledged by one operator and
    resolved as confirmed by another; layer 4 labeled with its kind."""
    version = fake_version(machine)
    version.sha256 = "ab" * 32
    version.calibration_method = "fpr_target"
    version.metrics = {"calibration": {"method": "fpr_target", "target_fpr": 0.01, "n_held_out": 40}, "auroc": 0.97}
    version.training_set = {"source": "labeled good", "train_layer_ids": list(range(120)),
                            "holdout_layer_ids": list(range(40)), "epochs": 8}
    version.save()
    layers = [synthetic_layer_add(machine, version, kind="streak" if i in (4, 5) else None, index=i)
              for i in range(8)]
    alert = Alert.objects.create(machine=machine, job=layers[0].job, severity="warning",
                                 reason="2 of the last 5 layers above threshold", last_layer_index=5)
    alert.layers.add(layers[4], layers[5])
    alert_acknowledge(alert=alert, user=operator)
    alert_resolve(alert=alert, user=django_user_model.objects.create_user("rosa"), outcome="confirmed")
    label_submit(layer=layers[4], value="defective", kind="streak", user=operator)
    return layers[0].job


def test_it_records_the_machine_job_model_alerts_and_labels(operator_session, job):
    page = operator_session.get(f"/jobs/{job.pk}/report/").content.decode()
    assert f"Build record: job {job.job_id}" in page and "Printer A" in page
    assert "ab" * 32 in page and "fpr_target: threshold at the target false-alarm rate" in page
    assert "target fpr 0.01" in page and "120 layers (labeled good), 40 held out, 8 epochs" in page
    assert page.count('data-testid="anomalous-layer"') == 2 and "Layer 4 · score" in page
    assert "olivia, " in page and "rosa, " in page and "Confirmed" in page  # who acknowledged, who resolved, how
    assert "(streak) by olivia" in page and page.count("alert_feedback") == 0  # sources show by name
    assert "Alert Feedback" in page
    assert '<svg class="record-timeline"' in page and page.count('r="3.5" fill="#b3261e"') == 2


def test_it_says_when_part_level_data_is_unavailable(monkeypatch, job):
    monkeypatch.setitem(sys.modules, "apps.parts.selectors", None)  # as if apps.parts were not installed
    section = job_parts(job=job)
    assert section == PartsSection(available=False, note=PARTS_UNAVAILABLE)
    assert PARTS_UNAVAILABLE in record_html(record_build(job=job, parts_selector=lambda job: section))


@dataclass(frozen=True)
class FakePartSummary:
    part_id: int
    name: str
    estimated: bool
    layers: tuple[int, int] | None
    anomalous_layers: list[int]
    anomalous_ranges: list[tuple[int, int]]
    worst_score: float | None
    largest_region_px: int
    defect_kinds: list[str]
    alert_ids: list[int]
    verdict: str
    bbox: tuple[int, int, int, int] | None


FAKE_PARTS = [
    FakePartSummary(1, "bracket", False, (0, 7), [4, 5], [(4, 5)], 1.82, 310, ["streak"], [9], "fail", (2, 2, 60, 60)),
    FakePartSummary(2, "pin", True, (0, 3), [], [], None, 0, [], [], "pass", None),
]


def test_it_renders_the_part_table_from_the_part_selector(job):
    html = record_html(record_build(job=job, parts_selector=lambda job: PartsSection(True, FAKE_PARTS)))
    assert html.count('data-testid="part-verdict"') == 2
    assert '<td class="verdict-fail" data-testid="part-verdict">fail</td>' in html
    assert "bracket <span class=\"muted\">#1</span>" in html and "#2, estimated" in html
    assert "<td>4–5</td>" in html and "310 px" in html and "#9" in html


def test_it_serves_the_record_as_pdf(operator_session, job):
    response = operator_session.get(f"/jobs/{job.pk}/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"Build record: job {job.job_id}" in text and "ab" * 32 in text.replace("\n", "")
    assert "Layer 4 · score" in text and "rosa" in text


def test_it_answers_404_for_a_job_that_does_not_exist(operator_session):
    assert operator_session.get("/jobs/999999/report/").status_code == 404
    assert operator_session.get("/jobs/999999/report.pdf").status_code == 404


def test_it_sends_a_visitor_to_log_in(client, job):
    response = client.get(f"/jobs/{job.pk}/report/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
