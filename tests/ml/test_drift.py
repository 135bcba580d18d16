import numpy as np
import pytest

from ml.drift import FLOOR, MIN_HISTORY, DriftCalibration


def _calibration(rng) -> DriftCalibration:
    return DriftCalibration.fit(rng.normal(0.6, 0.1, 400))


def test_it_keeps_the_trained_threshold_where_nothing_drifted():
    rng = np.random.default_rng(6)
    drift = _calibration(rng)
    same = rng.normal(0.6, 0.1, 300)
    thresholds = np.array(drift.judge(same, keys=list(range(300))))
    # Within what a median of 16 to 64 layers can tell: the trained threshold, give or take.
    assert np.abs(thresholds - 1.0).max() < 0.15 and np.abs(thresholds - 1.0).mean() < 0.05


def test_it_never_falls_below_its_floor_on_blank_frames():
    drift = _calibration(np.random.default_rng(7))
    assert drift.threshold_ratio([1e-6] * 40) == FLOOR


def test_it_keeps_the_trained_threshold_until_enough_layers_were_seen():
    drift = _calibration(np.random.default_rng(0))
    assert drift.threshold_ratio([5.0] * (MIN_HISTORY - 1)) == 1.0
    assert drift.threshold_ratio([5.0] * MIN_HISTORY) > 1.0


def test_it_keeps_the_promised_false_positive_rate_when_scores_drift():
    rng = np.random.default_rng(1)
    drift = _calibration(rng)
    # Later layers score twice as high and spread wider: the trained threshold flags most of them.
    later = rng.normal(1.4, 0.2, 2000)
    assert (later > 1.0).mean() > 0.9
    thresholds = np.array(drift.judge(later, keys=list(range(len(later)))))
    flagged = (later > thresholds)[MIN_HISTORY:]
    assert flagged.mean() < 0.03


def test_it_still_flags_defects_among_drifted_layers():
    rng = np.random.default_rng(2)
    drift = _calibration(rng)
    later = rng.normal(1.4, 0.2, 500)
    defects = np.arange(50, 500, 10)  # one layer in ten is a defect scoring far above its neighbours
    later[defects] += 1.5
    thresholds = np.array(drift.judge(later, keys=list(range(len(later)))))
    assert (later[defects] > thresholds[defects]).mean() > 0.9


def test_it_judges_each_layer_against_the_layers_that_arrived_before_it_in_any_order():
    rng = np.random.default_rng(3)
    drift = _calibration(rng)
    ratios = rng.normal(1.2, 0.2, 80)
    keys = list(range(100, 180))
    at_once = drift.judge(ratios, keys=keys)
    history: list[tuple[int, float]] = []
    one_by_one = []
    for key, ratio in zip(keys, ratios, strict=True):
        one_by_one.extend(drift.judge([ratio], keys=[key], history=history))
        history.append((key, ratio))
    assert one_by_one == pytest.approx(at_once)
    shuffled = rng.permutation(len(keys))
    out_of_order = drift.judge(ratios[shuffled], keys=[keys[i] for i in shuffled])
    assert [out_of_order[list(shuffled).index(i)] for i in range(len(keys))] == pytest.approx(at_once)


def test_it_round_trips_through_a_dict():
    drift = _calibration(np.random.default_rng(4))
    assert DriftCalibration.from_dict(drift.as_dict()) == drift
    assert DriftCalibration.from_dict(None) is None


def test_it_refuses_mismatched_keys_and_non_finite_values():
    drift = _calibration(np.random.default_rng(5))
    with pytest.raises(ValueError, match="keys"):
        drift.judge([1.0, 2.0], keys=[1])
    with pytest.raises(ValueError, match="finite"):
        DriftCalibration.fit(np.array([1.0, np.nan]))
