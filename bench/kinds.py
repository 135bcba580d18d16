"""Defect kinds: how often the per-machine kind classifier names a region's kind right.

    .venv/bin/python bench/kinds.py              # 3 machines, 5/20/50 fitting regions a kind
    .venv/bin/python bench/kinds.py --quick      # 1 machine, 20 a kind

Per machine (a seed of ml.synthetic) and kind, the fitting regions come from layers 0..n-1 and
the test regions from 200 other layers (numbered from 10,000, so no layer, noise or defect is
shared). A region is the strongest one of an ideal detector's heatmap (ml.kinds.synthetic: the
layer less its defect-free twin); a layer whose defect that detector misses is counted apart.
Scratches are labeled streak, as operators label them. The classifier (ml.kinds.KindClassifier)
is fitted on the four kinds of the target (streak, spatter, pit, short feed), and again on all
five, with super-elevation.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.kinds import KindClassifier  # noqa: E402
from ml.kinds.synthetic import LABEL_OF, synthetic_regions  # noqa: E402

TARGET = ("streak", "spatter", "pit", "short_feed")
TEST_FIRST, TEST_N = 10_000, 200


def _sample(seed: int, kinds: tuple[str, ...], n: int, first: int) -> tuple[np.ndarray, list[str], dict]:
    rows, labels, missed = [], [], {}
    for kind in kinds:
        generated = ("streak", "scratch") if kind == "streak" else (kind,)
        for source in generated:
            count = n // len(generated) + (n % len(generated) if source == generated[0] else 0)
            features, miss = synthetic_regions(seed=seed, n=count, kind=source, first=first)
            rows.append(features)
            labels += [LABEL_OF[source]] * len(features)
            missed[kind] = missed.get(kind, 0) + miss
    return np.concatenate(rows), labels, missed


def per_kind_accuracy(classifier: KindClassifier, rows: np.ndarray, labels: list[str]) -> dict[str, float]:
    predicted = [classifier.kinds[i] for i in classifier.probabilities(rows).argmax(axis=1)]
    return {
        kind: float(np.mean([p == kind for p, t in zip(predicted, labels, strict=True) if t == kind]))
        for kind in classifier.kinds
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds, sizes = ((1,), (20,)) if args.quick else ((1, 2, 3), (5, 20, 50))
    started = time.perf_counter()
    for kinds in (TARGET, (*TARGET, "super_elevation")):
        print(f"\nkinds: {', '.join(kinds)}")
        print(f"{'machine':>7} {'n/kind':>6} " + " ".join(f"{k[:11]:>11}" for k in kinds) + f" {'macro':>6}")
        macros = {n: [] for n in sizes}
        for seed in seeds:
            test_rows, test_labels, missed = _sample(seed, kinds, TEST_N, TEST_FIRST)
            for n in sizes:
                rows, labels, _ = _sample(seed, kinds, n, 0)
                accuracy = per_kind_accuracy(KindClassifier.fit(rows, labels), test_rows, test_labels)
                macro = float(np.mean(list(accuracy.values())))
                macros[n].append(macro)
                print(f"{seed:>7} {n:>6} " + " ".join(f"{accuracy[k]:>11.3f}" for k in kinds) + f" {macro:>6.3f}")
            print(f"{'':>7} missed by the ideal detector (of {TEST_N} test layers a kind): "
                  + ", ".join(f"{k} {missed[k]}" for k in kinds))
        for n in sizes:
            mean = np.mean(macros[n])
            print(f"macro-averaged accuracy, {n} regions a kind: {mean:.3f} (mean of {len(seeds)} machines)")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
