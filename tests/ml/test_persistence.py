import numpy as np
import pytest

from ml.calibration import calibrate_gumbel_tail
from ml.persistence import (
    MIN_PERSISTENCE_SCORES,
    alert_channels,
    alert_score_combine,
    persistence_threshold_fit,
)

SPOT = (slice(30, 33), slice(40, 43))


def grain_heatmaps(n: int, seed: int = 0) -> np.ndarray:
    """Heatmaps of good layers: a low floor and a few hot spots, somewhere else on every layer."""
    rng = np.random.default_rng(seed)
    heatmaps = rng.gamma(2.0, 0.1, (n, 128, 128)).astype(np.float32)
    for heatmap in heatmaps:
        for y, x in rng.integers(2, 126, (3, 2)):
            heatmap[y - 1 : y + 2, x - 1 : x + 2] += 3.0
    return heatmaps


def one_layout(n: int) -> np.ndarray:
    vector = np.random.default_rng(1).standard_normal(784)
    return np.repeat(((vector - vector.mean()) / vector.std())[None], n, axis=0).astype(np.float32)


def test_a_faint_spot_that_stays_put_persists_while_the_grain_does_not():
    heatmaps = grain_heatmaps(12)
    heatmaps[6:][:, SPOT[0], SPOT[1]] += 2.0  # faint: under what the grain's hot spots reach
    channels = alert_channels(heatmaps, one_layout(12), top_fraction=0.002)
    grain, spot = channels.persistence[2:6], channels.persistence[7:10]
    assert spot.min() > 2 * grain.max()
    # Layout memory sees the spot's onset but barely lifts it above the grain.
    assert channels.memory[6] < 2 * channels.memory[2:6].max()


def test_persistence_counts_from_a_defects_second_layer():
    heatmaps = grain_heatmaps(10)
    heatmaps[6:][:, SPOT[0], SPOT[1]] += 6.0
    persistence = alert_channels(heatmaps, one_layout(10), top_fraction=0.002).persistence
    assert persistence[7] > 2 * persistence[6]


def test_a_layouts_first_layer_passes_nothing_on():
    heatmaps = grain_heatmaps(6)
    other = one_layout(6)
    other[3:] = -other[3:]  # a new layout from layer 3
    persistence = alert_channels(heatmaps, other, top_fraction=0.002).persistence
    # Layer 0 starts the job and layer 3 a layout: the layers after them have nothing to persist from.
    assert np.isnan(persistence[[0, 1, 4]]).all()
    assert not np.isnan(persistence[[2, 3, 5]]).any()


def test_the_alert_score_is_the_higher_channel_each_over_its_own_threshold():
    assert alert_score_combine(2.0, 0.5, threshold=10.0, persistence_threshold=1.0) == 5.0
    assert alert_score_combine(6.0, 0.5, threshold=10.0, persistence_threshold=1.0) == 6.0
    # Without a persistence score or threshold, layout memory alone.
    assert alert_score_combine(2.0, None, threshold=10.0, persistence_threshold=1.0) == 2.0
    assert alert_score_combine(2.0, float("nan"), threshold=10.0, persistence_threshold=1.0) == 2.0
    assert alert_score_combine(2.0, 0.5, threshold=10.0, persistence_threshold=None) == 2.0


def test_the_persistence_threshold_needs_enough_held_out_scores():
    values = np.random.default_rng(0).gumbel(1.0, 0.2, MIN_PERSISTENCE_SCORES + 5)
    assert persistence_threshold_fit(np.concatenate([values[: MIN_PERSISTENCE_SCORES - 1], [np.nan] * 10])) is None
    threshold = persistence_threshold_fit(np.concatenate([values, [np.nan]]))
    assert threshold > np.median(values)


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
