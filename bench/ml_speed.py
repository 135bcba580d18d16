"""How fast the ml package runs on this machine: training, scoring, the change channel and synthetic layers.

.venv/bin/python bench/ml_speed.py [--train-images 32] [--epochs 2] [--scorers seed,local,combined]
    [--resolutions 512,1024]
    [--change-processes 1,16] [--change-only]
"""

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from ml.change.scoring import DEPTH, change_frame, change_score  # noqa: E402
from ml.scorers import DEFAULT_SCORER, get_scorer_class  # noqa: E402
from ml.synthetic import generate_job, generate_layers  # noqa: E402


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f}"


def training_rate(name: str, images: np.ndarray, batch_size: int, epochs: int) -> float | None:
    """Images per second through the scorer's own fit, over the epochs after the first: the first
    traces the graph (or, on JAX, compiles it), the later ones give the steady rate. None for a
    scorer that trains no epochs (patchcore)."""
    stamps: list[float] = []
    scorer_class = get_scorer_class(name)
    scorer_class().fit(
        images,
        epochs=epochs + 1,
        batch_size=batch_size,
        verbose=False,
        progress=lambda *_: stamps.append(time.perf_counter()),
    )
    if len(stamps) < 2:
        return None
    # The local scorer trains on augmented copies (at least its min_samples) per epoch.
    per_epoch = max(len(images), int(scorer_class.default_config.get("min_samples", 0)))
    return per_epoch * epochs / (stamps[-1] - stamps[0])


def _scorer_rates(name: str, images: np.ndarray, args: argparse.Namespace) -> list[tuple[str, str]]:
    train = images[: args.train_images]
    rate = training_rate(name, train, batch_size=16, epochs=args.epochs)
    rows = [] if rate is None else [(f"{name} training images/s (batch 16)", f"{rate:8.1f}")]

    scorer = get_scorer_class(name)()
    started = time.perf_counter()
    scorer.fit(train[:16], epochs=1, batch_size=16, verbose=False)
    if rate is None:
        rows.append((f"{name} fit seconds (16 layers)", f"{time.perf_counter() - started:8.1f}"))
    score = images[: args.score_images]
    scorer.score(score[:16])  # warm-up
    started = time.perf_counter()
    scorer.score(score, batch_size=16)
    rows.append((f"{name} scoring images/s (batch 16)", _rate(len(score), time.perf_counter() - started)))
    started = time.perf_counter()
    for image in score[:16]:
        scorer.score(image[np.newaxis])
    rows.append((f"{name} scoring images/s (one at a time)", _rate(16, time.perf_counter() - started)))
    return rows


def _full_resolution_rates(name: str, side: int, layers: int = 8) -> list[tuple[str, str]]:
    """A full-resolution scorer (local, combined) at `side` px (tiled, ml.tiling), one layer at a
    time as a worker that keeps up scores them, and in batches of 8 as one that catches up."""
    from ml.preprocess import preprocess

    images = np.stack([preprocess(layer.image, side) for layer in generate_layers(seed=0, n=layers, size=side)])
    scorer = get_scorer_class(name)({"resolution": side, "min_samples": 16})
    scorer.fit(images, epochs=1, batch_size=16, verbose=False)
    scorer.score(images[:1])  # warm-up: the per-pixel maps are brought to this size once
    started = time.perf_counter()
    for image in images:
        scorer.score(image[np.newaxis])
    one = _rate(layers, time.perf_counter() - started)
    started = time.perf_counter()
    scorer.score(images)
    return [
        (f"{name} scoring at {side}x{side} layers/s (one at a time)", one),
        (f"{name} scoring at {side}x{side} layers/s (batch {layers})", _rate(layers, time.perf_counter() - started)),
    ]


def _change_rate(layers: int = 8) -> tuple[str, str]:
    """The alert rules' change channel with a full chain of previous layers, as the scoring worker runs it."""
    job = generate_job(seed=0, n_layers=DEPTH + layers, group_length=DEPTH + layers)
    frames = [change_frame(layer.image.astype(np.float32) / 255) for layer in job]
    change_score(frames[DEPTH], frames[:DEPTH][::-1])  # warm-up: the filters' spectra are cached
    started = time.perf_counter()
    for t in range(DEPTH, DEPTH + layers):
        change_score(frames[t], frames[t - DEPTH : t][::-1])  # newest first
    return "change channel layers/s (one at a time)", _rate(layers, time.perf_counter() - started)


def _change_rates_together(processes: int, layers: int = 16) -> tuple[str, str]:
    """_change_rate in `processes` processes at once, as a host runs one per scoring worker: each
    one's rate, and all of theirs together. Spawned, not forked: TensorFlow is not fork-safe."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        rates = [float(rate) for _, rate in pool.map(_change_rate, [layers] * processes)]
    return (
        f"change channel layers/s, {processes} processes at once (each; all)",
        f"{min(rates):.1f}-{max(rates):.1f}; {sum(rates):.1f}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-images", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--score-images", type=int, default=64)
    parser.add_argument("--scorers", default=f"seed,{DEFAULT_SCORER}", help="comma-separated scorer names")
    parser.add_argument(
        "--change-processes", default="", help="e.g. 1,16: the change channel in that many processes at once"
    )
    parser.add_argument("--change-only", action="store_true", help="only the change channel's rows")
    parser.add_argument("--resolutions", default="512,1024", help="full-resolution scoring at these sides")
    args = parser.parse_args()

    rows = [] if args.change_only else _ml_rates(args)
    if not args.change_only:
        full = [name for name in args.scorers.split(",") if name in ("local", "combined")]
        rows += [row for side in args.resolutions.split(",") if side for name in full
                 for row in _full_resolution_rates(name, int(side))]
    rows.append(_change_rate())
    rows += [_change_rates_together(int(n)) for n in args.change_processes.split(",") if n]

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  {'rate':>8}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"({os.cpu_count()} CPU cores; training rate over {args.epochs} epochs of {args.train_images} layers)")


def _ml_rates(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Synthetic layers, then each scorer's training and scoring."""
    rows = []
    started = time.perf_counter()
    layers = generate_layers(seed=0, n=100)
    rows.append(("synthetic layers/s (256x256)", _rate(100, time.perf_counter() - started)))
    started = time.perf_counter()
    generate_layers(seed=0, n=8, size=1024)
    rows.append(("synthetic layers/s (1024x1024)", _rate(8, time.perf_counter() - started)))

    images = np.stack([layer.image for layer in layers]).astype(np.float32) / 255
    for name in args.scorers.split(","):
        rows += _scorer_rates(name, images, args)
    return rows


if __name__ == "__main__":
    main()
