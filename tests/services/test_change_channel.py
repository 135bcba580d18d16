"""The change channel in scoring: each layer against the same parts' previous layers of its job."""

import numpy as np
import pytest
from django.urls import reverse

from apps.alerts.models import Alert, Severity
from apps.alerts.services import alert_rules_evaluate
from apps.scoring.models import LayerScore
from ml.alert_score import CHANGE
from ml.change import DEPTH, MIN_REFERENCES
from tests.images import layer_array
from tests.services.test_layout_memory import ingest, scored

SPOTTED_FROM = 12  # past the alert rules' warm-up of 10 layers


def faint_spot(array: np.ndarray) -> np.ndarray:
    """A dark spot on bare powder, 2.5 times the grain's standard deviation."""
    spotted = array.astype(np.int16)
    spotted[96:104, 96:104] -= 20
    return np.clip(spotted, 0, 255).astype(np.uint8)


def job(machine, n: int = 15, spotted_from: int | None = None) -> list[LayerScore]:
    """n layers of one part layout, each with its own grain; from `spotted_from` on with the spot."""
    arrays = [layer_array(i, 128) for i in range(n)]
    if spotted_from is not None:
        arrays[spotted_from:] = [faint_spot(array) for array in arrays[spotted_from:]]
    return scored([ingest(machine, i, array) for i, array in enumerate(arrays)])


@pytest.fixture
def watched(printer, install_model):
    """A machine whose model has a change threshold, and a per-layer threshold no layer here reaches."""
    version = install_model(printer.machine, scorer="local", threshold=1000.0)
    version.change_threshold = 8.0
    version.save(update_fields=["change_threshold"])
    return printer.machine


def test_it_scores_change_once_the_layout_has_enough_previous_layers_and_new_grain_is_no_change(watched):
    scores = job(watched)
    assert [s.change_score is None for s in scores] == [i < MIN_REFERENCES for i in range(len(scores))]
    assert all(s.change_frame is not None and s.parts_signature is not None for s in scores)
    # Every layer has grain of its own: that is no change.
    assert max(s.change_score for s in scores[MIN_REFERENCES:]) < 8.0
    assert all(s.alert_score < s.threshold for s in scores)


def test_a_faint_spot_that_appears_and_stays_alerts_through_the_change_channel(watched):
    scores = job(watched, spotted_from=SPOTTED_FROM)
    before, spotted = scores[:SPOTTED_FROM], scores[SPOTTED_FROM:]
    assert all(not s.anomalous for s in scores)  # the per-layer threshold is out of reach here
    assert all(s.alert_channel == CHANGE and s.alert_score > s.threshold for s in spotted)
    assert all(s.alert_score < s.threshold for s in before)
    for score in scores:
        alert_rules_evaluate(layer_id=score.layer_id)
    alert = Alert.objects.get()
    assert alert.severity == Severity.CRITICAL
    assert set(alert.layers.values_list("index", flat=True)) <= set(range(SPOTTED_FROM, len(scores)))


def test_without_a_change_threshold_the_channel_is_off(printer, install_model):
    install_model(printer.machine, scorer="local", threshold=1000.0)
    scores = job(printer.machine, spotted_from=SPOTTED_FROM)
    assert all(s.change_score is None and s.change_frame is None for s in scores)
    assert all(s.alert_channel != CHANGE and s.alert_score < s.threshold for s in scores)


def test_a_seed_model_alerts_through_the_change_channel_too(printer, install_model):
    version = install_model(printer.machine, scorer="seed", threshold=1e6)
    version.change_threshold = 8.0
    version.save(update_fields=["change_threshold"])
    scores = job(printer.machine, spotted_from=SPOTTED_FROM)
    assert scores[0].alert_score is None  # no channel but the score yet
    assert all(s.alert_channel == CHANGE for s in scores[SPOTTED_FROM:])


def test_it_keeps_only_the_frames_later_layers_still_compare_with(watched):
    n = 3 * DEPTH
    job(watched, n=n)
    kept = LayerScore.objects.filter(change_frame__isnull=False).values_list("layer__index", flat=True)
    assert sorted(kept) == list(range(n - 1 - 2 * DEPTH, n))


def test_the_api_and_layer_detail_show_the_change_channel(watched, printer_client, operator_client):
    spotted = job(watched, spotted_from=SPOTTED_FROM)[-1]
    body = printer_client.get(f"/api/v1/layers/{spotted.layer_id}/").json()
    assert body["alert_channel"] == CHANGE and body["change_score"] == pytest.approx(spotted.change_score)
    page = operator_client.get(reverse("ui:layer-detail", args=[spotted.layer_id])).content.decode()
    assert "a change since the job's previous layers of the same part layout" in page
