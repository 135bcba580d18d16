"""One verdict whatever the load: a layer's threshold follows the layers that arrived before it."""

import pytest

from apps.layers.models import LabelValue, Layer
from apps.layers.services import layer_ingest
from apps.scoring.models import LayerScore
from apps.scoring.services import layers_score
from ml.drift import DriftCalibration
from tests.images import image_bytes

pytestmark = pytest.mark.django_db
N = 10


def watched(machine, install_model):
    """A seed version whose threshold follows drift after 3 layers, set far below every score."""
    version = install_model(machine, threshold=1.0)
    version.metrics = {"drift": {**DriftCalibration(median=0.5).as_dict(), "min_history": 3}}
    version.save(update_fields=["metrics"])
    return version


def ingest_job(machine) -> list[Layer]:
    return [layer_ingest(machine=machine, job_id="J", index=i, data=image_bytes(seed=i), enqueue=False).layer
            for i in range(N)]


def judged(layers) -> list[tuple[float, float, bool]]:
    rows = {s.layer_id: s for s in LayerScore.objects.filter(layer__in=layers)}
    return [(rows[lr.pk].score, rows[lr.pk].threshold, rows[lr.pk].anomalous) for lr in layers]


def test_it_judges_a_backlog_scored_at_once_as_it_judges_layers_scored_one_by_one(printer, other_printer,
                                                                                install_model):
    watched(printer.machine, install_model)
    watched(other_printer.machine, install_model)
    idle, behind = ingest_job(printer.machine), ingest_job(other_printer.machine)
    for layer in idle:
        layers_score(layer_ids=[layer.pk])
    # A worker that fell behind: the last layer's task comes first and its earlier layers are queued.
    layers_score(layer_ids=[behind[-1].pk])
    assert all(lr.status == Layer.Status.SCORED for lr in Layer.objects.filter(pk__in=[b.pk for b in behind]))
    # A model call on a batch rounds differently from one on a single image, in the 7th digit.
    assert [a for *_, a in judged(idle)] == [a for *_, a in judged(behind)]
    values = [[value for s, t, _ in judged(layers) for value in (s, t)] for layers in (idle, behind)]
    assert values[0] == pytest.approx(values[1], rel=1e-5)


def test_it_follows_the_machines_recent_layers_once_it_has_seen_enough(printer, install_model):
    watched(printer.machine, install_model)
    layers = ingest_job(printer.machine)
    layers_score(layer_ids=[lr.pk for lr in layers])
    rows = judged(layers)
    assert all(threshold == 1.0 and anomalous for _, threshold, anomalous in rows[:3])
    # Every layer scores far above the trained threshold of 1.0: followed, they are judged normal.
    assert all(threshold > 1.0 and not anomalous for _, threshold, anomalous in rows[3:])


def test_it_leaves_layers_labeled_defective_out_of_what_the_threshold_follows(printer, install_model):
    version = watched(printer.machine, install_model)
    first = ingest_job(printer.machine)
    layers_score(layer_ids=[lr.pk for lr in first])
    Layer.objects.filter(pk__in=[lr.pk for lr in first]).update(label=LabelValue.DEFECTIVE)
    later = layer_ingest(machine=printer.machine, job_id="K", index=0, data=image_bytes(seed=99), enqueue=False).layer
    [score] = layers_score(layer_ids=[later.pk])
    assert score.model_version == version and score.threshold == 1.0  # no good layers seen: trained threshold
