"""Detection on layers the scorer was not designed on, judged by the platform itself.

    .venv/bin/python bench/generalisation/run.py [--epochs 8] [--jobs 30] [--scorer local] [--resolution 512]
                                                 [--set key=json ...]

A machine is created in a throwaway embedded platform (SQLite, files in a temporary folder) and
trained by the platform's own service on the first good PBLM frames in build order, as a new
machine is on its first day. It is then sent the rest as jobs of 10 layers, 2 of them defective,
through the same ingest and scoring services the REST API and the workers call, one layer at a
time in arrival order:
- later frames: the later good frames in build order, under camera drift that grows through the
  stream (bench/generalisation/painter.py), with defects from that module's painter, which shares
  no code with what the scorer trains with; every defect kind is held out from tuning;
- real defects: the 36 real defective PBLM frames, between drifted later good frames.
Reported at the platform's own verdict (`anomalous`: the threshold after it followed the machine's
recent layers) and, from the same scores, at the trained threshold alone: AUROC, F1, recall and
the realised false-positive rate, with AUROC per defect kind.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PBLM = Path(os.environ.get("LAYERWATCH_PBLM_DIR") or ROOT / "data" / "pblm")
JOB_LAYERS, DEFECTS_PER_JOB = 10, 2


def _django(var_dir: str) -> None:
    os.environ["LAYERWATCH_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _frames() -> tuple[list[np.ndarray], list[np.ndarray]]:
    with open(PBLM / "manifest.csv") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["frame"]))
    load = lambda r: np.asarray(Image.open(PBLM / r["path"]).convert("L"))  # noqa: E731
    return [load(r) for r in rows if r["label"] == "good"], [load(r) for r in rows if r["label"] == "defective"]


def _png(frame: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="JPEG", quality=95)
    return out.getvalue()


def _stream(later: list[np.ndarray], real_defects: list[np.ndarray], jobs: int, seed: int, strength: float):
    """(job, index, bytes, kind) in arrival order; kind is None for a good layer."""
    from bench.generalisation.painter import KINDS, PAINTERS, camera_drift

    rng = np.random.default_rng(seed)
    total = jobs + len(real_defects) // DEFECTS_PER_JOB
    real = iter(real_defects)
    for j in range(total):
        defect_at = set(rng.choice(np.arange(2, JOB_LAYERS), DEFECTS_PER_JOB, replace=False).tolist())
        for i in range(JOB_LAYERS):
            t = (j * JOB_LAYERS + i) / (total * JOB_LAYERS)
            frame = camera_drift(later[rng.integers(len(later))], t, rng, strength)
            kind = None
            if i in defect_at and j < jobs:
                kind = KINDS[rng.integers(len(KINDS))]
                frame = PAINTERS[kind](frame, rng)
            elif i in defect_at:
                kind, frame = "real", camera_drift(next(real), t, rng, strength)
            yield f"job-{j:03d}", i, _png(frame), kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=30, help="jobs of painted defects (real ones come on top)")
    parser.add_argument("--train-frames", type=int, default=8, help="first good frames in build order to train on")
    parser.add_argument("--scorer", default="local")
    parser.add_argument("--resolution", type=int, default=None,
                        help="the local scorer's resolution: 256 or a multiple of it (default: the platform's)")
    parser.add_argument("--set", nargs="*", default=[], help="key=json for the scorer's config")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drift", type=float, default=1.0, help="how strongly the camera drifts (0: not at all)")
    parser.add_argument("--dump", type=Path, default=None, help="write each layer's scores to this CSV")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="layerwatch-bench-") as var_dir:
        _django(var_dir)
        run(args)


def run(args) -> None:
    from apps.layers.services import layer_ingest
    from apps.machines.services import machine_create
    from apps.scoring.models import LayerScore
    from apps.scoring.services import layers_score
    from apps.scoring.training import model_version_activate, model_version_create, model_version_train

    good, defective = _frames()
    first, later = good[: args.train_frames], good[args.train_frames :]
    machine = machine_create(name="Bench").machine
    for i, frame in enumerate(first):
        layer_ingest(machine=machine, job_id="first-day", index=i, data=_png(frame), enqueue=False)
    started = time.perf_counter()
    config = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    if args.resolution is not None:
        config["resolution"] = args.resolution
    version = model_version_train(version=model_version_create(machine=machine, scorer=args.scorer, config=config),
                                  epochs=args.epochs, seed=args.seed, verbose=False)
    model_version_activate(version=version)
    print(f"trained {args.scorer} {config or ''} on {len(first)} frames in {time.perf_counter() - started:.0f} s; "
          f"threshold {version.threshold:.4g}; drift {version.metrics.get('drift')}")
    kinds: dict[int, str | None] = {}
    started = time.perf_counter()
    for job, index, data, kind in _stream(later, defective, args.jobs, args.seed, args.drift):
        layer = layer_ingest(machine=machine, job_id=job, index=index, data=data, enqueue=False).layer
        layers_score(layer_ids=[layer.pk])
        kinds[layer.pk] = kind
    elapsed = time.perf_counter() - started
    rows = LayerScore.objects.filter(layer_id__in=kinds, model_version=version).values_list(
        "layer_id", "score", "alert_score", "threshold", "trained_threshold", "anomalous")
    report(rows, kinds)
    if args.dump:
        _dump(args.dump, rows, kinds)
    print(f"{len(kinds)} layers ingested and scored one at a time in {elapsed:.0f} s ({len(kinds) / elapsed:.2f}/s)")


def _dump(path: Path, rows, kinds: dict[int, str | None]) -> None:
    """One row per layer in arrival order, for combining scorers' verdicts offline."""
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["layer", "kind", "score", "alert_score", "threshold", "trained_threshold", "anomalous"])
        for row in sorted(rows):
            out.writerow([row[0], kinds[row[0]] or "good", *row[1:]])


def report(rows, kinds: dict[int, str | None]) -> None:
    from ml.evaluation import auroc

    ids = [r[0] for r in rows]
    score = np.array([r[1] for r in rows])
    judged = np.array([r[2] if r[2] is not None else r[1] for r in rows])
    followed, trained = np.array([r[3] for r in rows]), np.array([r[4] for r in rows])
    platform = np.array([r[5] for r in rows])
    labels = np.array([kinds[i] is not None for i in ids], dtype=int)
    kind_of = np.array([kinds[i] or "good" for i in ids])
    verdicts = {"platform (followed threshold)": (judged / followed, platform),
                "trained threshold alone": (score / trained, score > trained)}
    print(f"{labels.size} layers: {int((labels == 0).sum())} good, {int(labels.sum())} defective")
    print(f"{'verdict':32} {'AUROC':>6} {'F1':>6} {'recall':>6} {'good flagged':>12}")
    for name, (ranked, flagged) in verdicts.items():
        tp, fp = int((flagged & (labels == 1)).sum()), int((flagged & (labels == 0)).sum())
        recall = tp / max(labels.sum(), 1)
        precision = tp / max(tp + fp, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        fpr = fp / max((labels == 0).sum(), 1)
        print(f"{name:32} {auroc(ranked, labels):6.3f} {f1:6.3f} {recall:6.3f} {fpr:12.1%}")
    print("AUROC per defect kind, platform ranking (each kind against every good layer):")
    good = kind_of == "good"
    for kind in sorted(set(kind_of) - {"good"}):
        mine = kind_of == kind
        ranked = verdicts["platform (followed threshold)"][0]
        caught = platform[mine].mean()
        kind_auroc = auroc(ranked[good | mine], mine[good | mine].astype(int))
        print(f"  {kind:16} n={int(mine.sum()):3d}  AUROC {kind_auroc:.3f}  caught {caught:.0%}")


if __name__ == "__main__":
    main()
