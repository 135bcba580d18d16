import io

import pytest
from PIL import Image

from apps.layers.imaging import read_image_array
from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring import model_cache
from apps.scoring.models import LayerScore
from apps.scoring.services import layers_score
from apps.scoring.verdicts import images_judge
from ml.preprocess import preprocess
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


def ingest(machine, index=0, **kw):
    data = image_bytes(seed=index, **kw)
    return layer_ingest(machine=machine, job_id="J", index=index, data=data, enqueue=False).layer


def test_it_leaves_a_layer_unscored_with_a_reason_when_the_machine_has_no_model(printer):
    layer = ingest(printer.machine)
    assert layers_score(layer_ids=[layer.pk]) == []
    layer.refresh_from_db()
    assert layer.status == Layer.Status.UNSCORED
    assert "no active model" in layer.error


def test_it_scores_a_layer_with_the_machines_active_model(printer, install_model):
    version = install_model(printer.machine, threshold=1e-9)
    layer = ingest(printer.machine)
    [score] = layers_score(layer_ids=[layer.pk])
    layer.refresh_from_db()
    assert layer.status == Layer.Status.SCORED and layer.current_score == score
    assert score.model_version == version and score.scorer == "seed"
    assert score.score > 1e-9 and score.anomalous is True and score.threshold == 1e-9
    heatmap = Image.open(io.BytesIO(score.heatmap.read()))
    assert heatmap.size == (256, 256) and heatmap.mode == "RGB"
    assert Image.open(io.BytesIO(score.reconstruction.read())).size == (256, 256)


def test_it_flags_only_scores_above_the_threshold(printer, install_model):
    install_model(printer.machine, threshold=1e12)
    [score] = layers_score(layer_ids=[ingest(printer.machine).pk])
    assert score.anomalous is False


def test_it_stores_the_anomalous_flag_the_verdict_gives(printer, install_model):
    # A version without a threshold judges against 0.0; the verdict does not flag that, and
    # the stored score must agree with it (and so with the Analyze page).
    version = install_model(printer.machine, threshold=None)
    layer = ingest(printer.machine)
    [verdict] = images_judge(version=version, images=preprocess(read_image_array(layer.image))[None])
    [score] = layers_score(layer_ids=[layer.pk])
    assert score.score > score.threshold == 0.0
    assert score.anomalous is verdict.anomalous is False


def test_it_stores_one_score_when_a_layer_is_scored_twice(printer, install_model):
    install_model(printer.machine)
    layer = ingest(printer.machine)
    first = layers_score(layer_ids=[layer.pk])
    second = layers_score(layer_ids=[layer.pk, layer.pk])
    assert LayerScore.objects.filter(layer=layer).count() == 1
    assert first[0].pk == second[0].pk


def test_it_scores_each_machine_with_its_own_model(printer, other_printer, install_model):
    mine = install_model(printer.machine, threshold=1.0)
    theirs = install_model(other_printer.machine, threshold=2.0)
    a, b = ingest(printer.machine), ingest(other_printer.machine)
    scores = {s.layer_id: s for s in layers_score(layer_ids=[a.pk, b.pk])}
    assert scores[a.pk].model_version == mine and scores[b.pk].model_version == theirs


def test_it_marks_a_layer_failed_when_its_stored_image_is_unreadable(printer, install_model):
    install_model(printer.machine)
    good, broken = ingest(printer.machine, 0), ingest(printer.machine, 1)
    with broken.image.open("wb") as handle:
        handle.write(b"garbage")
    scores = layers_score(layer_ids=[good.pk, broken.pk])
    broken.refresh_from_db()
    assert [s.layer_id for s in scores] == [good.pk]
    assert broken.status == Layer.Status.FAILED and "Could not read" in broken.error


def test_it_loads_a_model_version_once_per_process(printer, install_model):
    model_cache.cache_clear()
    install_model(printer.machine)
    before = model_cache.load_count
    for index in range(3):
        layers_score(layer_ids=[ingest(printer.machine, index).pk])
    assert model_cache.load_count - before == 1
