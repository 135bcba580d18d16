"""Server-side time of each operator page with 100,000 layers in the database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lw_ui_bench \\
        .venv/bin/python bench/ui_pages.py [--layers 100000] [--machines 5] [--repeat 5]

It uses config.settings.test: Django creates a scratch database named test_<name> from
DATABASE_URL (as the tests do), fills it with bulk_create (every layer and score row shares one
small image file, so no files are written per layer), times each page with the test client
(median of --repeat runs, after one warm-up run) and drops the database again. Not part of pytest.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.urls import reverse  # noqa: E402

from apps.layers.models import Layer, PrintJob  # noqa: E402
from apps.machines.models import Machine  # noqa: E402
from apps.scoring.models import LayerScore, ModelVersion  # noqa: E402
from tests.images import image_bytes  # noqa: E402

BATCH = 5000


def fill(*, layers: int, machines: int) -> dict:
    image = default_storage.save("bench/layer.png", __import__("io").BytesIO(image_bytes()))
    rng = __import__("numpy").random.default_rng(0)
    per_job = 500
    made = []
    for m in range(machines):
        machine = Machine.objects.create(name=f"Bench {m}", slug=f"bench-{m}", token_prefix=f"bench{m}", token_hash="x")
        version = ModelVersion.objects.create(
            machine=machine,
            version=1,
            scorer="seed",
            status="active",
            threshold=1.0,
            metrics={"tp": 1, "fp": 1, "tn": 1, "fn": 1},
        )
        made.append((machine, version))
    jobs_needed = -(-layers // per_job)
    jobs = PrintJob.objects.bulk_create(
        [
            PrintJob(machine=made[j % machines][0], job_id=f"job-{j}", expected_layers=per_job)
            for j in range(jobs_needed)
        ]
    )
    created = 0
    for start in range(0, layers, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, layers)):
            job = jobs[n // per_job]
            rows.append(
                Layer(
                    machine_id=job.machine_id,
                    job=job,
                    index=n % per_job,
                    image=image,
                    sha256="0" * 64,
                    width=128,
                    height=128,
                    status="scored",
                )
            )
        Layer.objects.bulk_create(rows)
        versions = {machine.pk: version for machine, version in made}
        scores = rng.lognormal(-0.5, 0.3, len(rows))
        LayerScore.objects.bulk_create(
            [
                LayerScore(
                    layer=row,
                    model_version=versions[row.machine_id],
                    scorer="seed",
                    score=float(s),
                    threshold=1.0,
                    anomalous=bool(s > 1.0),
                    heatmap=image,
                )
                for row, s in zip(rows, scores, strict=True)
            ]
        )
        created += len(rows)
    with connection.cursor() as cursor:  # point each layer at its score in one statement
        cursor.execute(
            "UPDATE layers_layer l SET current_score_id = s.id FROM scoring_layerscore s WHERE s.layer_id = l.id"
        )
        cursor.execute("ANALYZE")
    return {"jobs": jobs, "machine": made[0][0], "created": created}


def timed(client: Client, url: str, repeat: int) -> tuple[float, int, int]:
    client.get(url)  # warm-up
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(queries), response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=100_000)
    parser.add_argument("--machines", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings.DEBUG = False
    print(f"database: test_{settings.DATABASES['default']['NAME']} (scratch, dropped at the end)")
    old = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        data = fill(layers=args.layers, machines=args.machines)
        print(f"filled {data['created']} layers in {time.perf_counter() - started:.1f} s")
        user = get_user_model().objects.create_user("bench", password="bench", is_staff=True)
        client = Client()
        client.force_login(user)
        job = data["jobs"][0]
        layer = Layer.objects.filter(job=job, index=250).first()
        pages = {
            "fleet dashboard /": reverse("ui:dashboard"),
            "fleet cards (poll)": reverse("ui:dashboard-cards"),
            "labeling queue page": reverse("ui:label-queue"),
            "queue API, uncertainty": reverse("api:label-queue") + "?mode=uncertainty",
            "queue API, highest score": reverse("api:label-queue") + "?mode=score",
            "queue API, sequential": reverse("api:label-queue") + "?mode=sequential",
            "job timeline (500 layers)": reverse("ui:job-detail", args=[job.pk]),
            "layer detail": reverse("ui:layer-detail", args=[layer.pk]),
            "models page": reverse("ui:machine-models", args=[data["machine"].slug]),
            "machine page": reverse("ui:machine-detail", args=[data["machine"].slug]),
        }
        print(f"{'page':32} {'median ms':>10} {'queries':>8} {'status':>7}")
        for name, url in pages.items():
            ms, queries, status = timed(client, url, args.repeat)
            print(f"{name:32} {ms:10.1f} {queries:8d} {status:7d}")
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
