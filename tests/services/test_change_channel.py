"""The change channel in scoring: each layer against the same parts' previous layers of its job."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.alerts.models import Alert, Severity
from apps.alerts.services import alert_rules_evaluate
from apps.scoring.models import LayerScore
from ml.alert_score import CHANGE, POWDER_LOST
from ml.change.keys import POWDER_LOST_SHARE
from ml.change.scoring import DEPTH, LAGS, MIN_REFERENCES
from tests.images import layer_array
from tests.services.test_layout_memory import ingest, scored

SPOTTED_FROM = 12  # past the alert rules' warm-up of 10 layers
SPOTTED_UNTIL = 16
# Lag j compares the last j layers with the ones before: until the spotted layers have left the
# last max(LAGS) layers, they still show among them.
CLEAN_AGAIN = SPOTTED_UNTIL + max(LAGS) - 1


def faint_spot(array: np.ndarray) -> np.ndarray:
    """A dark spot on bare powder, 2.5 times the grain's standard deviation."""
    spotted = array.astype(np.int16)
    spotted[96:104, 96:104] -= 20
    return np.clip(spotted, 0, 255).astype(np.uint8)


def job(
    machine, n: int = 15, spotted_from: int | None = None, spotted_until: int | None = None, *, evaluate: bool = False
) -> list[LayerScore]:
    """n layers of one part layout, each with its own grain; the spot on layers `spotted_from` up
    to `spotted_until` (or the end). With `evaluate`, layer by layer, each followed by the alert
    rules, as the workers do."""
    arrays = [layer_array(i, 128) for i in range(n)]
    if spotted_from is not None:
        spotted = slice(spotted_from, spotted_until)
        arrays[spotted] = [faint_spot(array) for array in arrays[spotted]]
    if not evaluate:
        return scored([ingest(machine, i, array) for i, array in enumerate(arrays)])
    scores = []
    for i, array in enumerate(arrays):
        (score,) = scored([ingest(machine, i, array)])
        alert_rules_evaluate(layer_id=score.layer_id)
        scores.append(score)
    return scores


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
    assert all(s.change_frame is not None and s.layout_key is not None for s in scores)
    # Every layer has grain of its own: that is no change.
    assert max(s.change_score for s in scores[MIN_REFERENCES:]) < 8.0
    assert all(s.alert_score < s.threshold for s in scores)


def test_a_faint_spot_alerts_through_the_change_channel_while_it_lasts_and_not_once_it_is_gone(watched):
    scores = job(watched, n=CLEAN_AGAIN + 2, spotted_from=SPOTTED_FROM, spotted_until=SPOTTED_UNTIL, evaluate=True)
    before, spotted = scores[:SPOTTED_FROM], scores[SPOTTED_FROM:SPOTTED_UNTIL]
    assert all(s.score < s.threshold for s in scores)  # the per-layer score alone is out of reach here
    assert all(s.alert_channel == CHANGE and s.alert_score > s.threshold for s in spotted)
    # One verdict: the layer is anomalous exactly where the alert rules see it above threshold.
    assert [s.anomalous for s in scores] == [s.alert_score > s.threshold for s in scores]
    assert all(s.alert_score < s.threshold for s in before)
    # The spotted layers are not references for the ones after them: clean powder is no change.
    assert all(s.alert_score < s.threshold for s in scores[CLEAN_AGAIN:])
    alert = Alert.objects.get()
    assert alert.severity == Severity.CRITICAL
    assert set(alert.layers.values_list("index", flat=True)) <= set(range(SPOTTED_FROM, CLEAN_AGAIN))


def test_a_layout_the_printer_states_as_new_starts_the_comparison_over(watched):
    layouts = ["parts 1-4"] * 4 + ["parts 1-5"] * 4
    scores = scored([ingest(watched, i, layer_array(i, 128), layout=layout) for i, layout in enumerate(layouts)])
    blind = {first + i for first in (0, 4) for i in range(MIN_REFERENCES)}
    assert [s.change_score is None for s in scores] == [i in blind for i in range(8)]


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


def test_a_new_layouts_first_layers_after_a_layer_over_the_threshold_are_no_references(watched):
    spotted, change, n = range(5, 10), 8, 16  # the spot runs across the layout change on layer 8
    arrays = [faint_spot(layer_array(i, 128)) if i in spotted else layer_array(i, 128) for i in range(n)]
    layouts = ["parts 1-4"] * change + ["parts 1-3"] * (n - change)
    scores = scored([ingest(watched, i, arrays[i], layout=layouts[i]) for i in range(n)])
    assert all(s.change_score > 8.0 for s in scores[spotted.start : change])
    # Layers 8 and 9 show the spot and have no score, so they are no references: 10 and 11 have none.
    new_layout = scores[change:]
    assert [s.change_score is None for s in new_layout] == [i < 2 * MIN_REFERENCES for i in range(n - change)]
    assert max(s.change_score for s in new_layout[2 * MIN_REFERENCES :]) < 8.0


def short_fed(array: np.ndarray) -> np.ndarray:
    """The far quarter of the bed without powder: darker than any powder near it was."""
    lost = array.astype(np.int16)
    lost[:, 96:] -= 40
    return np.clip(lost, 0, 255).astype(np.uint8)


def test_a_short_feed_on_a_new_layouts_first_layer_alerts_critically_at_once_through_powder_lost(
    watched, printer_client, operator_client
):
    onset = SPOTTED_FROM
    layouts = ["parts 1-4"] * onset + ["parts 5-8"]
    scores = []
    for i, layout in enumerate(layouts):
        array = short_fed(layer_array(i, 128)) if i == onset else layer_array(i, 128)
        (score,) = scored([ingest(watched, i, array, layout=layout)])
        alert_rules_evaluate(layer_id=score.layer_id)
        scores.append(score)
    fed, short = scores[:onset], scores[onset]
    assert fed[0].powder_lost is None  # nothing before it to compare with
    assert max(s.powder_lost for s in fed[1:]) < POWDER_LOST_SHARE
    # The printer states a new layout: the change channel has nothing to compare the layer with yet.
    assert short.change_score is None
    assert short.alert_channel == POWDER_LOST and short.powder_lost > 10 * POWDER_LOST_SHARE
    assert short.alert_score == pytest.approx(short.threshold * short.powder_lost / POWDER_LOST_SHARE)
    alert = Alert.objects.get()
    assert alert.severity == Severity.CRITICAL and onset in alert.layers.values_list("index", flat=True)
    # What an operator reads in the notification: where to look.
    share = f"{short.powder_lost:.0%}"
    assert alert.reason.endswith(f"; powder gone from {share} of the bed on layer {onset}, as after a short feed")
    body = printer_client.get(f"/api/v1/layers/{short.layer_id}/").json()
    assert body["alert_channel"] == POWDER_LOST and body["powder_lost"] == pytest.approx(short.powder_lost)
    page = operator_client.get(reverse("ui:layer-detail", args=[short.layer_id])).content.decode()
    assert f"powder gone from <span data-testid=\"powder-lost\">{share}</span> of the bed since" in page


def test_without_the_previous_layer_scored_first_no_powder_is_lost(watched):
    (later,) = scored([ingest(watched, 5, short_fed(layer_array(5, 128)))])
    scored([ingest(watched, 4, layer_array(4, 128))])
    assert later.powder_lost is None


def test_both_alert_channels_read_the_earlier_layers_in_one_query(watched):
    earlier = job(watched, n=DEPTH)
    assert all(s.layout_trace is not None for s in earlier)  # layout memory runs too, on the same layers
    newest = ingest(watched, DEPTH, layer_array(DEPTH, 128))
    with CaptureQueriesContext(connection) as queries:
        (score,) = scored([newest])
    # The channels read earlier layers' layout keys without their scores' ids; whole LayerScores
    # (the scoring itself, the test's own read) come with them.
    whole = f'"{LayerScore._meta.db_table}"."id"'
    reads = [q["sql"] for q in queries.captured_queries if "layout_key" in q["sql"] and whole not in q["sql"]]
    assert len([sql for sql in reads if sql.startswith("SELECT")]) == 1
    assert score.change_score is not None and score.alert_score is not None
