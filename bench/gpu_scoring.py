"""How fast the scorers' networks run on an accelerator, and whether it scores as TensorFlow on a CPU does.

The product runs Keras on TensorFlow; a GPU machine without TensorFlow runs the same builders,
scorers and saved artifacts under Keras's JAX or PyTorch backend. Scoring is timed through
`predict_on_batch`, as the scorers call it, so each figure includes copying the batch to the
device and back.

Here, under TensorFlow: train two small scorers and save them with 16 layers and their scores
(the reference for --check; var/ is git-ignored):
    .venv/bin/python bench/gpu_scoring.py --save-check var/gpu_check
On the GPU machine, with keras, namex and optree installed from wheels:
    KERAS_BACKEND=jax python3 bench/gpu_scoring.py --check var/gpu_check --json OUT/gpu.json
A short run anywhere:
    .venv/bin/python bench/gpu_scoring.py --seconds 0.2 --batch-sizes 1,16 --train-images 32
"""

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

PRECISIONS = ("default", "highest")
SCORERS = ("seed", "local")


from bench.ml_speed import training_rate  # noqa: E402
from ml.preprocess import IMAGE_SIZE  # noqa: E402
from ml.scorers import get_scorer_class, load_scorer  # noqa: E402
from ml.synthetic import generate_layers  # noqa: E402


def _device() -> str:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform} {device.device_kind} (jax {jax.__version__})"
    if backend == "torch":
        import torch

        name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        return f"{name} (torch {torch.__version__})"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"{gpus[0].name if gpus else 'cpu'} (tensorflow {tf.__version__})"


@contextlib.contextmanager
def _precision(name: str) -> Iterator[None]:
    """Run under one of PRECISIONS.

    "default" is what the backend does unasked, which on an NVIDIA GPU may be TF32 convolutions
    (PyTorch's cuDNN default; XLA's too where it chooses). "highest" is full float32, as
    TensorFlow computes on a CPU: --check shows whether the difference matters to scores.
    """
    backend = keras.backend.backend()
    if name == "default" or backend == "tensorflow":
        yield
    elif backend == "jax":
        import jax

        with jax.default_matmul_precision("highest"):
            yield
    else:
        import torch

        saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _scoring_rate(model: keras.Model, batch: np.ndarray, seconds: float) -> float:
    # JAX compiles once per input shape: the warm-up calls must not be timed.
    for _ in range(2):
        np.asarray(model.predict_on_batch(batch))
    started = time.perf_counter()
    np.asarray(model.predict_on_batch(batch))
    repeats = max(3, int(seconds / (time.perf_counter() - started)))
    started = time.perf_counter()
    for _ in range(repeats):
        np.asarray(model.predict_on_batch(batch))
    return repeats * len(batch) / (time.perf_counter() - started)


def save_check(folder: Path, train_layers: int, epochs: int) -> None:
    """Train each scorer briefly on synthetic layers and save it with 16 layers and its scores of them."""
    folder.mkdir(parents=True, exist_ok=True)
    layers = generate_layers(seed=0, n=train_layers + 16)
    images = np.stack([layer.image for layer in layers]).astype(np.float32) / 255
    train, held = images[:train_layers], images[train_layers:]
    np.save(folder / "images.npy", held)
    for name in SCORERS:
        scorer = get_scorer_class(name)()
        scorer.fit(train, epochs=epochs, batch_size=16, verbose=False)
        scorer.save(folder / f"{name}.keras")
        result = scorer.score(held)
        np.savez_compressed(
            folder / f"{name}.reference.npz",
            scores=result.scores,
            reconstructions=result.reconstructions,
        )
        print(f"{name}: scores {np.round(result.scores[:4], 3)} ... saved to {folder}")
    (folder / "reference.json").write_text(
        json.dumps({"backend": keras.backend.backend(), "device": _device(), "keras": keras.__version__})
    )


def run_check(folder: Path, outputs: Path | None) -> list[dict]:
    """Score the saved layers with each saved scorer, and compare with the reference's scores."""
    images = np.load(folder / "images.npy")
    rows = []
    for name in SCORERS:
        reference = np.load(folder / f"{name}.reference.npz")
        results = {}
        for precision in PRECISIONS:
            with _precision(precision):
                # Loaded afresh so that JAX traces the network under this precision.
                result = load_scorer(folder / f"{name}.keras").score(images)
            results[f"scores_{precision}"] = result.scores
            results[f"reconstructions_{precision}"] = result.reconstructions
            rows.append(
                {
                    "scorer": name,
                    "precision": precision,
                    "max_abs_reconstruction_diff": float(
                        np.abs(result.reconstructions - reference["reconstructions"]).max()
                    ),
                    "max_abs_score_diff": float(np.abs(result.scores - reference["scores"]).max()),
                    "max_rel_score_diff": float(
                        (np.abs(result.scores - reference["scores"]) / np.abs(reference["scores"])).max()
                    ),
                    "reference_scores": [round(float(s), 4) for s in reference["scores"]],
                    "scores": [round(float(s), 4) for s in result.scores],
                }
            )
        if outputs is not None:
            np.savez_compressed(outputs / f"{name}.{keras.backend.backend()}.npz", **results)
    return rows


WIDTH = 72  # of a table row's label


def _row(label: str, value: str) -> None:
    # Printed as measured, so that a run stopped at its time limit still shows what it got.
    print(f"{label:<{WIDTH}}  {value}", flush=True)


def _write(path: Path | None, figures: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(figures, indent=2))


def _sizes(text: str) -> list[int]:
    return [int(size) for size in text.split(",") if size]


def scoring_figures(args: argparse.Namespace, rng: np.random.Generator) -> list[dict]:
    figures = []
    for name in SCORERS:
        for precision in args.precisions.split(","):
            # The scorer's own builder and config: the network it would train and save. A fresh
            # one per precision, so that JAX traces its scoring function under that precision.
            model = get_scorer_class(name)().build_model()
            for size in _sizes(args.batch_sizes):
                batch = rng.random((size, *model.input_shape[1:]), dtype=np.float32)
                with _precision(precision):
                    rate = _scoring_rate(model, batch, args.seconds)
                figures.append({"scorer": name, "precision": precision, "batch_size": size, "images_per_s": rate})
                _row(f"{name} scoring images/s (batch {size}, {precision})", f"{rate:9.1f}")
    return figures


def training_figures(args: argparse.Namespace, rng: np.random.Generator) -> list[dict]:
    figures = []
    images = rng.random((args.train_images, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for name in SCORERS:
        for size in _sizes(args.train_batch_sizes):
            rate = training_rate(name, images, size, args.epochs)
            figures.append({"scorer": name, "batch_size": size, "images_per_s": rate})
            _row(f"{name} training images/s (batch {size}, default)", f"{rate:9.1f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="timed scoring per batch size")
    parser.add_argument("--batch-sizes", default="1,16,64,256", help="scoring; empty for none")
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--train-images", type=int, default=512)
    parser.add_argument("--train-batch-sizes", default="16,64", help="empty for no training")
    parser.add_argument("--epochs", type=int, default=2, help="timed training epochs, after one untimed")
    parser.add_argument("--check", type=Path, help="folder written by --save-check: compare with its scores")
    parser.add_argument("--save-check", type=Path, help="write the --check folder (TensorFlow) and stop")
    parser.add_argument("--json", type=Path, help="write the figures here; the check's outputs go beside it")
    args = parser.parse_args()

    figures = {
        "backend": keras.backend.backend(),
        "device": _device(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "cpu_cores": os.cpu_count(),
    }
    print(", ".join(f"{key} {value}" for key, value in figures.items()), flush=True)
    if args.save_check:
        save_check(args.save_check, train_layers=32, epochs=10)
        return

    # The check first, since it is short; the figures are written after each part, so that a run
    # stopped at its time limit still leaves what it measured.
    if args.check:
        figures["check_reference"] = json.loads((args.check / "reference.json").read_text())
        figures["check"] = run_check(args.check, args.json.parent if args.json else None)
        for row in figures["check"]:
            _row(
                f"{row['scorer']} vs {figures['check_reference']['backend']} ({row['precision']}): "
                "max |recon diff|, max rel score diff",
                f"{row['max_abs_reconstruction_diff']:.2e}  {row['max_rel_score_diff']:.2e}",
            )
        _write(args.json, figures)
    rng = np.random.default_rng(0)
    figures["scoring"] = scoring_figures(args, rng)
    _write(args.json, figures)
    figures["training"] = training_figures(args, rng)
    _write(args.json, figures)
    print(
        f"(scoring timed ~{args.seconds} s per batch size after warm-up; training over {args.epochs} "
        f"epochs of {args.train_images} random images after one untimed epoch)"
    )


if __name__ == "__main__":
    main()
