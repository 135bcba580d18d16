import itertools
import json
import math

import numpy as np
import pytest

from ml.evaluation import auroc, evaluate, format_report


def _pairwise_auroc(scores, labels):
    """AUROC from its definition: P(defective scores above good), ties counting one half."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_it_counts_the_confusion_matrix_by_hand():
    scores = np.array([0.1, 0.4, 0.5, 0.7, 0.9, 0.2, 0.6, 0.8])
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    metrics = evaluate(scores, labels, threshold=0.5)
    # Flagged (> 0.5): 0.7, 0.9 (good) and 0.6, 0.8 (defective). 0.5 itself is not flagged.
    assert (metrics.tp, metrics.fp, metrics.tn, metrics.fn) == (2, 2, 3, 1)
    assert metrics.confusion_matrix().tolist() == [[3, 2], [1, 2]]
    assert metrics.precision == pytest.approx(0.5)
    assert metrics.recall == pytest.approx(2 / 3)
    assert metrics.f1 == pytest.approx(4 / 7)
    assert metrics.false_positive_rate == pytest.approx(0.4)
    assert metrics.false_alarms_per_1000 == pytest.approx(400)
    # Pairs (defective, good) ordered correctly: 0.2 beats 1; 0.6 beats 3; 0.8 beats 4 -> 8/15.
    assert metrics.auroc == pytest.approx(8 / 15)


def test_it_counts_ties_as_half_in_auroc():
    scores = np.array([1.0, 2.0, 2.0, 3.0, 2.0])
    labels = np.array([0, 0, 1, 1, 1])
    # Each defective 2.0 beats good 1.0 and ties good 2.0 (1.5); 3.0 beats both (2): 5 of 6.
    assert auroc(scores, labels) == pytest.approx(5 / 6)


def test_it_agrees_with_the_pairwise_definition_on_random_tied_scores():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, 60).astype(float)
    labels = rng.integers(0, 2, 60)
    assert auroc(scores, labels) == pytest.approx(_pairwise_auroc(scores, labels), abs=1e-12)


def test_it_returns_nan_auroc_with_one_class_and_none_in_json():
    assert math.isnan(auroc(np.array([1.0, 2.0]), np.array([0, 0])))
    metrics = evaluate(np.array([1.0, 2.0]), np.array([0, 0]), threshold=1.5)
    as_dict = metrics.as_dict()
    assert as_dict["auroc"] is None
    assert as_dict["precision"] == 0.0  # no alarms raised: precision defined as 0
    json.dumps(as_dict, allow_nan=False)


def test_it_formats_a_readable_report():
    metrics = evaluate(np.array([0.1, 0.9, 0.8, 0.3]), np.array([0, 1, 0, 1]), threshold=0.5)
    report = format_report(metrics)
    assert "precision            0.500" in report
    assert "recall               0.500" in report
    rows = {line.split()[1]: line.split()[2:] for line in report.splitlines() if "actual" in line}
    assert rows == {"good": ["1", "1"], "defective": ["1", "1"]}
