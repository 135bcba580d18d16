"""Parts benchmark: parts estimated from photos, and regions attributed to parts or powder.

    .venv/bin/python bench/parts.py                 # 12 synthetic jobs of 60 layers
    .venv/bin/python bench/parts.py --jobs 4 --layers 30

Estimation: each job's photos alone (ml.parts.estimate), layer by layer as a worker sees them;
per true part and layer where it shows, the IoU with the estimated part covering most of it.
Parts that touch another part merge into one melted region, which estimation splits at its
necks, takes thin walls off solid parts, and splits along the footprints of parts that stood
apart on earlier layers (ml.parts.split); the table gives parts standing apart, parts touching
another and all parts.

Attribution: every defect kind on every job; the regions are those of the true defect pixels
(what a detector that found exactly the defect would report, ml.parts.evaluation.oracle_regions),
attributed with the part labels a printer sends, and with the estimated parts. A region is right
when it gets exactly the parts its true pixels touch, or the part they damage, or the powder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.parts.estimate import estimate_job_parts  # noqa: E402
from ml.parts.evaluation import (  # noqa: E402
    AttributionResult,
    attribution_accuracy,
    estimation_ious,
    relabel_to_truth,
)
from ml.synthetic import DEFECT_KINDS, generate_job  # noqa: E402

DAMAGE_DISTANCE = 8.0  # frame px: LAYERWATCH_PART_DAMAGE_DISTANCE_PX's default on a 256 px photo


def _merge(total: AttributionResult, part: AttributionResult) -> None:
    total.correct += part.correct
    total.total += part.total
    total.on_parts += part.on_parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--layers", type=int, default=60)
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args()

    apart, touching, every, seconds, layers_seen = [], [], [], 0.0, 0
    sent, estimated = AttributionResult(), AttributionResult()
    for seed in range(args.first_seed, args.first_seed + args.jobs):
        job = generate_job(seed=seed, n_layers=args.layers, parts_finish_early=True)
        started = time.perf_counter()
        estimates = estimate_job_parts([layer.image.astype(np.float32) / 255 for layer in job])
        seconds += time.perf_counter() - started
        layers_seen += len(job)
        result = estimation_ious([layer.parts for layer in job], estimates)
        apart += [v for v, a in zip(result.ious, result.apart, strict=True) if a]
        touching += [v for v, a in zip(result.ious, result.apart, strict=True) if not a]
        every += result.ious
        print(f"job {seed}: mean IoU {result.mean(apart_only=True):.3f} apart, {result.mean():.3f} all")
        for kind in DEFECT_KINDS:
            onset = args.layers // 2
            defective = generate_job(seed=seed, n_layers=onset + 3, defects={onset: kind}, defect_persistence=3)
            shown = defective[onset:]
            masks = [layer.mask for layer in shown]
            truths = [layer.parts for layer in shown]
            _merge(sent, attribution_accuracy(masks, truths, truths, damage_distance=DAMAGE_DISTANCE))
            guessed = estimate_job_parts([layer.image.astype(np.float32) / 255 for layer in defective])[onset:]
            frames = [relabel_to_truth(g, t) for g, t in zip(guessed, truths, strict=True)]
            _merge(estimated, attribution_accuracy(masks, truths, frames, damage_distance=DAMAGE_DISTANCE))

    print()
    print("| parts | part-layers | mean IoU | IoU ≥ 0.8 |")
    print("|---|---|---|---|")
    for name, values in (("apart from others", apart), ("touching another", touching), ("all", every)):
        array = np.asarray(values)
        if array.size:
            print(f"| {name} | {array.size} | {array.mean():.3f} | {(array >= 0.8).mean():.1%} |")
    print(f"\nestimation: {1000 * seconds / max(layers_seen, 1):.1f} ms per 256 px layer")
    print()
    print("| part labels | regions | on parts | right part or powder |")
    print("|---|---|---|---|")
    for name, tally in (("sent", sent), ("estimated", estimated)):
        print(f"| {name} | {tally.total} | {tally.on_parts} | {tally.accuracy:.1%} |")


if __name__ == "__main__":
    main()
