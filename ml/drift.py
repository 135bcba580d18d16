"""A threshold that follows drift: the trained threshold, re-read against the machine's recent layers.

A threshold calibrated on the layers at hand promises a false-positive rate for layers like them.
Later layers drift (exposure, camera, new parts), and the same threshold then flags most good
layers. Here a layer is judged in the units the alert rules use, its score over its trained
threshold (the ratio), against where the machine's recent ratios lie: their median plus as many
robust standard deviations as the threshold stood above the calibration layers' median. Median
and MAD ignore the few defects among recent layers. Pure numpy, no Django.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, stats

# Recent layers that set the threshold; fewer than MIN_HISTORY keep the trained one.
WINDOW = 64
MIN_HISTORY = 16
# 1.4826 * MAD estimates a normal standard deviation; the floor keeps a window of near-identical
# layers from shrinking the threshold onto their median.
_MAD_TO_SD = 1.4826
_SCALE_FLOOR = 0.5


@functools.cache
def gumbel_k(target_fpr: float) -> float:
    """How many robust SDs above its median a Gumbel law passes `target_fpr` of its mass (3.72 at 1%)."""
    if not 0.0 < target_fpr < 0.5:
        raise ValueError(f"target_fpr must be in (0, 0.5), got {target_fpr}")
    median = float(stats.gumbel_r.median())
    mad = optimize.brentq(lambda m: stats.gumbel_r.cdf(median + m) - stats.gumbel_r.cdf(median - m) - 0.5, 1e-3, 10)
    return (float(stats.gumbel_r.ppf(1 - target_fpr)) - median) / (_MAD_TO_SD * mad)


def robust_location_scale(values: np.ndarray) -> tuple[float, float]:
    """Median and 1.4826 * median absolute deviation of `values`."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("need finite values")
    median = float(np.median(values))
    return median, _MAD_TO_SD * float(np.median(np.abs(values - median)))


@dataclass(frozen=True)
class DriftCalibration:
    """Where the calibration layers' ratios lay: the threshold is `k` robust SDs above their median.

    Stored with the model version (`as_dict`), read back with `from_dict`.
    """

    median: float  # of the calibration layers' score / threshold
    scale: float  # their robust standard deviation
    k: float  # (1 - median) / scale: the threshold's height above them in robust SDs
    window: int = WINDOW
    min_history: int = MIN_HISTORY

    @classmethod
    def fit(cls, good_ratios: np.ndarray, target_fpr: float) -> DriftCalibration:
        """From the calibration layers' scores divided by the threshold calibrated on them.

        `k` is at least what `target_fpr` needs where scores have a maximum's (Gumbel) tail: a
        threshold set just above a handful of calibration layers says little about the tail.
        """
        median, scale = robust_location_scale(good_ratios)
        scale = max(scale, 1e-6)
        return cls(median=median, scale=scale, k=max((1.0 - median) / scale, gumbel_k(target_fpr)))

    @classmethod
    def from_dict(cls, data: dict | None) -> DriftCalibration | None:
        if not data:
            return None
        return cls(**{key: data[key] for key in ("median", "scale", "k", "window", "min_history")})

    def as_dict(self) -> dict:
        return asdict(self)

    def threshold_ratio(self, history: Sequence[float]) -> float:
        """The ratio a layer must pass, given the ratios of the layers before it (oldest first).

        1.0 (the trained threshold) until `min_history` layers have been judged.
        """
        recent = np.asarray(history[-self.window :], dtype=np.float64)
        recent = recent[np.isfinite(recent)]
        if recent.size < self.min_history:
            return 1.0
        median, scale = robust_location_scale(recent)
        return median + self.k * max(scale, _SCALE_FLOOR * self.scale)

    def judge(
        self, ratios: Sequence[float], keys: Sequence[int], history: Sequence[tuple[int, float]] = ()
    ) -> list[float]:
        """Threshold ratios for new layers, each judged against every layer that came before it.

        `keys` order the new layers among themselves and among `history`, the (key, ratio) pairs
        of layers judged earlier: the order they arrived in, whatever order they are scored in.
        """
        if len(keys) != len(ratios):
            raise ValueError(f"{len(ratios)} ratios but {len(keys)} keys")
        events = sorted([(key, float(r), None) for key, r in history] + [(key, float(r), i) for i, (key, r) in
                                                                          enumerate(zip(keys, ratios, strict=True))])
        seen: list[float] = []
        thresholds = [1.0] * len(ratios)
        for _, ratio, new in events:
            if new is not None:
                thresholds[new] = self.threshold_ratio(seen)
            seen.append(ratio)
        return thresholds
