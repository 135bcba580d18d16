"""How long the build record of a 500-layer job takes to render as PDF (and as HTML, and as the
evidence zip).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lw_record_bench \\
        .venv/bin/python bench/record.py [--layers 500] [--anomalous 25] [--size 1024] [--repeat 3]

It uses config.settings.test: Django creates a scratch database test_<name> from DATABASE_URL,
fills one job with --layers scored layers (the good ones share one image file; each anomalous
one has its own --size px synthetic photo with a defect, its heatmap and its regions), an alert
over the anomalous layers and a label on each, then times each step (median wall and CPU seconds of --repeat
runs after a first, cold run that also describes the regions) and drops the database. Not part of pytest.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from scipy import ndimage  # noqa: E402

from apps.alerts.models import Alert  # noqa: E402
from apps.layers.models import Label, Layer, PrintJob  # noqa: E402
from apps.machines.models import Machine  # noqa: E402
from apps.records.evidence import evidence_zip_write  # noqa: E402
from apps.records.rendering import record_html, record_pdf  # noqa: E402
from apps.records.selectors import record_build  # noqa: E402
from apps.scoring.models import LayerScore, ModelVersion  # noqa: E402
from apps.scoring.rendering import SCALE_MAX, heatmap_png  # noqa: E402
from ml.kinds.synthetic import DETECTION_GREY  # noqa: E402
from ml.regions import top_regions  # noqa: E402
from ml.synthetic import DEFECT_KINDS, generate_layers  # noqa: E402
from tests.images import image_bytes  # noqa: E402


def fill(*, layers: int, anomalous: int, size: int) -> PrintJob:
    machine = Machine.objects.create(name="Bench", slug="bench", token_prefix="bench", token_hash="x")
    version = ModelVersion.objects.create(machine=machine, version=1, scorer="seed", status="active", threshold=1.0,
                                          sha256="0" * 64, calibration_method="fpr_target",
                                          metrics={"calibration": {"method": "fpr_target", "target_fpr": 0.01}})
    job = PrintJob.objects.create(machine=machine, job_id="bench", expected_layers=layers)
    good_image = default_storage.save("bench/good.png", io.BytesIO(image_bytes(size=size)))
    good_heat = default_storage.save("bench/good-heat.png", io.BytesIO(heatmap_png(np.zeros((256, 256)), vmax=2)))
    bad = set(np.linspace(0, layers - 1, anomalous).round().astype(int).tolist()) if anomalous else set()
    rows, scores = [], []
    for index in range(layers):
        row = Layer(machine=machine, job=job, index=index, image=good_image, sha256="0" * 64, width=size,
                    height=size, status="scored")
        score = LayerScore(layer=row, model_version=version, scorer="seed", score=0.4 + 0.1 * np.sin(index),
                           threshold=1.0, anomalous=False, heatmap=good_heat)
        if index in bad:
            kind = DEFECT_KINDS[index % len(DEFECT_KINDS)]
            defective = generate_layers(seed=5, n=1, size=size, defect_kind=kind, first=index)[0]
            twin = generate_layers(seed=5, n=1, size=size, first=index)[0]
            diff = np.abs(defective.image.astype(np.float32) - twin.image)
            small = ndimage.zoom(ndimage.gaussian_filter(diff, size / 256), 256 / size, order=1)
            heat = small / DETECTION_GREY
            row.image = default_storage.save(f"bench/{index}.png", ContentFile(image_bytes(defective.image)))
            png = ContentFile(heatmap_png(heat, vmax=SCALE_MAX))
            score.heatmap = default_storage.save(f"bench/{index}-heat.png", png)
            score.score, score.anomalous, score.regions = 1.6, True, top_regions(heat)
        rows.append(row)
        scores.append(score)
    Layer.objects.bulk_create(rows)
    for score, row in zip(scores, rows, strict=True):
        score.layer = row
    LayerScore.objects.bulk_create(scores)
    for score, row in zip(scores, rows, strict=True):
        row.current_score = score
    Layer.objects.bulk_update(rows, ["current_score"])
    bad_rows = [r for r in rows if r.index in bad]
    alert = Alert.objects.create(machine=machine, job=job, severity="critical", reason="bench", last_layer_index=0)
    alert.layers.add(*bad_rows)
    Label.objects.bulk_create([Label(layer=r, value="defective") for r in bad_rows])
    return job


def timed(step, repeat: int) -> tuple[float, float, float]:
    """Wall seconds of the first run, then the median wall and CPU seconds of the others (a
    shared machine's wall clock also counts other processes' time)."""
    started = time.perf_counter()
    step()
    cold = time.perf_counter() - started
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return cold, statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=500)
    parser.add_argument("--anomalous", type=int, default=25)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        job = fill(layers=args.layers, anomalous=args.anomalous, size=args.size)
        print(f"filled {args.layers} layers ({args.anomalous} anomalous, {args.size} px) in "
              f"{time.perf_counter() - started:.1f} s")
        pdf = {}
        steps = {
            "record_build": lambda: record_build(job=job),
            "HTML (build + render)": lambda: record_html(record_build(job=job)),
            "PDF (build + render)": lambda: pdf.update(data=record_pdf(record_build(job=job))),
            "evidence zip": lambda: evidence_zip_write(record_build(job=job), tempfile.TemporaryFile()),
        }
        print(f"{'step':<24} {'first run':>10} {'median':>8} {'CPU':>7}")
        for name, step in steps.items():
            cold, wall, cpu = timed(step, args.repeat)
            print(f"{name:<24} {cold:>9.2f}s {wall:>7.2f}s {cpu:>6.2f}s")
        print(f"PDF size: {len(pdf['data']) / 1e6:.2f} MB, {Layer.objects.filter(job=job).count()} layers")
    finally:
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
