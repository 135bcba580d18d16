"""The sequential scores tried for scoring and not kept (bench/research/sequence.py)."""

import numpy as np
import pytest
from scipy import ndimage

from bench.research.sequence import (
    combine,
    layout_baseline_residual,
    persistence,
    previous_layer_residual,
    same_embedding_as_previous,
    spatial_persistence,
)
from ml.synthetic import generate_job
from tests.ml.helpers import synthetic_batch

BLOB = (150, 90)  # row, column


@pytest.fixture(scope="module")
def three_layers() -> np.ndarray:
    """A layer; the same bed moved by 2 px under brighter exposure; then a dark spot appears."""
    rng = np.random.default_rng(0)
    base = synthetic_batch(seed=7, n=1)[0]
    moved = np.clip(1.1 * ndimage.shift(base, (2, 0), order=1, mode="nearest") + 0.03, 0, 1)
    yy, xx = np.mgrid[:256, :256]
    spot = np.exp(-0.5 * ((yy - BLOB[0]) ** 2 + (xx - BLOB[1]) ** 2) / 3.0**2)
    layers = np.stack([base, moved, moved - 0.25 * spot])
    return np.clip(layers + rng.normal(0, 0.008, layers.shape), 0, 1).astype(np.float32)


def test_it_finds_a_new_defect_against_the_previous_layer_but_not_a_camera_shift_or_exposure_change(three_layers):
    result = previous_layer_residual(three_layers)
    assert np.isnan(result.scores[0])  # nothing to compare the first layer with
    assert result.scores[2] > 2 * result.scores[1]
    peak = np.unravel_index(np.argmax(result.maps[2]), result.maps[2].shape)
    assert abs(peak[0] - BLOB[0]) <= 4 and abs(peak[1] - BLOB[1]) <= 4


def test_it_does_not_compare_layers_across_a_layout_change():
    job = generate_job(seed=3, n_layers=6, group_length=3, machine_seed=7)
    images = np.stack([layer.image for layer in job]).astype(np.float32) / 255.0
    assert same_embedding_as_previous(images).tolist() == [False, True, True, False, True, True]
    assert np.isnan(previous_layer_residual(images).scores[[0, 3]]).all()


def test_it_keeps_the_min_or_mean_of_the_last_k_scores():
    scores = np.array([1.0, 5.0, 4.0, 0.5, 6.0])
    assert persistence(scores, 2, "min").tolist() == [1.0, 1.0, 4.0, 0.5, 0.5]
    assert persistence(scores, 3, "mean").tolist() == pytest.approx([1.0, 3.0, 10 / 3, 9.5 / 3, 10.5 / 3])


def test_it_counts_a_hot_spot_only_where_the_previous_layer_was_hot_too():
    heatmaps = np.zeros((3, 64, 64), dtype=np.float32)
    heatmaps[0, 10, 10] = heatmaps[1, 11, 12] = 9.0  # the same spot, moved a pixel or two
    heatmaps[2, 40, 40] = 9.0  # a hot pixel somewhere else
    scores = spatial_persistence(heatmaps, tolerance=3, top_fraction=0.0)
    assert scores.tolist() == [9.0, 9.0, 0.0]


def test_it_falls_back_to_the_layer_score_where_the_sequential_one_is_missing():
    combined = combine(np.array([2.0, 2.0]), np.array([np.nan, 30.0]), layer_threshold=4.0, sequence_threshold=10.0)
    assert combined.tolist() == [0.5, 3.0]


def test_it_ignores_a_hot_spot_every_layer_of_the_layout_shows_but_not_a_new_one():
    heatmaps = np.zeros((12, 64, 64), dtype=np.float32)
    heatmaps[:, 20, 20] = 8.0  # a part the model reconstructs badly, on every layer
    heatmaps[9:, 40, 30] = 6.0  # a defect from layer 9 on
    comparable = np.ones(12, dtype=bool)
    comparable[0] = False
    scores = layout_baseline_residual(heatmaps, comparable, lag=2, depth=3, top_fraction=0.0)
    assert np.isnan(scores[:5]).all()  # the layout's first lag + depth layers have no baseline
    assert scores[5:9].tolist() == [0.0] * 4
    assert scores[9:12].tolist() == [6.0] * 3  # visible for lag + 1 layers


def test_it_restarts_the_baseline_when_the_layout_changes():
    heatmaps = np.zeros((10, 32, 32), dtype=np.float32)
    heatmaps[6:, 5, 5] = 7.0  # the new layout's badly reconstructed part
    comparable = np.array([False, True, True, True, True, True, False, True, True, True])
    scores = layout_baseline_residual(heatmaps, comparable, lag=1, depth=2, top_fraction=0.0)
    assert np.isnan(scores[6:9]).all() and scores[9] == 0.0
