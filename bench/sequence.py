"""Sequential layer analysis: the per-layer score alone against scores that use the job's
previous layers (bench.research.sequence, ml.layout_memory), on synthetic jobs with persistent defects.

    .venv/bin/python bench/sequence.py [--quick] [--scorer local] [--epochs 20]

One synthetic machine. The scorer trains on the machine's earlier jobs less a held-out job, as
apps.scoring.training does (ml.calibration.holdout_split); every variant's threshold is
calibrated on that held-out job at 1% FPR (calibrate(), the product's rule), except layout
memory, which the product judges against the per-layer threshold, and the change channel
(ml.change), which ml.change.calibration.change_calibrate calibrates on all the earlier jobs, as
the product does. "alert score" is what the product's alert rules judge: the higher of the two
channels, each over its own threshold (ml.alert_score). Test jobs are later
jobs of the same machine (new part layouts) with defects of random kinds that persist for
PERSISTENCE layers. Layers are defective while a defect is on them.

Columns: AUROC over the test layers; F1, recall and false alarms per 1000 good layers at the
calibrated threshold; delay: median layers from a defect's onset to the first layer over the
threshold (events never over it count as missed, not in the median); missed: share of events.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.research.sequence import (  # noqa: E402
    combine,
    layout_baseline_residual,
    persistence,
    previous_layer_residual,
    same_embedding_as_previous,
    spatial_persistence,
)
from ml.alert_score import alert_score_combine  # noqa: E402
from ml.calibration import calibrate, holdout_split  # noqa: E402
from ml.change.calibration import change_calibrate_jobs  # noqa: E402
from ml.change.scoring import change_scores  # noqa: E402
from ml.evaluation import evaluate  # noqa: E402
from ml.groups import embed_layers  # noqa: E402
from ml.layout_memory.scoring import layout_memory_scores  # noqa: E402
from ml.preprocess import preprocess_batch  # noqa: E402
from ml.scorers import DEFAULT_SCORER, get_scorer_class  # noqa: E402
from ml.synthetic import DEFECT_KINDS, generate_job  # noqa: E402

MACHINE = 7
PERSISTENCE = 6
TARGET_FPR = 0.01


def _images(layers) -> np.ndarray:
    return preprocess_batch(layer.image for layer in layers)


def _defects(seed: int, n_layers: int) -> dict[int, str]:
    """A defect every ~40 layers after a 15-layer start, kinds at random, never overlapping."""
    rng = np.random.default_rng([seed, 99])
    onsets = range(15, n_layers - PERSISTENCE, 40)
    return {int(o + rng.integers(0, 20)): str(rng.choice(DEFECT_KINDS)) for o in onsets}


def variants(scorer, images: np.ndarray, thresholds: dict | None = None) -> dict[str, np.ndarray]:
    """Every variant's scores for one job's layers, in order. The combined variant needs the
    per-layer and previous-layer thresholds, known once the calibration job is scored."""
    result = scorer.score(images)
    layer = result.scores
    residual = previous_layer_residual(images).scores
    out = {
        "per-layer score": layer,
        "min of last 2": persistence(layer, 2, "min"),
        "mean of last 3": persistence(layer, 3, "mean"),
        "spatial persistence": spatial_persistence(result.heatmaps),
        "previous-layer residual": residual,
        "layout-baseline heatmap": layout_baseline_residual(result.heatmaps, same_embedding_as_previous(images)),
        # Its threshold decides which layers are its references, as in the product.
        "change": change_scores(images, thresholds.get("change") if thresholds else None),
    }
    if scorer.score_top_fraction() is not None:
        # The product's alert channels (apps.scoring.alert_channels).
        out["layout memory"] = layout_memory_scores(
            result.heatmaps,
            embed_layers(images),
            top_fraction=scorer.score_top_fraction(),
            scores=layer,
            threshold=thresholds["per-layer score"] if thresholds else None,
        )
    if thresholds and thresholds.get("change baseline") is not None:
        threshold, memory = thresholds["per-layer score"], out.get("layout memory")
        out["alert score"] = np.array(
            [
                alert_score_combine(
                    threshold,
                    score=layer[t],
                    memory=None if memory is None else memory[t],
                    change=out["change"][t],
                    change_threshold=thresholds["change"],
                    change_baseline=thresholds["change baseline"],
                ).value
                for t in range(len(layer))
            ]
        ) / threshold
    if thresholds:
        out["max(per-layer, prev.)"] = combine(
            layer, residual, thresholds["per-layer score"], thresholds["previous-layer residual"]
        )
        # In a layout's first layers, where the baseline is NaN, the per-layer score alone.
        baseline = out["layout-baseline heatmap"]
        out["baseline, else per-layer"] = np.where(
            np.isnan(baseline),
            layer / thresholds["per-layer score"],
            baseline / thresholds["layout-baseline heatmap"],
        )
    return out


def delays(scores: np.ndarray, threshold: float, onsets: list[int]) -> list[float]:
    out = []
    for onset in onsets:
        over = np.flatnonzero(scores[onset : onset + PERSISTENCE] > threshold)
        out.append(float(over[0]) if over.size else np.nan)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small jobs and few epochs (a few minutes on 2 cores)")
    parser.add_argument("--scorer", default=DEFAULT_SCORER)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    past_jobs, past_layers, test_jobs, test_layers, epochs = (
        ((11, 12, 13), 60, (21, 22), 130, 6) if args.quick else ((11, 12, 13, 14), 90, (21, 22, 23, 24), 240, 20)
    )
    epochs = args.epochs or epochs
    started = time.monotonic()

    past = [generate_job(seed=s, n_layers=past_layers, machine_seed=MACHINE) for s in past_jobs]
    jobs = [s for s in past_jobs for _ in range(past_layers)]
    train, held = holdout_split(jobs, [i for _ in past_jobs for i in range(past_layers)], seed=0)
    pool = _images(layer for job in past for layer in job)
    scorer = get_scorer_class(args.scorer)()
    scorer.fit(pool[train], epochs=epochs, batch_size=16, seed=0, verbose=False)
    # Held-out layers are whole jobs: score each as a sequence so the sequential variants see it.
    calibration: dict[str, list[np.ndarray]] = {}
    for job in sorted({jobs[i] for i in held}):
        positions = [i for i in held if jobs[i] == job]
        for name, values in variants(scorer, pool[positions]).items():
            calibration.setdefault(name, []).append(values)
    thresholds = {}
    for name, parts in calibration.items():
        values = np.concatenate(parts)
        thresholds[name] = calibrate(values[~np.isnan(values)], target_fpr=TARGET_FPR).threshold
    # Both parts of these are already over their own threshold.
    thresholds["max(per-layer, prev.)"] = thresholds["baseline, else per-layer"] = 1.0
    # As apps.scoring.training does: on every earlier job, each scored in order (it learns nothing from them).
    change = change_calibrate_jobs(pool[k * past_layers : (k + 1) * past_layers] for k in range(len(past_jobs)))
    if change is not None:  # else too few: the 1% point, and no alert score
        thresholds["change"], thresholds["change baseline"] = change.threshold, change.baseline
        thresholds["alert score"] = 1.0  # each channel is already over its own threshold
    if "layout memory" in thresholds:
        # Never above the per-layer score: the product judges it against the per-layer threshold.
        thresholds["layout memory"] = thresholds["per-layer score"]

    scores: dict[str, list[np.ndarray]] = {}
    labels, events = [], {}
    for seed in test_jobs:
        defects = _defects(seed, test_layers)
        job = generate_job(
            seed=seed, n_layers=test_layers, machine_seed=MACHINE, defects=defects, defect_persistence=PERSISTENCE
        )
        labels.append(np.array([layer.defect is not None for layer in job]))
        events[seed] = sorted(defects)
        for name, values in variants(scorer, _images(job), thresholds).items():
            scores.setdefault(name, []).append(values)
    truth = np.concatenate(labels)
    n_events = sum(len(v) for v in events.values())
    print(
        f"scorer {args.scorer}, {epochs} epochs; trained on {len(train)} layers of {len(past_jobs)} jobs, calibrated on"
        f" {len(held)} held-out layers (whole jobs); {len(test_jobs)} test jobs x {test_layers} layers,"
        f" {n_events} defects persisting {PERSISTENCE} layers ({int(truth.sum())} defective layers)"
    )
    print("| variant                  | AUROC |    F1 | recall | FA/1000 | delay | missed |")
    print("|--------------------------|-------|-------|--------|---------|-------|--------|")
    for name, parts in scores.items():
        values = np.concatenate(parts)
        # The residuals are NaN on a job's first layers and after layout changes: no alarm there.
        values = np.where(np.isnan(values), np.nanmin(values), values)
        metrics = evaluate(values, truth.astype(int), thresholds[name])
        pairs = zip(test_jobs, parts, strict=True)
        waits = np.array([d for seed, part in pairs for d in delays(part, thresholds[name], events[seed])])
        found = waits[~np.isnan(waits)]
        delay = f"{np.median(found):5.1f}" if found.size else "    -"
        print(
            f"| {name:<24} | {metrics.auroc:.3f} | {metrics.f1:.3f} | {metrics.recall:6.1%} |"
            f" {1000 * metrics.false_positive_rate:7.1f} | {delay} | {np.isnan(waits).mean():6.1%} |"
        )
    print(f"{time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
