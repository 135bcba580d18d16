"""The local scorer at the camera's resolution: trained on crops, applied in tiles, heatmaps in
the image's own pixels."""

import numpy as np
import pytest

from ml.artifacts import load_scorer
from ml.layout_memory.scoring import layout_memory_residual, layout_memory_trace
from ml.preprocess import heatmap_model_frame, model_frame, preprocess
from ml.scorers.local import LocalScorer
from ml.scorers.local.frames import resolution_for
from ml.synthetic import generate_layers
from tests.conftest import FULL_RES_SIDE as SIDE


@pytest.fixture(scope="module")
def full_res_layers() -> np.ndarray:
    return np.stack([preprocess(lr.image, SIDE) for lr in generate_layers(seed=1, n=6, size=SIDE)])


@pytest.fixture(scope="module")
def full_res_scorer(full_res_artifact) -> LocalScorer:
    """Told resolution 0 at training: it took the layers' own 512 px."""
    return load_scorer(full_res_artifact)


def test_it_takes_the_cameras_resolution_when_told_zero(full_res_scorer):
    assert full_res_scorer.input_size == SIDE
    assert full_res_scorer.config["resolution"] == SIDE


def test_it_rounds_a_camera_to_whole_model_frames_within_bounds():
    assert resolution_for(1000) == 1024 and resolution_for(200) == 256 and resolution_for(9000) == 2048


def test_it_refuses_a_resolution_that_is_not_a_whole_number_of_model_frames():
    with pytest.raises(ValueError, match="multiple of 256"):
        LocalScorer({"resolution": 300})


def test_it_refuses_layers_of_another_size(full_res_scorer, full_res_layers):
    with pytest.raises(ValueError, match=f"\\(n, {SIDE}, {SIDE}\\)"):
        full_res_scorer.score(model_frame(full_res_layers[:1]))


def test_it_keeps_its_per_pixel_maps_in_the_model_frame(full_res_scorer):
    state = full_res_scorer.get_state()
    assert state["residual_mean"].shape[1:] == (256, 256)


def test_it_points_at_a_line_two_camera_pixels_wide(full_res_scorer, full_res_layers):
    layer = full_res_layers[-1:].copy()
    layer[0, 200:400, 301:303] = np.clip(layer[0, 200:400, 301:303] + 0.3, 0, 1)
    result = full_res_scorer.score(np.concatenate([full_res_layers[-1:], layer]))
    assert result.heatmaps.shape == (2, SIDE, SIDE)
    peak = np.unravel_index(np.argmax(result.heatmaps[1]), (SIDE, SIDE))
    assert 195 <= peak[0] <= 405 and 296 <= peak[1] <= 308
    assert result.scores[1] > result.scores[0]


def test_it_scores_the_same_after_saving_and_loading(full_res_scorer, full_res_layers, tmp_path):
    full_res_scorer.save(tmp_path / "m.keras")
    loaded = load_scorer(tmp_path / "m.keras")
    assert loaded.input_size == SIDE
    assert loaded.score(full_res_layers[:2]).scores == pytest.approx(
        full_res_scorer.score(full_res_layers[:2]).scores, rel=1e-4
    )


def test_it_brings_a_full_resolution_heatmap_to_the_model_frame_keeping_thin_peaks():
    heatmap = np.zeros((SIDE, SIDE), np.float32)
    heatmap[:, 301] = 3.0  # one camera pixel wide
    small = heatmap_model_frame(heatmap)
    assert small.shape == (256, 256) and small.max() == 3.0


def test_it_keeps_layout_memory_traces_one_size_whatever_the_heatmaps():
    heatmap = np.zeros((SIDE, SIDE), np.float32)
    heatmap[100:104, 100:104] = 2.0
    trace = layout_memory_trace(heatmap)
    assert trace.shape == (128, 128)
    # The same hot spot on the next layer is what the layout showed before: nothing new remains.
    assert layout_memory_residual(heatmap, [trace]).max() == 0.0
