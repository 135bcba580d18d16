"""The alert score: a layer's score less what its part layout showed on the job's layers before."""

import numpy as np
import pytest
from django.urls import reverse

from apps.alerts.models import Alert, Severity
from apps.alerts.services import alert_rules_evaluate
from apps.layers.services import layer_ingest
from apps.scoring.models import LayerScore
from apps.scoring.services import layers_score
from ml.layout_memory.scoring import MEMORY_DEPTH, MEMORY_LEARN_LIMIT
from ml.synthetic import generate_job
from tests.images import image_bytes, layer_array


def ingest(machine, index, array, job="J", layout=""):
    return layer_ingest(
        machine=machine, job_id=job, index=index, data=image_bytes(array), layout=layout, enqueue=False
    ).layer


def with_spot(array: np.ndarray) -> np.ndarray:
    spotted = array.astype(np.int16)
    spotted[100:104, 100:104] += 90  # on bare powder, away from the part
    return np.clip(spotted, 0, 255).astype(np.uint8)


def scored(layers) -> list[LayerScore]:
    layers_score(layer_ids=[layer.pk for layer in layers])
    return [LayerScore.objects.get(layer=layer) for layer in layers]


def test_the_first_layer_of_a_job_is_judged_by_its_own_score(printer, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    (score,) = scored([ingest(printer.machine, 0, layer_array(1, 128))])
    assert score.alert_score == score.score


def test_what_the_layer_before_showed_no_longer_counts(printer, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    same = layer_array(1, 128)
    first, second = scored([ingest(printer.machine, 0, same), ingest(printer.machine, 1, same)])
    assert second.score == first.score > 0
    assert second.alert_score < 0.01 * second.score


def test_a_spot_new_on_this_layer_still_counts(printer, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    clean = layer_array(1, 128)
    _, spotted = scored([ingest(printer.machine, 0, clean), ingest(printer.machine, 1, with_spot(clean))])
    # Less only what the layer before showed around it (its grain's hottest pixels nearby).
    assert spotted.alert_score > 0.5 * spotted.score


def test_it_compares_only_with_the_layer_just_before(printer, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    same = layer_array(1, 128)
    _, third = scored([ingest(printer.machine, 0, same), ingest(printer.machine, 2, same)])
    assert third.alert_score == third.score  # layer 1 is missing: nothing to compare with


def test_a_layout_the_printer_states_as_new_is_judged_by_its_own_score(printer, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    same = layer_array(1, 128)
    layers = [ingest(printer.machine, i, same, layout=layout) for i, layout in enumerate(["A", "A", "B"])]
    _, second, third = scored(layers)
    assert second.alert_score < 0.01 * second.score
    assert third.alert_score == third.score


def test_where_a_part_finished_while_the_others_went_on_the_memory_of_them_holds(printer, install_model):
    finish = 22  # seed 201's first part is done here, and the layout embedding breaks
    job = generate_job(seed=201, n_layers=finish + 1, machine_seed=1, parts_finish_early=True)
    version = install_model(printer.machine, scorer="local", threshold=1000.0)

    def finished(job_id: str) -> LayerScore:
        layers = [ingest(printer.machine, i, job[i].image, job=job_id) for i in range(finish - 4, finish + 1)]
        return scored(layers)[-1]

    # Without the change channel's layout keys, the layer after the finish starts a new layout.
    alone = finished("without change channel")
    assert alone.alert_score == alone.score
    version.change_threshold = 8.0
    version.save(update_fields=["change_threshold"])
    kept = finished("with change channel")
    assert kept.change_score is None  # for the change channel the bare powder is a new layout
    # Less what the remaining parts showed before; the fresh grain's hot pixels still count.
    assert kept.alert_score < 0.75 * kept.score


def test_it_compares_only_layers_of_the_same_job(printer, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    same = layer_array(1, 128)
    _, other = scored([ingest(printer.machine, 0, same, job="A"), ingest(printer.machine, 1, same, job="B")])
    assert other.alert_score == other.score


def test_a_scorer_whose_score_is_not_a_heatmap_statistic_has_no_layout_memory(printer, install_model):
    install_model(printer.machine, scorer="seed")
    same = layer_array(1, 128)
    _, second = scored([ingest(printer.machine, 0, same), ingest(printer.machine, 1, same)])
    assert second.alert_score is None and second.layout_trace is None


def test_it_keeps_only_the_traces_later_layers_still_compare_with(printer, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    layers = [ingest(printer.machine, i, layer_array(i, 128)) for i in range(3 * MEMORY_DEPTH)]
    scored(layers)
    kept = LayerScore.objects.filter(layout_trace__isnull=False).values_list("layer__index", flat=True)
    newest = 3 * MEMORY_DEPTH - 1
    assert sorted(kept) == list(range(newest - 2 * MEMORY_DEPTH, newest + 1))


def test_a_part_the_model_never_learned_does_not_raise_a_critical_alert_on_every_layer(printer, install_model):
    # Every layer shows the same spot, as a part of a new layout would: anomalous layer by layer,
    # but no longer new after the layout's first layer.
    version = install_model(printer.machine, scorer="local", threshold=1.0)
    array = with_spot(layer_array(1, 128))
    (probe,) = scored([ingest(printer.machine, 0, array, job="probe")])
    version.threshold = probe.score / 2  # every layer scores twice the threshold
    version.save(update_fields=["threshold"])
    layers = [ingest(printer.machine, i, array) for i in range(20)]
    scores = scored(layers)
    assert all(s.score > s.threshold for s in scores)
    # One verdict: the layers after the layout's first are judged by what layout memory leaves.
    assert [s.anomalous for s in scores] == [(s.alert_score or s.score) > s.threshold for s in scores]
    for layer in layers:
        alert_rules_evaluate(layer_id=layer.pk)
    assert not Alert.objects.filter(severity=Severity.CRITICAL).exists()


def test_the_api_returns_the_alert_score_beside_the_score(printer, printer_client, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    same = layer_array(1, 128)
    _, second = scored([ingest(printer.machine, 0, same), ingest(printer.machine, 1, same)])
    body = printer_client.get(f"/api/v1/layers/{second.layer_id}/").json()
    assert body["score"] == pytest.approx(second.score)
    assert body["alert_score"] == pytest.approx(second.alert_score) and body["alert_score"] < body["score"]


def test_layer_detail_says_what_the_alerts_judge_where_it_is_below_the_score(printer, operator_client, install_model):
    install_model(printer.machine, scorer="local", threshold=50.0)
    same = layer_array(1, 128)
    first, second = scored([ingest(printer.machine, 0, same), ingest(printer.machine, 1, same)])

    def page(score):
        return operator_client.get(reverse("ui:layer-detail", args=[score.layer_id])).content.decode()

    assert 'data-testid="alert-score"' not in page(first)
    assert 'data-testid="alert-score"' in page(second)


def test_a_layer_far_over_its_threshold_teaches_the_memory_nothing(printer, install_model):
    version = install_model(printer.machine, scorer="local", threshold=50.0)
    clean = layer_array(1, 128)
    probe_clean, probe_spotted = scored(
        [ingest(printer.machine, 0, clean, job="probe"), ingest(printer.machine, 1, with_spot(clean), job="probe")]
    )
    assert probe_spotted.score > 1.1 * probe_clean.score
    # Midway: the spotted layers score over the learning limit, the clean one does not.
    version.threshold = (probe_clean.score + probe_spotted.score) / (2 * MEMORY_LEARN_LIMIT)
    version.save(update_fields=["threshold"])

    first, second, third = scored(
        [ingest(printer.machine, i, array) for i, array in enumerate([clean, with_spot(clean), with_spot(clean)])]
    )
    assert first.layout_trace is not None and second.layout_trace is None
    # The spot persists, and since its first layer left no trace it counts in full again.
    assert third.alert_score == third.score
