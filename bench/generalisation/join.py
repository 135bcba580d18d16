"""Ways to join two scorers' scores, from two `run.py --dump` files of the same stream.

    .venv/bin/python bench/generalisation/run.py --resolution 512 --jobs 40 --dump local.csv
    .venv/bin/python bench/generalisation/run.py --scorer patchcore --jobs 40 --dump patchcore.csv
    .venv/bin/python bench/generalisation/join.py local.csv patchcore.csv

Both runs must use the same --seed (the same layers in the same order). Prints AUROC overall and
per defect kind for each scorer alone, the larger of the two (raw, and each over its own trained
threshold), their sum at a few weights, and a sum of scores standardised on the first good layers.
This is how `combined` (ml/scorers/combined) was chosen to add its two maps.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ml.evaluation import auroc  # noqa: E402

STANDARDISE_ON = 60  # first good layers whose median and MAD standardise each score


def _read(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    return (np.array([r["kind"] for r in rows]), np.array([float(r["score"]) for r in rows]),
            float(rows[0]["trained_threshold"]))


def _standardised(scores: np.ndarray, good: np.ndarray) -> np.ndarray:
    first = scores[np.flatnonzero(good)[:STANDARDISE_ON]]
    median = np.median(first)
    return (scores - median) / (1.4826 * np.median(np.abs(first - median)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path, help="the local scorer's dump")
    parser.add_argument("second", type=Path, help="the patch scorer's dump")
    args = parser.parse_args()
    kinds, a, threshold_a = _read(args.first)
    kinds_b, b, threshold_b = _read(args.second)
    if not np.array_equal(kinds, kinds_b):
        raise SystemExit("the two dumps are not the same stream: run both with the same --seed and --jobs")
    good = kinds == "good"
    joins = {
        "first alone": a,
        "second alone": b,
        "larger of the two": np.maximum(a, b),
        "larger, each over its threshold": np.maximum(a / threshold_a, b / threshold_b),
        **{f"sum, second weighted {w}": a + w * b for w in (0.5, 0.8, 1.0, 1.5)},
        "sum of standardised scores": _standardised(a, good) + _standardised(b, good),
    }
    names = sorted(set(kinds) - {"good"})
    print(f"{'join':34} {'AUROC':>6} " + " ".join(f"{name[:10]:>10}" for name in names))
    for label, scores in joins.items():
        per_kind = [auroc(scores[good | (kinds == k)], (kinds[good | (kinds == k)] == k).astype(int)) for k in names]
        overall = auroc(scores, (~good).astype(int))
        print(f"{label:34} {overall:6.3f} " + " ".join(f"{value:10.3f}" for value in per_kind))


if __name__ == "__main__":
    main()
