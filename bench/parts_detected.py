"""Attribution of the regions a trained scorer finds, on synthetic jobs with known parts and defects.

    .venv/bin/python bench/parts_detected.py                      # 2 machines, 6 jobs each
    .venv/bin/python bench/parts_detected.py --machines 1 --jobs 3 --epochs 2

For each synthetic machine the default scorer (`local`) is trained on the good layers of earlier
jobs and calibrated on a later one, as the platform trains it (`bench/detection.py` (e)). Then
each test job, with its own part layout, gets a defect of every kind at its middle layer for 3
layers. The scorer's heatmaps of those layers, in threshold units, give the regions at or above
threshold (`ml.regions.top_regions`, what the layer API lists). A region over true defect
pixels is a detected defect; it is attributed with the part labels the printer would send and
with parts estimated from the job's photos, and is right when it gets exactly the parts its true
defect pixels touch, or the part they damage, or the powder (`ml.parts.evaluation`). Regions
with no defect pixels are false alarms and counted apart.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.calibration import calibrate  # noqa: E402
from ml.calibration_set import calibration_set  # noqa: E402
from ml.parts.estimate import estimate_job_parts  # noqa: E402
from ml.parts.evaluation import AttributionResult, attribution_accuracy, relabel_to_truth  # noqa: E402
from ml.regions import top_regions  # noqa: E402
from ml.scorers import get_scorer_class  # noqa: E402
from ml.scorers.base import DEFAULT_SCORER  # noqa: E402
from ml.synthetic import DEFECT_KINDS, generate_job  # noqa: E402

DAMAGE_DISTANCE = 8.0  # frame px: LAYERWATCH_PART_DAMAGE_DISTANCE_PX's default on a 256 px photo
PAST_JOBS, CALIBRATION_JOB = (101, 102, 103), 104
DEFECT_LAYERS = 3


def _frames(layers) -> np.ndarray:
    return np.stack([layer.image for layer in layers]).astype(np.float32) / 255.0


def train(machine: int, epochs: int, layers_per_job: int):
    """The default scorer trained and calibrated on the machine's earlier jobs, and its threshold."""
    jobs = [generate_job(seed=seed, machine_seed=machine, n_layers=layers_per_job) for seed in PAST_JOBS]
    images = np.concatenate([_frames(job[::2]) for job in jobs])
    scorer = get_scorer_class(DEFAULT_SCORER)()
    scorer.fit(images, epochs=epochs, seed=machine, verbose=False)
    calibration = _frames(generate_job(seed=CALIBRATION_JOB, machine_seed=machine, n_layers=layers_per_job)[::3])
    threshold = calibrate(scorer.score(calibration_set(calibration, seed=machine)).scores).threshold
    return scorer, threshold


def _merge(total: AttributionResult, part: AttributionResult) -> None:
    total.correct += part.correct
    total.total += part.total
    total.on_parts += part.on_parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--machines", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--layers", type=int, default=24, help="layers of each test job before its defect")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-layers", type=int, default=60, help="layers of each training job")
    args = parser.parse_args()

    sent, estimated = AttributionResult(), AttributionResult()
    kinds = {kind: AttributionResult() for kind in DEFECT_KINDS}
    regions_seen = false_alarms = 0
    for machine in args.machines:
        started = time.perf_counter()
        scorer, threshold = train(machine, args.epochs, args.train_layers)
        unit = scorer.heatmap_threshold(threshold)
        print(f"machine {machine}: trained in {time.perf_counter() - started:.0f} s, threshold {threshold:.4f}",
              flush=True)
        for seed in range(301, 301 + args.jobs):
            for kind in DEFECT_KINDS:
                onset = args.layers
                job = generate_job(seed=seed, machine_seed=machine, n_layers=onset + DEFECT_LAYERS,
                                   defects={onset: kind}, defect_persistence=DEFECT_LAYERS)
                shown = job[onset:]
                heatmaps = scorer.score(_frames(shown)).heatmaps / unit
                regions = [list(top_regions(heat)) for heat in heatmaps]
                masks = [layer.mask for layer in shown]
                truths = [layer.parts for layer in shown]
                for found, mask in zip(regions, masks, strict=True):
                    regions_seen += len(found)
                    false_alarms += sum(not _over(r, mask) for r in found)
                with_sent = attribution_accuracy(masks, truths, truths, damage_distance=DAMAGE_DISTANCE,
                                                 regions=regions)
                _merge(sent, with_sent)
                _merge(kinds[kind], with_sent)
                guessed = estimate_job_parts(list(_frames(job)))[onset:]
                frames = [relabel_to_truth(g, t) for g, t in zip(guessed, truths, strict=True)]
                _merge(estimated, attribution_accuracy(masks, truths, frames, damage_distance=DAMAGE_DISTANCE,
                                                       regions=regions))
        print(f"machines so far: sent {sent.accuracy:.1%} of {sent.total}, "
              f"estimated {estimated.accuracy:.1%}", flush=True)

    print()
    print(f"regions at or above threshold: {regions_seen}; over true defect pixels: {sent.total}; "
          f"false alarms: {false_alarms}")
    print()
    print("| part labels | detected defect regions | on parts | right part or powder |")
    print("|---|---|---|---|")
    for name, tally in (("sent", sent), ("estimated", estimated)):
        print(f"| {name} | {tally.total} | {tally.on_parts} | {tally.accuracy:.1%} |")
    print()
    print("| defect (sent labels) | regions | right |")
    print("|---|---|---|")
    for kind, tally in kinds.items():
        print(f"| {kind} | {tally.total} | {tally.accuracy:.1%} |")


def _over(region: dict, mask: np.ndarray) -> bool:
    box = region["box"]
    return bool(mask[int(box["y"]) : int(box["y"] + box["height"]), int(box["x"]) : int(box["x"] + box["width"])].any())


if __name__ == "__main__":
    main()
