"""Layer groups benchmark: one global threshold against a threshold per layer group, same scores.

    .venv/bin/python bench/groups.py                      # seed scorer, 2 synthetic machines
    .venv/bin/python bench/groups.py --scorers seed local --epochs 3

For each synthetic machine (ml.synthetic, 4 part groups): the scorer trains on good layers of
every group; groups are found by ml.groups on the training layers (not from the true labels);
thresholds are calibrated from other good layers only (split conformal, the platform's rule),
once over all of them (global) and once per found group; then both are tested on new good
layers (false alarms per 1000) and on defective layers of every kind (recall). Same scores for
both rows: only the threshold differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.calibration import calibrate_fpr_target  # noqa: E402
from ml.groups import embed_layers, fit_groups, min_calibration_layers  # noqa: E402
from ml.preprocess import preprocess_batch  # noqa: E402
from ml.scorers import SCORERS, get_scorer_class  # noqa: E402
from ml.synthetic import DEFECT_KINDS, generate_layers  # noqa: E402

GROUPS = 4


def _images(layers) -> np.ndarray:
    return preprocess_batch(layer.image for layer in layers)


def machine_data(seed: int, n_train: int, n_calib: int, n_test: int, n_bad: int) -> dict:
    """Per split: images, true group of each layer and (test only) whether it is defective."""
    out = {k: {"images": [], "group": [], "bad": []} for k in ("train", "calib", "test")}
    cuts = (n_train, n_train + n_calib, n_train + n_calib + n_test)
    for group in range(GROUPS):
        good = generate_layers(seed=seed, n=cuts[2], group=group)
        parts = (good[: cuts[0]], good[cuts[0] : cuts[1]], good[cuts[1] :])
        for split, part in zip(("train", "calib", "test"), parts, strict=True):
            out[split]["images"].append(_images(part))
            out[split]["group"] += [group] * len(part)
            out[split]["bad"] += [False] * len(part)
        per_kind = max(1, n_bad // len(DEFECT_KINDS))
        for kind in DEFECT_KINDS:  # the test layers' own indices, with a defect painted in
            bad = generate_layers(seed=seed, n=cuts[1] + per_kind, group=group, defect_kind=kind)[cuts[1] :]
            out["test"]["images"].append(_images(bad))
            out["test"]["group"] += [group] * len(bad)
            out["test"]["bad"] += [True] * len(bad)
    for split in out.values():
        split["images"] = np.concatenate(split["images"])
        split["group"], split["bad"] = np.asarray(split["group"]), np.asarray(split["bad"])
    return out


def rates(scores: np.ndarray, thresholds: np.ndarray, bad: np.ndarray) -> tuple[float, float]:
    flagged = scores > thresholds
    return 1000 * flagged[~bad].mean(), flagged[bad].mean()


def run(scorer_name: str, seed: int, data: dict, epochs: int, targets: list[float]) -> list[str]:
    started = time.perf_counter()
    scorer = get_scorer_class(scorer_name)()
    scorer.fit(data["train"]["images"], epochs=epochs, seed=seed, verbose=False)
    calib = scorer.score(data["calib"]["images"]).scores
    test = scorer.score(data["test"]["images"]).scores
    groups = fit_groups(embed_layers(data["train"]["images"]), seed=seed)
    g_calib = groups.assign(embed_layers(data["calib"]["images"]))
    g_test = groups.assign(embed_layers(data["test"]["images"]))
    agree = _agreement(g_test, data["test"]["group"])
    bad = data["test"]["bad"]
    lines = [
        f"{scorer_name} machine {seed}: {groups.n_groups} groups found (true {GROUPS}, test-layer agreement "
        f"{agree:.0%}), {len(calib)} calibration layers, {(~bad).sum()} good + {bad.sum()} defective test layers, "
        f"{time.perf_counter() - started:.0f} s"
    ]
    for target in targets:
        global_t = calibrate_fpr_target(calib, target).threshold
        # The platform's rule: a group too small for the conformal bound keeps the global threshold.
        per_group = np.array([
            calibrate_fpr_target(calib[g_calib == g], target).threshold
            if (g_calib == g).sum() >= min_calibration_layers(target) else global_t
            for g in range(groups.n_groups)
        ])
        for name, thresholds in (("global", np.full(len(test), global_t)), ("per group", per_group[g_test])):
            fa, recall = rates(test, thresholds, bad)
            worst = max(1000 * (test[(g_test == g) & ~bad] > thresholds[(g_test == g) & ~bad]).mean()
                        for g in range(groups.n_groups) if ((g_test == g) & ~bad).any())
            lines.append(
                f"  target FPR {target:>4.0%}  {name:<9}  false alarms/1000 good {fa:6.1f}  "
                f"(worst group {worst:6.1f})  recall {recall:6.1%}"
            )
    return lines


def _agreement(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of layers whose found group is the one most of their true group went to."""
    hits = sum(np.bincount(found[truth == t]).max() for t in np.unique(truth))
    return hits / len(truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scorers", nargs="+", default=["seed"], choices=sorted(SCORERS))
    parser.add_argument("--machines", nargs="+", type=int, default=[11, 12])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train", type=int, default=60, help="good training layers per group")
    parser.add_argument("--calib", type=int, default=100, help="good calibration layers per group")
    parser.add_argument("--test", type=int, default=150, help="good test layers per group")
    parser.add_argument("--bad", type=int, default=30, help="defective test layers per group")
    args = parser.parse_args()
    for seed in args.machines:
        data = machine_data(seed, args.train, args.calib, args.test, args.bad)
        for name in args.scorers:
            print("\n".join(run(name, seed, data, args.epochs, [0.01, 0.05])), flush=True)


if __name__ == "__main__":
    main()
