"""A threshold that follows drift: the trained threshold, rescaled to the machine's recent layers.

A threshold calibrated on the layers at hand promises a false-positive rate for layers like them.
Later layers drift (exposure, focus, noise, camera, new parts), and the same threshold then flags
most good layers. Drift of that kind raises the scores of every layer alike, so a layer is judged
in the units the alert rules use, its score over its trained threshold (the ratio), against the
trained threshold scaled by how far the machine's recent ratios have moved: their median over the
calibration layers' median. A median ignores the few defects among recent layers, and where
nothing drifted the trained threshold stands. Pure numpy, no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

# Recent layers that set the threshold; fewer than MIN_HISTORY keep the trained one.
WINDOW = 64
MIN_HISTORY = 16
# The threshold never falls below this share of the trained one: a run of blank or dark frames
# must not bring every ordinary layer over it.
FLOOR = 0.5


@dataclass(frozen=True)
class DriftCalibration:
    """Where the calibration layers' ratios lay. Stored with the model version (`as_dict`)."""

    median: float  # of the calibration layers' score / threshold
    window: int = WINDOW
    min_history: int = MIN_HISTORY

    @classmethod
    def fit(cls, good_ratios: np.ndarray) -> DriftCalibration:
        """From the calibration layers' scores divided by the threshold calibrated on them."""
        ratios = np.asarray(good_ratios, dtype=np.float64)
        if ratios.size == 0 or not np.isfinite(ratios).all():
            raise ValueError("need finite calibration ratios")
        return cls(median=max(float(np.median(ratios)), 1e-9))

    @classmethod
    def from_dict(cls, data: dict | None) -> DriftCalibration | None:
        if not data or "median" not in data:
            return None
        return cls(**{key: data[key] for key in ("median", "window", "min_history") if key in data})

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
        return max(float(np.median(recent)) / self.median, FLOOR)

    def judge(
        self, ratios: Sequence[float], keys: Sequence[int], history: Sequence[tuple[int, float]] = ()
    ) -> list[float]:
        """Threshold ratios for new layers, each judged against every layer that came before it.

        `keys` order the new layers among themselves and among `history`, the (key, ratio) pairs
        of layers judged earlier: the order they arrived in, whatever order they are scored in.
        """
        if len(keys) != len(ratios):
            raise ValueError(f"{len(ratios)} ratios but {len(keys)} keys")
        new = [(key, float(r), i) for i, (key, r) in enumerate(zip(keys, ratios, strict=True))]
        seen: list[float] = []
        thresholds = [1.0] * len(ratios)
        for _, ratio, index in sorted([(key, float(r), None) for key, r in history] + new, key=lambda e: e[0]):
            if index is not None:
                thresholds[index] = self.threshold_ratio(seen)
            seen.append(ratio)
        return thresholds
