"""Detection benchmark: the seed scorer against the new default, same data, same run.

    .venv/bin/python bench/detection.py            # full: 4 folds on PBLM, 2 synthetic machines
    .venv/bin/python bench/detection.py --quick    # fewer epochs, one synthetic machine

(a) PBLM real frames: the 12 good frames are split into 4 folds of 3. For fold i the model
    trains on 6 good frames, is calibrated (the platform's FPR-target rule, no defects seen) on
    fold i+1 and tested on fold i's good frames plus all 36 defective frames. Scores are pooled
    across folds as (score - threshold) / |threshold|, so 0 is each fold's own threshold.
(b) Synthetic (ml.synthetic): train on good layers of a 4-group job, calibrate on other good
    layers of the job, test on new good layers with benign variation and on each defect kind.
(c) Localisation on (b), (d), (e) and (f): share of defective layers whose heatmap peak lies inside the
    true mask dilated by 3 px.
(d) Real frames, subtle defects: the PBLM good frames in 4 folds; each fold's 9 other frames
    are split at random, 80% to train and 20% to calibrate on (padded with benign variants, as
    the platform pads them). The 3 held-out frames are tested as they are, in benign variants
    (exposure, noise, camera shift) and with each synthetic defect kind painted on them
    (ml.synthetic.on_frames).
(e) New part layouts: train on three earlier jobs of one synthetic machine, calibrate on a fourth
    held out whole (as the platform holds out jobs), test on two later jobs where every layer has
    parts the model never saw: good, and with each defect kind.
(f) Later frames, subtle defects: as (d), but split in build order: train on the first 6 good
    frames, calibrate on the next 2 and test the last 4, as a new machine would meet frames
    taken after the ones it was trained on. One split, so fewer layers than (d).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.plots import draw_curves, pr_points, roc_points  # noqa: E402
from ml.calibration import calibrate  # noqa: E402
from ml.calibration_set import calibration_set  # noqa: E402
from ml.evaluation import auroc, evaluate  # noqa: E402
from ml.preprocess import preprocess_batch  # noqa: E402
from ml.scorers import get_scorer_class  # noqa: E402
from ml.synthetic import DEFECT_KINDS, generate_job, generate_layers  # noqa: E402
from ml.synthetic.on_frames import paint_on_frame  # noqa: E402

# The real PBLM sample kept in the repository (data/pblm, MIT), or where LAYERWATCH_PBLM_DIR says.
PBLM = Path(os.environ.get("LAYERWATCH_PBLM_DIR") or ROOT / "data" / "pblm")
GROUPS = 4


@dataclass
class Run:
    """Pooled test outcomes of one scorer: margins (score over threshold) and labels."""

    margins: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    kinds: list = field(default_factory=list)
    hits: list = field(default_factory=list)  # heatmap peak inside the mask, defective only
    train_seconds: float = 0.0

    def add_scored(self, result, threshold, labels, kinds, masks):
        """Add a ScoreResult, with whether each defective layer's heatmap peak is in its mask."""
        peaks = [np.unravel_index(np.argmax(h), h.shape) for h in result.heatmaps]
        hits = [bool(m[p]) if lab else None for m, p, lab in zip(masks, peaks, labels, strict=True)]
        self.add(result.scores, threshold, labels, kinds, hits)

    def add(self, scores, threshold, labels, kinds, hits=None):
        self.margins.extend((np.asarray(scores) - threshold) / max(abs(threshold), 1e-12))
        self.labels.extend(labels)
        self.kinds.extend(kinds)
        self.hits.extend(hits if hits is not None else [None] * len(labels))


def fit_and_calibrate(name, config, train, calibration, epochs, seed):
    scorer = get_scorer_class(name)(config if name != "seed" else None)
    started = time.perf_counter()
    scorer.fit(train, epochs=epochs, seed=seed, verbose=False)
    seconds = time.perf_counter() - started
    threshold = calibrate(scorer.score(calibration_set(calibration, seed=seed)).scores).threshold
    return scorer, threshold, seconds


def load_pblm() -> tuple[np.ndarray, np.ndarray, list[str]]:
    with open(PBLM / "manifest.csv") as handle:
        rows = list(csv.DictReader(handle))
    images = preprocess_batch(np.asarray(Image.open(PBLM / r["path"]).convert("L")) for r in rows)
    labels = np.array([r["label"] == "defective" for r in rows], dtype=int)
    return images, labels, [r["source_class"] for r in rows]


def bench_pblm(names, config, epochs, folds=4) -> dict[str, Run]:
    images, labels, kinds = load_pblm()
    good = np.flatnonzero(labels == 0)
    bad = np.flatnonzero(labels == 1)
    parts = np.array_split(good, folds)
    runs = {name: Run() for name in names}
    for i in range(folds):
        test, calib = parts[i], parts[(i + 1) % folds]
        train = np.setdiff1d(good, np.concatenate([test, calib]))
        idx = np.concatenate([test, bad])
        for name in names:
            scorer, threshold, seconds = fit_and_calibrate(name, config, images[train], images[calib], epochs, seed=i)
            runs[name].train_seconds += seconds
            scores = scorer.score(images[idx]).scores
            runs[name].add(scores, threshold, labels[idx], [kinds[j] for j in idx])
    return runs


def benign_variant(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exposure gain and offset, sensor noise and a camera shift of up to 3 px.

    The shift is by whole pixels: interpolating would blur the frame, which a camera does not.
    Deliberately not ml.residuals.augment_benign, which the scorer trains on: testing with the
    very augmentation it learned would flatter it.
    """
    shift = np.round(np.clip(rng.normal(0, 1.2, 2), -3, 3))
    moved = ndimage.shift(frame, shift, order=0, mode="nearest")
    gain, offset = rng.uniform(0.9, 1.1), rng.uniform(-8, 8) / 255
    noise = rng.normal(0, 1.5 / 255, frame.shape)
    return np.clip(gain * moved + offset + noise, 0, 1).astype(np.float32)


def fold_splits(good: np.ndarray, folds: int = 4) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(train, calibration, test) for (d): each fold tested, the rest split 80/20 at random."""
    splits = []
    for i, test in enumerate(np.array_split(good, folds)):
        order = np.random.default_rng(i).permutation(np.setdiff1d(good, test))
        n_calib = max(1, round(0.2 * len(order)))
        splits.append((order[n_calib:], order[:n_calib], test))
    return splits


def later_frames_split(good: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(f): train on the build's first half, calibrate on the next sixth, test the last third."""
    half, calibration_end = len(good) // 2, len(good) // 2 + max(1, len(good) // 6)
    return [(good[:half], good[half:calibration_end], good[calibration_end:])]


def bench_painted(names, config, epochs, variants, per_kind, split=fold_splits, draws=7) -> dict[str, Run]:
    images, labels, _ = load_pblm()
    good = np.flatnonzero(labels == 0)
    runs = {name: Run() for name in names}
    for i, (train, calib, test) in enumerate(split(good)):
        rng = np.random.default_rng([draws, i])
        cases = []
        for j in test:
            clean = np.zeros(images[j].shape, bool)
            cases.append(("good", images[j], clean))
            cases += [("good", benign_variant(images[j], rng), clean) for _ in range(variants)]
            for kind in DEFECT_KINDS:
                for _ in range(per_kind):
                    painted, mask = paint_on_frame(images[j], kind, rng)
                    cases.append((kind, benign_variant(painted, rng), mask))
        test_images = np.stack([c[1] for c in cases])
        test_labels = np.array([c[0] != "good" for c in cases], dtype=int)
        masks = [ndimage.binary_dilation(c[2], iterations=3) for c in cases]
        for name in names:
            scorer, threshold, seconds = fit_and_calibrate(name, config, images[train], images[calib], epochs, seed=i)
            runs[name].train_seconds += seconds
            runs[name].add_scored(scorer.score(test_images), threshold, test_labels, [c[0] for c in cases], masks)
    return runs


def stack_layers(layers):
    return np.stack([layer.image for layer in layers]).astype(np.float32) / 255.0


def bench_synthetic(names, config, epochs, machines, n_good, n_bad) -> dict[str, Run]:
    runs = {name: Run() for name in names}
    for machine in machines:
        job = generate_job(seed=machine, n_layers=30 * GROUPS)
        train = stack_layers(job[0::2])
        calib = stack_layers(job[1::4])
        tests = [
            (None, layer)
            for g in range(GROUPS)
            for layer in generate_layers(seed=machine, n=n_good, group=g, first=g * n_good)
        ]
        # Every test layer has its own index, so none shares its noise, exposure or defect.
        tests += [
            (kind, layer)
            for k, kind in enumerate(DEFECT_KINDS)
            for g in range(GROUPS)
            for layer in generate_layers(
                seed=machine, n=n_bad, defect_kind=kind, group=g, first=n_good * GROUPS + (k * GROUPS + g) * n_bad
            )
        ]
        score_synthetic(runs, config, epochs, train, calib, tests, seed=machine)
    return runs


def score_synthetic(runs, config, epochs, train, calibration, tests, seed) -> None:
    """Fit and calibrate each scorer in `runs`, then score the (defect kind or None, layer) tests."""
    images = stack_layers([layer for _, layer in tests])
    labels = np.array([k is not None for k, _ in tests], dtype=int)
    kinds = [k or "good" for k, _ in tests]
    masks = [ndimage.binary_dilation(layer.mask, iterations=3) for _, layer in tests]
    for name, run in runs.items():
        scorer, threshold, seconds = fit_and_calibrate(name, config, train, calibration, epochs, seed=seed)
        run.train_seconds += seconds
        run.add_scored(scorer.score(images), threshold, labels, kinds, masks)


LAYOUT_MACHINE, PAST_JOBS, CALIBRATION_JOB, NEW_JOBS = 1, (101, 102, 103), 104, (201, 202)


def bench_layouts(names, config, epochs, n_good, n_bad) -> dict[str, Run]:
    def job_layers(seed, step):
        return stack_layers(generate_job(seed=seed, machine_seed=LAYOUT_MACHINE, n_layers=30 * GROUPS)[::step])

    train = np.concatenate([job_layers(seed, 4) for seed in PAST_JOBS])
    calibration = job_layers(CALIBRATION_JOB, 6)
    tests = []
    for seed in NEW_JOBS:
        # With no group given, layer i shows group i's parts: a new layout on every layer.
        tests += [(None, layer) for layer in generate_layers(seed=seed, machine_seed=LAYOUT_MACHINE, n=n_good)]
        tests += [
            (kind, layer)
            for k, kind in enumerate(DEFECT_KINDS)
            for layer in generate_layers(
                seed=seed, machine_seed=LAYOUT_MACHINE, n=n_bad, defect_kind=kind, first=n_good + k * n_bad
            )
        ]
    runs = {name: Run() for name in names}
    score_synthetic(runs, config, epochs, train, calibration, tests, seed=0)
    return runs


def equal_recall_fpr(margins, labels, recall) -> float:
    bad = np.sort(margins[labels == 1])[::-1]
    k = max(1, int(np.ceil(recall * bad.size)))
    cut = bad[k - 1]
    return float(np.mean(margins[labels == 0] >= cut))


def rows_for(runs: dict[str, Run], by_kind: bool) -> list[list[str]]:
    rows = []
    for name, run in runs.items():
        margins, labels = np.array(run.margins), np.array(run.labels)
        kinds = np.array(run.kinds)
        groups = [("all", np.ones(labels.size, bool))]
        if by_kind:
            groups += [(k, (kinds == k) | (labels == 0)) for k in dict.fromkeys(kinds[labels == 1])]
        for label, keep in groups:
            m = evaluate(margins[keep], labels[keep], 0.0)
            hits = [h for h, k in zip(run.hits, keep, strict=True) if k and h is not None]
            loc = f"{np.mean(hits):.2f}" if hits else "-"
            rows.append(
                [
                    label,
                    name,
                    f"{m.auroc:.3f}",
                    f"{m.f1:.3f}",
                    f"{m.precision:.3f}",
                    f"{m.recall:.3f}",
                    f"{m.false_alarms_per_1000:.0f}",
                    loc,
                ]
            )
    rows.sort(key=lambda r: (r[0] != "all", r[0]))
    return rows


def print_table(title, runs, by_kind):
    header = ["set", "scorer", "AUROC", "F1", "prec", "recall", "FA/1000", "peak-in-mask"]
    rows = [header] + rows_for(runs, by_kind)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    print(f"\n{title}")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    names = list(runs)
    if len(names) >= 2:
        base, new = runs[names[0]], runs[names[-1]]
        lab = np.array(new.labels)
        new_margins = np.array(new.margins)
        recall = float(np.mean(new_margins[lab == 1] > 0))
        fpr_base = equal_recall_fpr(np.array(base.margins), np.array(base.labels), recall)
        fpr_new = equal_recall_fpr(new_margins, lab, recall)
        n_good = int(np.sum(lab == 0))
        ratio = (
            f"{fpr_base / fpr_new:.1f}x"
            if fpr_new > 0
            else (f">= {fpr_base * n_good:.0f}x (new has 0 false alarms in {n_good})")
        )
        print(
            f"at equal recall {recall:.3f}: false alarms/1000 {names[0]} {1000 * fpr_base:.0f}, "
            f"{names[-1]} {1000 * fpr_new:.0f}; ratio {ratio}"
        )
    for name, run in runs.items():
        print(f"training time {name}: {run.train_seconds:.0f} s in total")


def save_curves(tag: str, runs: dict[str, Run], folder: Path) -> None:
    roc, pr = [], []
    for name, run in runs.items():
        margins, labels = np.array(run.margins), np.array(run.labels)
        fpr, tpr = roc_points(margins, labels)
        recall, precision = pr_points(margins, labels)
        roc.append((f"{name} AUROC {auroc(margins, labels):.3f}", fpr, tpr))
        pr.append((name, recall, precision))
    draw_curves(folder / f"roc_{tag}.png", f"ROC, {tag}", roc, "false-positive rate", "recall")
    draw_curves(folder / f"pr_{tag}.png", f"precision-recall, {tag}", pr, "recall", "precision")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and layers")
    parser.add_argument("--epochs", type=int, help="default 8, or 4 with --quick")
    parser.add_argument("--scorers", nargs="+", default=["seed", "local"])
    parser.add_argument("--set", nargs="*", default=[], help="key=json for the new scorer")
    parser.add_argument("--only", choices=["pblm", "painted", "later", "synthetic", "layouts"])
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument(
        "--draws", type=int, default=7, help="seed of the variants and painted defects in (d) and (f)"
    )
    args = parser.parse_args()
    epochs = args.epochs or (4 if args.quick else 8)
    config = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    print(f"scorers {args.scorers}, epochs {epochs}, config {config or 'default'}")
    if args.only in (None, "pblm"):
        runs = bench_pblm(args.scorers, config, epochs, folds=4)
        print_table("(a) PBLM real frames, 4-fold over good frames, calibrated on held-out good", runs, by_kind=True)
        save_curves("pblm", runs, args.images)
    if args.only in (None, "painted"):
        variants, per_kind = (3, 1) if args.quick else (9, 3)
        runs = bench_painted(args.scorers, config, epochs, variants, per_kind, draws=args.draws)
        title = "(d) real PBLM frames held out, subtle defects painted on them; peak-in-mask = (c)"
        print_table(title, runs, by_kind=True)
        save_curves("painted", runs, args.images)
    if args.only in (None, "later"):
        variants, per_kind = (3, 1) if args.quick else (9, 3)
        split = later_frames_split
        runs = bench_painted(args.scorers, config, epochs, variants, per_kind, split=split, draws=args.draws)
        title = "(f) later PBLM frames: train on the first half, calibrate on the next 2, test the last 4"
        print_table(title, runs, by_kind=True)
        save_curves("later", runs, args.images)
    if args.only in (None, "synthetic"):
        machines = [1] if args.quick else [1, 2]
        n_good, n_bad = (5, 2) if args.quick else (25, 4)
        runs = bench_synthetic(args.scorers, config, epochs, machines, n_good, n_bad)
        print_table("(b, c) synthetic layers, row per defect kind; peak-in-mask = (c)", runs, by_kind=True)
        save_curves("synthetic", runs, args.images)
    if args.only in (None, "layouts"):
        n_good, n_bad = (20, 3) if args.quick else (40, 6)
        runs = bench_layouts(args.scorers, config, epochs, n_good, n_bad)
        print_table("(e) new part layouts: earlier jobs trained on, later jobs' layouts never seen", runs, by_kind=True)
        save_curves("layouts", runs, args.images)


if __name__ == "__main__":
    main()
