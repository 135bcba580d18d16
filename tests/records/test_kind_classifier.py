"""The kind classifier (ml.kinds), on synthetic defects, without Django."""

import numpy as np
import pytest

from ml.kinds import FEATURE_NAMES, KindClassifier, region_features
from ml.kinds.synthetic import synthetic_regions


def _regions(kind: str, *, first: int, n: int = 12) -> np.ndarray:
    rows, _ = synthetic_regions(seed=4, n=n, kind=kind, first=first)
    return rows


def test_it_tells_streaks_from_pits_on_layers_it_was_not_fitted_on():
    fit = {kind: _regions(kind, first=0) for kind in ("streak", "pit", "short_feed")}
    classifier = KindClassifier.fit(np.concatenate(list(fit.values())), [k for k, r in fit.items() for _ in r])
    for kind in fit:
        test = _regions(kind, first=5000)
        predicted = [classifier.kinds[i] for i in classifier.probabilities(test).argmax(axis=1)]
        assert np.mean([p == kind for p in predicted]) >= 0.75, (kind, predicted)


def test_it_round_trips_through_its_stored_form():
    rows = np.random.default_rng(0).normal(size=(10, len(FEATURE_NAMES)))
    classifier = KindClassifier.fit(rows, ["pit"] * 5 + ["spatter"] * 5)
    again = KindClassifier.from_dict(classifier.to_dict())
    assert again.predict(rows[0]) == pytest.approx(classifier.predict(rows[0]))
    kind, probability = again.predict(rows[0])
    assert kind in {"pit", "spatter"} and 0.5 <= probability <= 1


def test_it_needs_two_kinds():
    with pytest.raises(ValueError, match="at least two kinds"):
        KindClassifier.fit(np.zeros((5, len(FEATURE_NAMES))), ["pit"] * 5)


def test_it_refuses_a_classifier_stored_with_other_features():
    stored = KindClassifier.fit(np.eye(len(FEATURE_NAMES))[:2], ["pit", "streak"]).to_dict()
    stored["features"] = ["area"]
    with pytest.raises(ValueError, match="other features"):
        KindClassifier.from_dict(stored)


def test_it_measures_a_horizontal_line_as_long_and_along_x():
    heat = np.zeros((256, 256), dtype=np.float32)
    heat[100:102, 20:220] = 2.0
    image = np.full((256, 256), 0.5, dtype=np.float32)
    image[100:102, 20:220] = 0.2
    features = dict(zip(FEATURE_NAMES, region_features(heat=heat, image=image, box={
        "x": 20, "y": 100, "width": 200, "height": 2}), strict=True))
    assert features["elongation"] > 3 and features["horizontal"] > 0.9 and features["oblique"] < 0.05
    assert features["contrast"] < 0 and features["dark_share"] == 1.0
    assert features["extent_x"] == pytest.approx(200 / 256)


def test_it_rejects_a_heatmap_of_another_size_than_the_image():
    with pytest.raises(ValueError, match="same 2-D frame"):
        region_features(heat=np.zeros((64, 64)), image=np.zeros((256, 256)), box={"x": 0, "y": 0, "width": 1,
                                                                                   "height": 1})
