import json

import numpy as np
import pytest

from ml.scorers.base import ScoreResult
from ml.supervised import FEATURES, FeatureSpace, LabelHead, Logistic, NotEnoughLabels, fit_head


def scored(n: int, *, defective: bool, seed: int, size: int = 64) -> tuple[ScoreResult, np.ndarray]:
    """What a scorer returns for n layers: low noise everywhere, a hot blob on defective ones."""
    rng = np.random.default_rng(seed)
    heatmaps = rng.gamma(2.0, 0.5, size=(n, size, size)).astype(np.float32)
    features = rng.normal(1.0, 0.1, size=(n, 8, 8, 16)).astype(np.float32)
    if defective:
        for i in range(n):
            y, x = rng.integers(8, size - 8, size=2)
            heatmaps[i, y - 3 : y + 3, x - 3 : x + 3] += 8.0
            features[i, y // 8, x // 8] += 1.0
    flat = heatmaps.reshape(n, -1)
    scores = np.sort(flat, axis=1)[:, -max(1, flat.shape[1] // 1000) :].mean(axis=1).astype(np.float64)
    return ScoreResult(scores=scores, heatmaps=heatmaps, reconstructions=np.zeros_like(heatmaps)), features


def labeled(n_good: int, n_bad: int, seed: int = 1):
    train = FeatureSpace.fit(*scored(40, defective=False, seed=0))
    good, bad = scored(n_good, defective=False, seed=seed), scored(n_bad, defective=True, seed=seed + 1)
    x = np.concatenate([train.transform(*good), train.transform(*bad)])
    y = np.concatenate([np.zeros(n_good, int), np.ones(n_bad, int)])
    return train, x, y


def test_it_computes_one_column_per_named_feature():
    space, x, _ = labeled(5, 5)
    assert x.shape == (10, len(FEATURES)) and np.isfinite(x).all()


def test_it_fits_a_separable_toy_problem():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (30, 3)), rng.normal(4, 1, (10, 3))])
    y = np.r_[np.zeros(30), np.ones(10)]
    model = Logistic.fit(x, y, l2=0.1)
    assert ((model.log_odds(x) > 0) == y.astype(bool)).all()


def test_it_separates_defective_layers_from_the_scorers_outputs():
    space, x, y = labeled(12, 12)
    fitted = fit_head(space, x, y)
    assert fitted.cv_f1 == 1.0
    good, bad = scored(10, defective=False, seed=7), scored(10, defective=True, seed=8)
    assert (fitted.head.predict(*good) <= fitted.head.threshold).all()
    assert (fitted.head.predict(*bad) > fitted.head.threshold).all()
    assert fitted.cv_probabilities.shape == (24,)
    assert ((fitted.cv_probabilities >= 0) & (fitted.cv_probabilities <= 1)).all()


def test_it_round_trips_to_dict_and_from_dict_exactly():
    space, x, y = labeled(8, 6)
    head = fit_head(space, x, y).head
    data = json.loads(json.dumps(head.to_dict()))
    again = LabelHead.from_dict(data)
    assert again.to_dict() == head.to_dict()
    layers = scored(6, defective=True, seed=9)
    assert np.array_equal(again.predict(*layers), head.predict(*layers))


def test_it_stays_small_enough_to_store_on_a_model_version():
    space = FeatureSpace.fit(*scored(300, defective=False, seed=0))
    _, x, y = labeled(5, 5)
    size = len(json.dumps(fit_head(space, x, y).head.to_dict()))
    assert space.reference.shape[0] == 128 and size < 100_000


def test_it_refuses_too_few_labels_with_a_clear_error():
    space, x, y = labeled(10, 2)
    with pytest.raises(NotEnoughLabels, match="at least 3 good and 3 defective.*got 10 good and 2 defective"):
        fit_head(space, x, y)


def test_it_refuses_a_head_fitted_on_other_features():
    space, x, y = labeled(5, 5)
    data = fit_head(space, x, y).head.to_dict()
    data["features"] = data["features"][:-1]
    with pytest.raises(ValueError, match="features"):
        LabelHead.from_dict(data)
