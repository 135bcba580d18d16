"""Detection metrics for a scorer at a threshold. A layer is flagged when `score > threshold`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of the ranks they span (like scipy's rankdata)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Start index of each run of equal values, and the run each sorted position belongs to.
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    ends = np.concatenate((starts[1:], [values.size]))
    run_of = np.repeat(np.arange(starts.size), ends - starts)
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = ((starts + 1 + ends) / 2.0)[run_of]
    return ranks


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic (ties count one half).

    Labels: 1 = defective (positive), 0 = good. NaN when one class is missing.
    """
    values = np.asarray(scores, dtype=np.float64).ravel()
    positive = np.asarray(labels).ravel().astype(bool)
    if values.size != positive.size:
        raise ValueError(f"got {values.size} scores but {positive.size} labels")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    rank_sum = _average_ranks(values)[positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass
class Metrics:
    """Counts and rates at one threshold. Rates with an empty denominator are 0.0, AUROC NaN.

    `false_alarms_per_1000` is per 1000 good layers (1000 x false-positive rate).
    """

    tp: int
    fp: int
    tn: int
    fn: int
    precision: float
    recall: float
    f1: float
    auroc: float
    false_positive_rate: float
    false_alarms_per_1000: float
    threshold: float

    def as_dict(self) -> dict:
        """JSON-safe: NaN becomes None."""
        return {
            key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in asdict(self).items()
        }

    def confusion_matrix(self) -> np.ndarray:
        """[[tn, fp], [fn, tp]]: rows are the truth (good, defective), columns the verdict."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]], dtype=np.int64)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def evaluate(scores: np.ndarray, labels: np.ndarray, threshold: float) -> Metrics:
    values = np.asarray(scores, dtype=np.float64).ravel()
    truth = np.asarray(labels).ravel().astype(bool)
    if values.size != truth.size:
        raise ValueError(f"got {values.size} scores but {truth.size} labels")
    flagged = values > threshold
    tp = int(np.sum(flagged & truth))
    fp = int(np.sum(flagged & ~truth))
    tn = int(np.sum(~flagged & ~truth))
    fn = int(np.sum(~flagged & truth))
    false_positive_rate = _ratio(fp, fp + tn)
    return Metrics(
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        auroc=auroc(values, truth),
        false_positive_rate=false_positive_rate,
        false_alarms_per_1000=1000.0 * false_positive_rate,
        threshold=float(threshold),
    )


def format_report(metrics: Metrics) -> str:
    """A plain-text report: rates, then the confusion matrix."""
    auroc_text = "n/a" if math.isnan(metrics.auroc) else f"{metrics.auroc:.3f}"
    lines = [
        f"threshold            {metrics.threshold:.6g}  (flag when score > threshold)",
        f"precision            {metrics.precision:.3f}",
        f"recall               {metrics.recall:.3f}",
        f"F1                   {metrics.f1:.3f}",
        f"AUROC                {auroc_text}",
        f"false-positive rate  {metrics.false_positive_rate:.3f}",
        f"false alarms / 1000  {metrics.false_alarms_per_1000:.1f}  (per 1000 good layers)",
        "",
        "                    predicted good  predicted defective",
        f"actual good         {metrics.tn:>14}  {metrics.fp:>19}",
        f"actual defective    {metrics.fn:>14}  {metrics.tp:>19}",
    ]
    return "\n".join(lines)
