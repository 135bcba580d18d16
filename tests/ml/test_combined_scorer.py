import numpy as np
import pytest

from ml.artifacts import load_scorer, read_artifact_metadata
from ml.residuals import top_mean
from ml.scorers import get_scorer_class
from ml.scorers.combined import CombinedScorer
from ml.scorers.local import LocalScorer
from tests.ml.helpers import spotted_layer

# The model frame, a short training and a small bank: the same two maps, coarser and faster.
SMALL = {"resolution": 256, "min_samples": 16,
         "patchcore": {"input_size": 128, "bank_images": 6, "coreset_fraction": 0.25}}


@pytest.fixture(scope="module")
def fitted(good_images: np.ndarray) -> CombinedScorer:
    scorer = CombinedScorer(SMALL)
    scorer.fit(good_images[:6], epochs=1, verbose=False)
    return scorer


def test_it_is_registered_under_its_name():
    assert get_scorer_class("combined") is CombinedScorer


def test_it_adds_the_patch_distances_to_the_local_residual(fitted, good_images):
    layers = good_images[6:8]
    local = LocalScorer.anomaly_maps(fitted, layers)[0]
    patches = fitted._patchcore.distance_maps(layers)
    result = fitted.score(layers)
    assert np.abs(patches).max() > 0.1  # the patch map is there to add
    assert result.scores == pytest.approx(top_mean(local + patches, fitted.score_top_fraction()), rel=1e-5)
    assert np.allclose(result.heatmaps, np.maximum(local + patches, 0), atol=1e-5)


def test_it_weighs_the_patch_distances_by_its_config(fitted, good_images):
    layers = good_images[6:8]
    local = LocalScorer.anomaly_maps(fitted, layers)[0]
    fitted.config["patchcore_weight"] = 0.0
    try:
        alone = fitted.score(layers).scores
    finally:
        fitted.config["patchcore_weight"] = 1.0
    assert alone == pytest.approx(top_mean(local, fitted.score_top_fraction()), rel=1e-5)


def test_it_marks_a_spot_where_it_is(fitted, good_images):
    result = fitted.score(np.stack([good_images[6], spotted_layer(good_images[6])]))
    assert result.scores[1] > result.scores[0]
    raised = result.heatmaps[1] - result.heatmaps[0]
    peak = np.unravel_index(raised.argmax(), raised.shape)
    assert abs(peak[0] - 150) <= 16 and abs(peak[1] - 90) <= 16


def test_it_round_trips_through_an_artifact_with_identical_scores(fitted, good_images, tmp_path):
    path = tmp_path / "combined.keras"
    fitted.save(path)
    loaded = load_scorer(path)
    assert isinstance(loaded, CombinedScorer)
    assert read_artifact_metadata(path)["config"]["patchcore"]["input_size"] == 128
    assert loaded.score(good_images[6:8]).scores == pytest.approx(fitted.score(good_images[6:8]).scores, rel=1e-5)


def test_it_refuses_state_that_is_not_both_scorers(fitted):
    state = fitted.get_state()
    assert {"residual_mean", "patchcore_memory_bank"} <= set(state)
    with pytest.raises(ValueError, match="combined scorer expects state"):
        CombinedScorer(SMALL).set_state({key: state[key] for key in ("residual_mean", "residual_std")})


def test_it_refuses_a_patchcore_setting_it_does_not_know():
    with pytest.raises(ValueError, match="unknown patchcore config keys"):
        CombinedScorer({"patchcore": {"bank_size": 10}})


def test_it_refuses_to_score_before_it_is_fitted(good_images):
    with pytest.raises(RuntimeError):
        CombinedScorer(SMALL).score(good_images[:1])
