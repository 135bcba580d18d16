"""The local scorer in the 256 px model frame against the camera's own resolution, on layers it
was not designed on.

    .venv/bin/python bench/resolution.py [--epochs 8] [--variants 6] [--set key=json ...]

Both are trained on the first good PBLM frames in build order (1024 x 1024 photos) and score the
later good frames under camera drift, the same frames with one defect each from the independent
painter (bench/generalisation/painter.py, which shares no code with training), and the real
defective PBLM frames. Printed: AUROC overall and per kind, the share of good layers above the
highest score of the training layers' benign variants (a threshold that saw no defect), and
scoring speed in layers per second on this machine. The platform-level figures (calibrated
threshold, followed drift, F1) come from bench/generalisation/run.py --set resolution=0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PBLM = Path(os.environ.get("LAYERWATCH_PBLM_DIR") or ROOT / "data" / "pblm")


def frames() -> tuple[list[np.ndarray], list[np.ndarray]]:
    with open(PBLM / "manifest.csv") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["frame"]))
    load = lambda r: np.asarray(Image.open(PBLM / r["path"]).convert("L"))  # noqa: E731
    return [load(r) for r in rows if r["label"] == "good"], [load(r) for r in rows if r["label"] == "defective"]


def test_set(later, real, variants: int, strength: float, seed: int):
    """(uint8 frames, kinds: None for good) in a fixed order."""
    from bench.generalisation.painter import KINDS, PAINTERS, camera_drift

    rng = np.random.default_rng(seed)
    out, kinds = [], []
    total = len(later) * variants
    for v in range(variants):
        for i, frame in enumerate(later):
            t = (v * len(later) + i) / total
            out.append(camera_drift(frame, t, rng, strength))
            kinds.append(None)
            for kind in KINDS:
                out.append(PAINTERS[kind](camera_drift(frame, t, rng, strength), rng))
                kinds.append(kind)
    for frame in real:
        out.append(camera_drift(frame, rng.random(), rng, strength))
        kinds.append("real")
    return out, kinds


def auroc(good: np.ndarray, bad: np.ndarray) -> float:
    from ml.evaluation import evaluate

    scores = np.concatenate([good, bad])
    labels = np.concatenate([np.zeros(len(good)), np.ones(len(bad))]).astype(int)
    return float(evaluate(scores, labels, float(np.median(scores))).auroc)


def measure(config: dict, train, test, kinds, epochs: int, seed: int) -> dict:
    from ml.calibration_set import calibration_set
    from ml.preprocess import preprocess_batch
    from ml.scorers import get_scorer_class

    scorer = get_scorer_class("local")(config)
    scorer.resolve_input(max(train[0].shape))
    size = scorer.input_size
    started = time.perf_counter()
    scorer.fit(preprocess_batch(train, size), epochs=epochs, seed=seed, verbose=False)
    trained_s = time.perf_counter() - started
    variants = calibration_set(preprocess_batch(train, size), seed=seed, minimum=48)
    benign = scorer.score(variants).scores
    started = time.perf_counter()
    batches = (preprocess_batch(test[i : i + 8], size) for i in range(0, len(test), 8))
    scores = np.concatenate([scorer.score(batch).scores for batch in batches])
    per_second = len(test) / (time.perf_counter() - started)
    kinds = np.array([k or "good" for k in kinds])
    good = scores[kinds == "good"]
    row = {"resolution": size, "train_s": round(trained_s), "layers_per_s": round(per_second, 2)}
    row["auroc"] = round(auroc(good, scores[kinds != "good"]), 3)
    row["good_above_benign_max"] = round(float(np.mean(good > benign.max())), 3)
    for kind in sorted(set(kinds) - {"good"}):
        row[kind] = round(auroc(good, scores[kinds == kind]), 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--variants", type=int, default=6, help="drifted copies of each later good frame")
    parser.add_argument("--train-frames", type=int, default=8)
    parser.add_argument("--drift", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resolutions", default="256,512,1024")
    parser.add_argument("--set", action="append", default=[], help="scorer config key=json, for both")
    args = parser.parse_args()
    extra = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    good, real = frames()
    train, later = good[: args.train_frames], good[args.train_frames :]
    test, kinds = test_set(later, real, args.variants, args.drift, args.seed)
    defective = len(kinds) - kinds.count(None)
    print(f"{len(train)} training frames; {kinds.count(None)} good and {defective} defective test layers")
    for resolution in map(int, args.resolutions.split(",")):
        row = measure({**extra, "resolution": resolution}, train, test, kinds, args.epochs, args.seed)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
