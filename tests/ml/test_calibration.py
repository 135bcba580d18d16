import math

import numpy as np
import pytest

from ml.calibration import (
    calibrate,
    calibrate_f1_sweep,
    calibrate_fpr_target,
    calibrate_gumbel_tail,
    holdout_split,
    sample_runs,
)


def test_it_takes_the_conformal_order_statistic():
    scores = np.random.default_rng(0).permutation(np.arange(1, 200, dtype=float))  # 1..199
    calibration = calibrate_fpr_target(scores, target_fpr=0.01)
    # n = 199: ceil(200 * 0.99) = 198, so the 198th smallest score.
    assert calibration.method == "fpr_target"
    assert calibration.threshold == 198.0
    assert calibration.details["rank"] == 198
    assert calibration.details["n_calibration"] == 199
    assert calibration.details["guarantee"] is True
    assert calibration.details["expected_false_alarms_per_1000"] == pytest.approx(1000 * 2 / 200)


def test_it_uses_a_margin_above_the_maximum_when_there_are_too_few_scores():
    scores = np.arange(12, dtype=float)  # 12 good layers cannot show a 1 % rate
    calibration = calibrate_fpr_target(scores, target_fpr=0.01)
    assert calibration.threshold > scores.max()
    assert calibration.threshold < scores.max() + 1
    assert calibration.details["guarantee"] is False
    assert "maximum" in calibration.details["note"]
    assert calibration.details["expected_false_alarms_per_1000"] == pytest.approx(1000 / 13)


def test_it_keeps_the_false_positive_rate_under_target_on_fresh_good_layers():
    rng = np.random.default_rng(1)
    rates = []
    for _ in range(300):
        calibration = calibrate_fpr_target(rng.gamma(2.0, size=150), target_fpr=0.05)
        rates.append(np.mean(rng.gamma(2.0, size=2000) > calibration.threshold))
    assert np.mean(rates) <= 0.05 + 0.005
    assert np.mean(rates) > 0.03  # and does not get there by being absurdly conservative


def test_it_picks_the_threshold_with_the_best_f1():
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    labels = np.array([0, 0, 1, 0, 0, 1, 1, 1])
    calibration = calibrate_f1_sweep(scores, labels)
    # Flag > 0.5: tp 3, fp 0, fn 1 -> F1 6/7; flag > 0.2: tp 4, fp 2 -> F1 0.8.
    assert calibration.method == "f1_sweep"
    assert calibration.threshold == 0.5
    assert calibration.details["f1"] == pytest.approx(6 / 7)
    assert calibration.details["precision"] == 1.0
    assert calibration.details["recall"] == 0.75


def test_it_breaks_f1_ties_towards_the_higher_threshold():
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    labels = np.array([1, 0, 0, 1])
    # Flag all: tp 2, fp 2 -> F1 2/3. Flag > 3: tp 1, fp 0, fn 1 -> F1 2/3. Fewer alarms wins.
    calibration = calibrate_f1_sweep(scores, labels)
    assert calibration.details["f1"] == pytest.approx(2 / 3)
    assert calibration.threshold == 3.0


def test_it_can_flag_everything_when_that_is_best():
    calibration = calibrate_f1_sweep(np.array([5.0, 6.0]), np.array([1, 1]))
    assert calibration.threshold < 5.0
    assert calibration.details["recall"] == 1.0


def test_it_chooses_the_method_from_the_labels():
    scores = np.linspace(0, 1, 30)
    labels = (scores > 0.8).astype(int)
    assert calibrate(scores, labels).method == "f1_sweep"
    assert calibrate(scores).method == "fpr_target"
    assert calibrate(scores, np.zeros(30, dtype=int)).method == "fpr_target"
    with pytest.raises(ValueError, match="no good scores"):
        calibrate(scores, np.ones(30, dtype=int))


def test_it_calibrates_fpr_only_on_the_good_scores_of_a_mixed_label_set_without_defects():
    scores = np.array([1.0, 2.0, 3.0])
    calibration = calibrate(scores, np.array([0, 0, 0]), target_fpr=0.5)
    # n = 3: ceil(4 * 0.5) = 2 -> second smallest.
    assert calibration.threshold == 2.0
    assert not math.isnan(calibration.details["expected_false_alarms_per_1000"])


def test_it_rejects_bad_input():
    with pytest.raises(ValueError):
        calibrate_fpr_target(np.array([]))
    with pytest.raises(ValueError):
        calibrate_fpr_target(np.array([1.0, np.nan]))
    with pytest.raises(ValueError):
        calibrate_f1_sweep(np.array([1.0, 2.0]), np.array([0, 2]))
    with pytest.raises(ValueError):
        calibrate_fpr_target(np.array([1.0]), target_fpr=0.0)


def test_it_holds_out_whole_jobs_for_calibration():
    jobs = ["a"] * 30 + ["b"] * 30 + ["c"] * 30 + ["d"] * 30 + ["e"] * 30
    indexes = [i for _ in range(5) for i in range(30)]
    train, holdout = holdout_split(jobs, indexes, fraction=0.2, seed=1)
    held_jobs = {jobs[p] for p in holdout}
    assert len(held_jobs) == 1 and len(holdout) == 30
    assert not held_jobs & {jobs[p] for p in train}
    assert sorted(train + holdout) == list(range(150))
    assert holdout_split(jobs, indexes, fraction=0.2, seed=1) == (train, holdout)


def test_it_holds_out_the_latest_layers_of_a_single_job():
    indexes = [5, 0, 9, 1, 8, 2, 7, 3, 6, 4]
    train, holdout = holdout_split(["j"] * 10, indexes, fraction=0.2)
    assert sorted(indexes[p] for p in holdout) == [8, 9]
    assert len(train) == 8


def test_it_holds_out_the_latest_layers_of_each_job_when_no_job_is_small_enough():
    jobs, indexes = ["a"] * 50 + ["b"] * 50, list(range(50)) * 2
    _, holdout = holdout_split(jobs, indexes, fraction=0.2)
    assert sorted((jobs[p], indexes[p]) for p in holdout) == [(j, i) for j in "ab" for i in range(40, 50)]


def test_a_gumbel_tail_finds_a_quantile_beyond_the_largest_of_few_scores():
    rng = np.random.default_rng(0)
    few = rng.gumbel(1.0, 0.5, 100)
    calibration = calibrate_gumbel_tail(few, target_fpr=0.001)
    true_quantile = 1.0 - 0.5 * np.log(-np.log(1 - 0.001))
    assert calibration.method == "gumbel_tail"
    assert abs(calibration.threshold - true_quantile) < 0.5
    assert calibration.threshold > np.quantile(few, 0.99)


@pytest.mark.parametrize("scores, fpr", [([1.0], 0.01), ([1.0, 2.0], 0.0), ([1.0, 2.0], 1.0)])
def test_a_gumbel_tail_rejects_too_few_scores_or_a_rate_outside_zero_and_one(scores, fpr):
    with pytest.raises(ValueError):
        calibrate_gumbel_tail(np.array(scores), target_fpr=fpr)


def test_a_sample_of_a_large_archive_keeps_runs_of_consecutive_layers():
    jobs = ["A"] * 300 + ["B"] * 200
    indexes = list(range(300)) + list(range(200))
    kept = sample_runs(jobs, indexes, limit=120, run_length=40, seed=3)
    assert len(kept) == 120 == len(set(kept))
    # At most three runs of consecutive layers of one job (two drawn runs may adjoin), not 120 scattered layers.
    starts = [p for p in kept if p - 1 not in kept or jobs[p - 1] != jobs[p]]
    assert len(starts) <= 3


def test_a_sample_keeps_everything_under_the_limit():
    assert sample_runs(["A"] * 5, list(range(5)), limit=10) == [0, 1, 2, 3, 4]
