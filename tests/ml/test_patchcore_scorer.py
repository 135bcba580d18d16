import numpy as np
import pytest

from ml.artifacts import load_scorer, read_artifact_metadata
from ml.residuals import top_mean
from ml.scorers import SCORERS, get_scorer_class
from ml.scorers.patchcore import PatchCoreScorer
from ml.scorers.patchcore.memory import greedy_coreset, nearest_distances
from tests.ml.helpers import spotted_layer

# Small frames and bank: the backbone and memory bank are the same, only coarser and faster.
TINY = {"input_size": 128, "bank_images": 6, "coreset_fraction": 0.25}


@pytest.fixture(scope="module")
def fitted(good_images: np.ndarray) -> PatchCoreScorer:
    scorer = PatchCoreScorer(TINY)
    scorer.fit(good_images[:6], epochs=1, verbose=False)
    return scorer


def test_it_is_registered_under_its_name():
    assert get_scorer_class("patchcore") is PatchCoreScorer
    assert SCORERS["patchcore"].heatmap_vmax > 0


def test_it_keeps_a_coreset_of_the_good_patches(fitted, good_images):
    state = fitted.get_state()
    # 6 layers of 16x16 patches at 128 px, a quarter of them kept; 40 + 112 channels per patch.
    assert state["memory_bank"].shape == (6 * 16 * 16 // 4, 152)
    assert state["distance_scale"][1] > 0


def test_it_scores_the_top_of_its_heatmap_in_the_layers_own_frame(fitted, good_images):
    result = fitted.score(good_images[6:8])
    assert result.heatmaps.shape == (2, 256, 256) and result.heatmaps.min() >= 0
    assert result.scores == pytest.approx(top_mean(result.heatmaps, fitted.score_top_fraction()), rel=1e-5)
    assert np.array_equal(result.reconstructions, good_images[6:8])


def test_it_marks_a_spot_where_it_is(fitted, good_images):
    result = fitted.score(np.stack([good_images[6], spotted_layer(good_images[6])]))
    assert result.scores[1] > result.scores[0]
    raised = result.heatmaps[1] - result.heatmaps[0]
    assert raised[150, 90] > 1.0  # standard deviations of good patches
    peak = np.unravel_index(raised.argmax(), raised.shape)
    assert abs(peak[0] - 150) <= 24 and abs(peak[1] - 90) <= 24  # a patch is 16 px at 128


def test_it_asks_for_its_input_size_and_finer_patches_at_a_larger_one(good_images):
    assert PatchCoreScorer().input_size == 256
    scorer = PatchCoreScorer({"input_size": 512})
    assert scorer.input_size == 512
    assert scorer.features(good_images[:1]).shape == (1, 64, 64, 16)


def test_it_refuses_an_input_size_the_backbone_cannot_halve_four_times():
    with pytest.raises(ValueError, match="multiple of 16"):
        PatchCoreScorer({"input_size": 200})


def test_it_refuses_a_border_the_feature_maps_cannot_crop():
    with pytest.raises(ValueError, match="border must be a multiple of 16"):
        PatchCoreScorer({"border": 8})


def test_it_refuses_to_fit_on_no_layers():
    with pytest.raises(ValueError, match="at least one good layer"):
        PatchCoreScorer(TINY).fit(np.empty((0, 256, 256), np.float32), epochs=1)


def test_it_refuses_to_score_before_it_is_fitted(good_images):
    with pytest.raises(RuntimeError, match="fit it first"):
        PatchCoreScorer(TINY).score(good_images[:1])


def test_it_refuses_state_it_does_not_know(fitted):
    with pytest.raises(ValueError, match="expects state"):
        PatchCoreScorer(TINY).set_state({"residual_mean": np.zeros(1)})


def test_it_round_trips_through_an_artifact_with_identical_scores(fitted, good_images, tmp_path):
    path = tmp_path / "patchcore.keras"
    fitted.save(path)
    loaded = load_scorer(path)
    assert isinstance(loaded, PatchCoreScorer)
    assert read_artifact_metadata(path)["config"]["input_size"] == 128
    assert np.array_equal(loaded.get_state()["memory_bank"], fitted.get_state()["memory_bank"])
    assert loaded.score(good_images[6:8]).scores == pytest.approx(fitted.score(good_images[6:8]).scores, rel=1e-5)


def test_it_picks_one_patch_from_each_cluster_first():
    rng = np.random.default_rng(0)
    centres = np.eye(4, 8, dtype=np.float32) * 100
    points = np.concatenate([centre + rng.normal(0, 0.1, (50, 8)) for centre in centres]).astype(np.float32)
    picks = greedy_coreset(points, 4, rng, projection=0)
    assert sorted(p // 50 for p in picks) == [0, 1, 2, 3]
    assert len(greedy_coreset(points, 500, rng)) == 200


def test_it_measures_the_distance_to_the_nearest_kept_patch():
    rng = np.random.default_rng(1)
    queries, bank = rng.normal(size=(30, 5)), rng.normal(size=(7, 5))
    brute = np.sqrt(((queries[:, None] - bank[None]) ** 2).sum(-1)).min(axis=1)
    assert nearest_distances(queries, bank, chunk=8) == pytest.approx(brute, abs=1e-4)
