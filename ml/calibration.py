"""Choose the alarm threshold for a scorer on one machine.

Everywhere in layerwatch a layer is anomalous when `score > threshold` (strictly greater), so a
score exactly at the threshold is not an alarm.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

# When there are too few good scores for the conformal rank to exist, the threshold goes this
# fraction of the observed score range above the maximum (or this fraction of |max| if all
# scores are equal), so that a layer scoring like the worst good one is still not flagged.
_FALLBACK_MARGIN = 0.01


@dataclass
class Calibration:
    threshold: float
    method: str  # "f1_sweep" or "fpr_target"
    details: dict = field(default_factory=dict)


def _as_scores(scores: np.ndarray, what: str = "scores") -> np.ndarray:
    array = np.asarray(scores, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"no {what} to calibrate on")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    return array


def _as_labels(labels: np.ndarray, n: int) -> np.ndarray:
    array = np.asarray(labels).ravel()
    if array.size != n:
        raise ValueError(f"got {n} scores but {array.size} labels")
    if not np.isin(array, (0, 1)).all():
        raise ValueError("labels must be 0 (good) or 1 (defective)")
    return array.astype(bool)


def calibrate_f1_sweep(scores: np.ndarray, labels: np.ndarray) -> Calibration:
    """Pick the threshold with the best F1 on labelled scores (1 = defective, 0 = good).

    Candidates are every distinct observed score, plus one just below the minimum (flag all).
    A candidate t flags the scores strictly above t. Ties in F1 go to the highest threshold,
    i.e. the fewest alarms for the same F1. Note that F1 measured on the same set it was chosen
    on is optimistic; report it on held-out layers.
    """
    values = _as_scores(scores)
    defective = _as_labels(labels, values.size)
    if not defective.any():
        raise ValueError("an F1 sweep needs at least one defective (label 1) score")

    candidates = np.unique(values)  # ascending
    candidates = np.concatenate(([np.nextafter(candidates[0], -np.inf)], candidates))
    bad_sorted = np.sort(values[defective])
    good_sorted = np.sort(values[~defective])
    # Number of scores strictly above each candidate, for each class.
    tp = bad_sorted.size - np.searchsorted(bad_sorted, candidates, side="right")
    fp = good_sorted.size - np.searchsorted(good_sorted, candidates, side="right")
    fn = bad_sorted.size - tp
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(candidates.size), where=tp > 0)
    # argmax returns the first maximum; search reversed so the highest threshold wins ties.
    best = candidates.size - 1 - int(np.argmax(f1[::-1]))
    precision = tp[best] / (tp[best] + fp[best]) if tp[best] + fp[best] else 0.0
    return Calibration(
        threshold=float(candidates[best]),
        method="f1_sweep",
        details={
            "f1": float(f1[best]),
            "precision": float(precision),
            "recall": float(tp[best] / bad_sorted.size),
            "n_good": int(good_sorted.size),
            "n_defective": int(bad_sorted.size),
        },
    )


def calibrate_fpr_target(good_scores: np.ndarray, target_fpr: float = 0.01) -> Calibration:
    """Split-conformal threshold from good layers only.

    With n good calibration scores and alpha = target_fpr, the threshold is the
    ceil((n + 1)(1 - alpha))-th smallest score. For a new good layer exchangeable with the
    calibration ones, P(score > threshold) <= alpha. If that rank exceeds n (fewer than about
    1/alpha good layers), no observed score satisfies the bound: the threshold is set a small
    margin above the maximum and `details["guarantee"]` is False.
    """
    if not 0.0 < target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in (0, 1), got {target_fpr}")
    values = np.sort(_as_scores(good_scores, "good scores"))
    n = values.size
    rank = math.ceil((n + 1) * (1.0 - target_fpr) - 1e-9)  # tolerance: (n+1)(1-a) is often integral
    details: dict = {"target_fpr": target_fpr, "n_calibration": n, "rank": rank}
    if rank <= n:
        threshold = float(values[rank - 1])
        # Exact for continuous scores: the new score lands in any of the n + 1 slots equally.
        expected_fpr = (n + 1 - rank) / (n + 1)
        details["guarantee"] = True
    else:
        top = float(values[-1])
        spread = top - float(values[0])
        margin = _FALLBACK_MARGIN * (spread if spread > 0 else max(abs(top), 1e-12))
        threshold = top + margin
        expected_fpr = 1 / (n + 1)  # upper bound: P(new good score > current maximum)
        details["guarantee"] = False
        details["note"] = (
            f"only {n} good scores: the conformal rank {rank} exceeds n, so the threshold is the "
            f"maximum plus {margin:.6g}; need at least {math.ceil(1 / target_fpr) - 1} good "
            f"layers to guarantee a false-positive rate of {target_fpr:g}"
        )
    details["expected_false_alarms_per_1000"] = 1000.0 * expected_fpr
    return Calibration(threshold=threshold, method="fpr_target", details=details)


# Euler-Mascheroni: the mean of a standard Gumbel distribution.
_EULER_GAMMA = 0.5772156649


def calibrate_gumbel_tail(good_scores: np.ndarray, target_fpr: float) -> Calibration:
    """Threshold at a false-positive rate too small for the good scores at hand to show.

    A score that is the mean of a map's few highest pixels behaves like a maximum, whose tail is
    Gumbel's. The Gumbel law is fitted by its moments (mean and standard deviation) and the
    threshold is its upper `target_fpr` point. Unlike the conformal rank it extrapolates: use it
    where the rank would need many more layers than there are.
    """
    if not 0.0 < target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in (0, 1), got {target_fpr}")
    values = _as_scores(good_scores, "good scores")
    if values.size < 2:
        raise ValueError("a Gumbel tail needs at least 2 good scores")
    scale = float(values.std(ddof=1)) * math.sqrt(6) / math.pi
    location = float(values.mean()) - _EULER_GAMMA * scale
    threshold = location - scale * math.log(-math.log1p(-target_fpr))
    details = {"target_fpr": target_fpr, "n_calibration": int(values.size), "location": location, "scale": scale}
    return Calibration(threshold=float(threshold), method="gumbel_tail", details=details)


def calibrate(scores: np.ndarray, labels: np.ndarray | None = None, target_fpr: float = 0.01) -> Calibration:
    """F1 sweep when both good and defective labels are present, else the FPR target.

    Without labels every score is taken to come from a good layer.
    """
    values = _as_scores(scores)
    if labels is None:
        return calibrate_fpr_target(values, target_fpr)
    defective = _as_labels(labels, values.size)
    if defective.any() and not defective.all():
        return calibrate_f1_sweep(values, defective.astype(int))
    if defective.all():
        raise ValueError("every label is defective: there are no good scores to calibrate on")
    return calibrate_fpr_target(values, target_fpr)


def holdout_split(
    jobs: Sequence[Hashable], indexes: Sequence[int], fraction: float = 0.2, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Positions of the layers to train on and of those held out to calibrate on.

    A new job brings part layouts the model has never seen, and its layers score higher than
    layers of a trained layout. Layers held out at random share their layouts with the training
    layers of the same job, so a threshold calibrated on them alarms far more often than its
    target on new jobs. So whole jobs are held out (chosen at random, about `fraction` of the
    layers, never more than twice that); failing that, the latest `fraction` of each job's layers.
    """
    if not 0.0 < fraction < 0.5:
        raise ValueError(f"fraction must be in (0, 0.5), got {fraction}")
    n = len(indexes)
    if len(jobs) != n:
        raise ValueError(f"got {len(jobs)} jobs but {n} indexes")
    wanted = max(1, round(n * fraction))
    members: dict[Hashable, list[int]] = {}
    for position, job in enumerate(jobs):
        members.setdefault(job, []).append(position)
    holdout: list[int] = []
    if len(members) > 1:
        order = np.random.default_rng(seed).permutation(len(members))
        keys = list(members)
        for key in (keys[i] for i in order):
            if len(holdout) >= wanted:
                break
            if len(holdout) + len(members[key]) <= 2 * wanted:
                holdout += members[key]
    if not holdout:  # one job, or every job too large to hold out whole
        for positions in members.values():
            latest = sorted(positions, key=lambda p: indexes[p])
            holdout += latest[len(latest) - max(1, round(len(latest) * fraction)) :]
    held = set(holdout)
    return [p for p in range(n) if p not in held], sorted(held)


def sample_runs(
    jobs: Sequence[Hashable], indexes: Sequence[int], limit: int, run_length: int = 40, seed: int = 0
) -> list[int]:
    """Positions of at most `limit` layers, drawn as runs of up to `run_length` consecutive layers
    of one job, in random order; all of them where there are no more than `limit`.

    Layers drawn one by one from a large archive are rarely next to each other, and the change
    channel, which compares a layer with the layers before it, is calibrated on sequences.
    """
    n = len(indexes)
    if len(jobs) != n:
        raise ValueError(f"got {len(jobs)} jobs but {n} indexes")
    if n <= limit:
        return list(range(n))
    members: dict[Hashable, list[int]] = {}
    for position, job in enumerate(jobs):
        members.setdefault(job, []).append(position)
    runs = []
    for positions in members.values():
        ordered = sorted(positions, key=lambda p: indexes[p])
        runs += [ordered[i : i + run_length] for i in range(0, len(ordered), run_length)]
    picked: list[int] = []
    for i in np.random.default_rng(seed).permutation(len(runs)):
        picked += runs[i][: limit - len(picked)]
        if len(picked) >= limit:
            break
    return sorted(picked)
