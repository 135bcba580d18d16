"""Likely defect kinds of new regions, from a machine's labeled regions."""

import pytest

from apps.alerts.models import Alert
from apps.alerts.services import alert_rules_evaluate
from apps.layers.models import Layer
from apps.layers.services import label_submit
from apps.records.models import KindModel, RegionKind
from apps.records.services import kind_model_refresh, machine_kind_classifier, score_regions_describe
from tests.records.helpers import synthetic_layer_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(machine, fake_version):
    return fake_version(machine)


def _label(machine, version, kind: str, first: int, n: int, operator) -> None:
    for i in range(first, first + n):
        layer = synthetic_layer_add(machine, version, kind=kind, index=i, job="labeled")
        label_submit(layer=layer, value="defective", kind=kind, user=operator)


@pytest.fixture
def trained(machine, version, operator):
    """Six labeled streaks and six labeled short feeds."""
    _label(machine, version, "streak", 0, 6, operator)
    _label(machine, version, "short_feed", 6, 6, operator)


def test_it_names_the_likely_kind_of_a_new_region(machine, version, trained):
    layer = synthetic_layer_add(machine, version, kind="short_feed", index=0, job="new", sample=900)
    rows = score_regions_describe(score=layer.current_score)
    assert rows[0].kind == "short_feed" and 0.5 < rows[0].probability <= 1
    assert rows[0].likely == f"likely short feed, {rows[0].probability:.2f}"
    assert KindModel.objects.get(machine=machine).counts == {"streak": 6, "short_feed": 6}


def test_it_names_no_kind_with_too_few_labeled_regions(machine, version, operator, settings):
    settings.LAYERWATCH_KIND_MIN_REGIONS = 5
    _label(machine, version, "streak", 0, 5, operator)
    _label(machine, version, "pit", 5, 4, operator)  # one short of the five a kind needs
    layer = synthetic_layer_add(machine, version, kind="streak", index=0, job="new", sample=901)
    rows = score_regions_describe(score=layer.current_score)
    assert rows and all(row.kind == "" and len(row.features) == 13 for row in rows)
    assert not KindModel.objects.exists()


def test_it_fits_again_when_a_label_changes(machine, version, trained, operator):
    first = kind_model_refresh(machine=machine)
    assert kind_model_refresh(machine=machine).fitted_at == first.fitted_at  # nothing new: kept
    extra = synthetic_layer_add(machine, version, kind="pit", index=99, job="labeled")
    label_submit(layer=extra, value="defective", kind="streak", user=operator)
    assert kind_model_refresh(machine=machine).counts == {"streak": 7, "short_feed": 6}


def test_it_describes_each_region_once(machine, version, trained):
    layer = synthetic_layer_add(machine, version, kind="streak", index=0, job="new", sample=902)
    first = score_regions_describe(score=layer.current_score)
    again = score_regions_describe(score=layer.current_score)
    assert [row.pk for row in again] == [row.pk for row in first]
    assert RegionKind.objects.filter(score=layer.current_score).count() == len(layer.current_score.regions)


def test_it_puts_the_likely_kind_in_the_alert_message(machine, version, trained):
    from apps.alerts.models import AlertRule

    AlertRule.objects.create(machine=machine, warmup_layers=0, window_layers=3, k_warning=2, k_critical=3)
    for i in range(3):
        layer = synthetic_layer_add(machine, version, kind="short_feed", index=i, job="alerting", sample=910 + i)
    alert = alert_rules_evaluate(layer_id=layer.pk)
    assert isinstance(alert, Alert)
    assert "; likely short feed, 0." in alert.reason and "(layer " in alert.reason


def test_it_shows_the_likely_kind_on_the_layer_page(client, operator, machine, version, trained):
    layer = synthetic_layer_add(machine, version, kind="streak", index=0, job="new", sample=903)
    client.login(username="olivia", password="shift-password")
    page = client.get(f"/layers/{layer.pk}/").content.decode()
    assert 'data-testid="region-kind">likely streak, 0.' in page


def test_it_keeps_the_layer_page_when_the_heatmap_file_is_gone(client, operator, machine, version, trained):
    layer = synthetic_layer_add(machine, version, kind="streak", index=0, job="new", sample=904)
    layer.current_score.heatmap.delete(save=False)
    client.login(username="olivia", password="shift-password")
    response = client.get(f"/layers/{layer.pk}/")
    assert response.status_code == 200 and b"region-kind" not in response.content


def test_it_reads_no_region_for_an_alert_where_the_machine_has_no_classifier(machine, version):
    from apps.records.services import job_layers_likely_kind

    layer = synthetic_layer_add(machine, version, kind="streak", index=0, job="plain", sample=905)
    assert job_layers_likely_kind(job_id=layer.job_id, indexes=[0]) == ""
    assert not RegionKind.objects.exists()


def test_it_fits_again_when_a_labeled_layer_is_relabeled_good(machine, version, trained, operator):
    assert kind_model_refresh(machine=machine).counts == {"streak": 6, "short_feed": 6}
    relabeled = Layer.objects.get(job__job_id="labeled", index=0)
    label_submit(layer=relabeled, value="good", user=operator)
    assert kind_model_refresh(machine=machine).counts == {"streak": 5, "short_feed": 6}


def test_it_parses_a_machines_classifier_once_per_fit(machine, version, trained, operator):
    _, first = machine_kind_classifier(machine=machine)
    assert machine_kind_classifier(machine=machine)[1] is first
    extra = synthetic_layer_add(machine, version, kind="streak", index=98, job="labeled")
    label_submit(layer=extra, value="defective", kind="streak", user=operator)
    assert machine_kind_classifier(machine=machine)[1] is not first


def _layer_api(client, layer) -> dict:
    client.login(username="olivia", password="shift-password")
    response = client.get(f"/api/v1/layers/{layer.pk}/")
    assert response.status_code == 200
    return response.json()


def test_it_gives_each_region_its_likely_kind_in_the_layer_api(client, operator, machine, version, trained):
    layer = synthetic_layer_add(machine, version, kind="short_feed", index=0, job="new", sample=906)
    regions = _layer_api(client, layer)["regions"]
    row = RegionKind.objects.get(score=layer.current_score, region=0)
    assert regions[0]["likely_kind"] == "short_feed" == row.kind
    assert regions[0]["likely_kind_probability"] == pytest.approx(row.probability)
    assert regions[0]["part_id"] == 0 and regions[0]["part_ids"] == []  # no part labels: the powder


def test_it_gives_no_likely_kind_in_the_layer_api_without_a_classifier(client, operator, machine, version):
    layer = synthetic_layer_add(machine, version, kind="streak", index=0, job="plain", sample=907)
    regions = _layer_api(client, layer)["regions"]
    assert regions and all(r["likely_kind"] is None and r["likely_kind_probability"] is None for r in regions)
    assert not RegionKind.objects.exists()  # nothing to name: the heatmap was not read


def test_it_keeps_the_layer_api_when_the_heatmap_file_is_gone(client, operator, machine, version, trained):
    layer = synthetic_layer_add(machine, version, kind="streak", index=0, job="new", sample=908)
    layer.current_score.heatmap.delete(save=False)
    regions = _layer_api(client, layer)["regions"]
    assert len(regions) == len(layer.current_score.regions)
    assert all(r["likely_kind"] is None for r in regions)
