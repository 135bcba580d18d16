"""Scored layers keep a heatmap in threshold units and the regions that reach the threshold."""

import io

import numpy as np
import pytest
from PIL import Image

from apps.layers.imaging import read_image_array
from apps.layers.services import layer_ingest
from apps.scoring import model_cache
from apps.scoring.models import LayerGroup
from apps.scoring.rendering import _LUT
from apps.scoring.services import layers_score
from ml.groups import embed_layers
from ml.preprocess import preprocess
from ml.scorers.base import Scorer, ScoreResult
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


class KnownHeatmapScorer:
    """Stands in for a trained model whose heatmap is known in advance (in score units)."""

    name = "known"
    heatmap_vmax = 12.0
    input_size = 256
    heatmap_threshold = Scorer.heatmap_threshold
    score_top_fraction = Scorer.score_top_fraction

    def __init__(self, heatmap: np.ndarray) -> None:
        self.heatmap = heatmap

    def score(self, images: np.ndarray, *, batch_size: int = 16) -> ScoreResult:
        n = len(images)
        return ScoreResult(scores=np.full(n, 5.0), heatmaps=np.stack([self.heatmap] * n),
                           reconstructions=np.zeros((n, 256, 256), dtype=np.float32))


def ingest(machine, index=0):
    data = image_bytes(seed=index)
    return layer_ingest(machine=machine, job_id="J", index=index, data=data, enqueue=False).layer


def colours(field) -> Image.Image:
    with field.open("rb") as handle:
        return Image.open(io.BytesIO(handle.read())).convert("RGB")


def test_it_draws_the_heatmap_against_the_layers_group_threshold_with_it_at_mid_scale(
    printer, install_model, monkeypatch
):
    version = install_model(printer.machine, threshold=1000.0)
    layer = ingest(printer.machine)
    # One group with its own threshold: every layer falls in it, so 4.0 is what it is judged by.
    centroid = embed_layers(preprocess(read_image_array(layer.image))[np.newaxis])[0]
    LayerGroup.objects.create(model_version=version, index=0, centroid=[float(v) for v in centroid],
                              threshold=4.0, threshold_source="group")
    heat = np.zeros((256, 256), dtype=np.float32)
    heat[100:110, 50:70] = 4.0  # exactly at threshold
    heat[105, 60] = 8.0  # twice the threshold: the top of the scale
    monkeypatch.setattr(model_cache, "scorer_for", lambda version: KnownHeatmapScorer(heat))

    [score] = layers_score(layer_ids=[layer.pk])

    assert score.threshold == 4.0 and score.anomalous is True
    heatmap = colours(score.heatmap)
    assert heatmap.getpixel((52, 102)) == tuple(_LUT[127])  # 1.0 x threshold: mid-scale
    assert heatmap.getpixel((60, 105)) == tuple(_LUT[255])
    assert heatmap.getpixel((0, 0)) == tuple(_LUT[0])
    score.refresh_from_db()
    assert score.regions == [{
        "box": {"x": 50, "y": 100, "width": 20, "height": 10},
        "box_fraction": {"x": 50 / 256, "y": 100 / 256, "width": 20 / 256, "height": 10 / 256},
        "area": 200, "area_fraction": 200 / 256**2, "peak": 2.0,
        # The uploaded photo is 128 px: the same box in its own pixels.
        "box_image": {"x": 25, "y": 50, "width": 10, "height": 5},
    }]


def test_it_stores_no_regions_for_a_layer_far_below_threshold(printer, install_model):
    install_model(printer.machine, threshold=1e12)
    [score] = layers_score(layer_ids=[ingest(printer.machine).pk])
    score.refresh_from_db()
    assert score.anomalous is False and score.regions == []


def test_it_boxes_where_a_seed_layer_misses_most_when_its_threshold_is_low(printer, install_model):
    install_model(printer.machine, threshold=1.0)  # below any real seed score: every pixel is far past it
    [score] = layers_score(layer_ids=[ingest(printer.machine).pk])
    score.refresh_from_db()
    assert 1 <= len(score.regions) <= 5
    assert score.regions[0]["peak"] >= score.regions[-1]["peak"] > 1.0
