import numpy as np
import pytest

from ml.scorers import DEFAULT_SCORER, SCORERS, get_scorer_class
from ml.scorers.seed import SeedScorer


def test_it_scores_with_the_global_l2_norm_on_the_255_scale(trained_seed, good_images):
    result = trained_seed.score(good_images[:3], batch_size=2)
    x = good_images[:3].astype(np.float64)
    x_hat = result.reconstructions.astype(np.float64)
    expected = [np.linalg.norm(x[i] * 255 - x_hat[i] * 255) for i in range(3)]
    assert result.scores.dtype == np.float64
    assert result.scores == pytest.approx(expected, rel=1e-12)


def test_it_returns_the_absolute_error_as_heatmap(trained_seed, good_images):
    result = trained_seed.score(good_images[:2])
    assert result.heatmaps.shape == (2, 256, 256)
    assert result.heatmaps.dtype == np.float32
    assert np.array_equal(result.heatmaps, np.abs(good_images[:2] - result.reconstructions))
    assert result.reconstructions.min() >= 0 and result.reconstructions.max() <= 1


def test_it_scores_the_same_image_the_same_in_any_batch(trained_seed, good_images):
    alone = trained_seed.score(good_images[4:5]).scores
    batched = trained_seed.score(good_images, batch_size=3).scores
    assert batched[4] == pytest.approx(alone[0], rel=1e-5)


def test_it_scores_a_defect_higher_than_its_clean_layer(trained_seed, good_images):
    dented = good_images[:1].copy()
    dented[0, 100:140, 60:200] = 0.0
    assert trained_seed.score(dented).scores[0] > trained_seed.score(good_images[:1]).scores[0]


def test_it_exposes_bottleneck_features(trained_seed, good_images):
    assert trained_seed.features(good_images[:2]).shape == (2, 32, 32, 16)


def test_it_rejects_unpreprocessed_images(trained_seed):
    with pytest.raises(ValueError, match="preprocess"):
        trained_seed.score(np.zeros((1, 1024, 1024), dtype=np.float32))


def test_it_refuses_to_score_before_fitting(good_images):
    with pytest.raises(RuntimeError, match="not been fitted"):
        SeedScorer().score(good_images[:1])


def test_it_merges_config_defaults_and_rejects_unknown_keys():
    assert SeedScorer({"learning_rate": 0.01}).config == {"learning_rate": 0.01}
    assert SeedScorer().config == {"learning_rate": 1e-3}
    with pytest.raises(ValueError, match="learning_rat"):
        SeedScorer({"learning_rat": 0.01})


def test_it_keeps_the_seed_scorer_registered_beside_the_better_default():
    assert DEFAULT_SCORER == "combined" and DEFAULT_SCORER in SCORERS
    assert SCORERS["seed"] is SeedScorer
    assert get_scorer_class("seed") is SeedScorer
    assert SeedScorer.heatmap_vmax == 0.25


def test_it_lists_known_scorers_for_an_unknown_name():
    with pytest.raises(KeyError, match="known scorers: .*seed"):
        get_scorer_class("no_such_scorer")
