"""The change channel's calibration: its threshold from good jobs' change scores."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

import numpy as np

from ml.calibration import calibrate_gumbel_tail
from ml.change.scoring import change_scores

# The channel's per-layer false-positive target. The Gumbel tail fitted to good layers' scores can
# sit below what several of them reach where the tails are heavy, so the threshold is never below
# the CHANGE_FLOOR_RANK-th highest good score either: one that three good layers passed is too
# low, and a defect or two among the calibration layers does not move it.
CHANGE_TARGET_FPR = 0.001
CHANGE_FLOOR_RANK = 3
MIN_CHANGE_SCORES = 30


@dataclass(frozen=True)
class ChangeCalibration:
    """Where the change score of good layers sits (`baseline`, their median), the threshold, and
    how many scores they were fitted to."""

    baseline: float
    threshold: float
    n_scores: int


def change_calibrate_jobs(jobs, stated_layouts=None) -> ChangeCalibration | None:
    """change_calibrate() on good jobs' images, each (n, H, W) stack of one job's consecutive
    layers scored in order (change_scores), with each job's `stated_layouts` where given."""
    stated_layouts = repeat(None) if stated_layouts is None else stated_layouts
    # zip, not strict: `jobs` may be a generator (one job's images in memory at a time).
    scores = [change_scores(images, stated_layouts=stated) for images, stated in zip(jobs, stated_layouts)]  # noqa: B905
    return change_calibrate(np.concatenate(scores or [np.empty(0)]))


def change_calibrate(scores: np.ndarray) -> ChangeCalibration | None:
    """The channel's calibration from good jobs' change scores, each job scored in order (NaNs
    ignored): a Gumbel tail at CHANGE_TARGET_FPR, never below the CHANGE_FLOOR_RANK-th highest
    score. None where there are too few scores to fit the tail.

    The channel learns nothing from the layers it is calibrated on, so every good job serves,
    not only the ones held out from the scorer's training."""
    values = np.asarray(scores, dtype=np.float64)
    values = values[~np.isnan(values)]
    if len(values) < MIN_CHANGE_SCORES:
        return None
    gumbel = calibrate_gumbel_tail(values, target_fpr=CHANGE_TARGET_FPR).threshold
    threshold = max(gumbel, float(np.sort(values)[-CHANGE_FLOOR_RANK]))
    return ChangeCalibration(baseline=float(np.median(values)), threshold=float(threshold), n_scores=len(values))
