from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from apps.demo.printers import png_bytes
from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring.models import ModelVersion
from apps.scoring.training import model_version_activate, model_version_create, model_version_train
from ml.synthetic import generate_job
from tests.commands.test_commands import run

pytestmark = pytest.mark.django_db

# Deliberately wrong: what a version calibrated by an older change channel might hold.
STALE = {"change_threshold": 99.0, "change_baseline": -1.0}


def good_jobs(machine, jobs="AB", n_layers=18) -> dict[str, list[int]]:
    """Each job's layer ids: one part layout per job, 16 change scores each (30 are needed)."""
    ids = {}
    for job in jobs:
        ids[job] = [
            layer_ingest(machine=machine, job_id=job, index=i, data=png_bytes(s.image), enqueue=False).layer.pk
            for i, s in enumerate(generate_job(seed=ord(job), n_layers=n_layers, size=128, machine_seed=1))
        ]
    return ids


def stale_version(machine, *, train_ids, holdout_ids, status=ModelVersion.Status.ACTIVE) -> ModelVersion:
    return ModelVersion.objects.create(
        machine=machine,
        version=machine.model_versions.count() + 1,
        scorer="seed",
        status=status,
        threshold=1.0,
        training_set={"train_layer_ids": train_ids, "holdout_layer_ids": holdout_ids, "seed": 0},
        metrics={"calibration": {"method": "fpr_target", **STALE, "change_n_scores": 40}},
        **STALE,
    )


@pytest.fixture
def jobs(printer):
    return good_jobs(printer.machine)


@pytest.fixture
def version(printer, jobs):
    return stale_version(printer.machine, train_ids=jobs["A"], holdout_ids=jobs["B"])


@pytest.mark.long(13)
def test_a_dry_run_prints_what_a_run_of_the_version_asked_for_then_saves_without_its_deleted_layers(
    printer, jobs, version
):
    version.status = ModelVersion.Status.RETIRED
    version.save(update_fields=["status"])
    active = stale_version(printer.machine, train_ids=jobs["A"], holdout_ids=[])
    Layer.objects.filter(pk__in=jobs["B"][-2:]).delete()

    dry = run("calibrate_change", printer.machine.slug, "--version", "1", "--dry-run")
    version.refresh_from_db()
    assert (version.change_threshold, version.change_baseline) == (99.0, -1.0)
    assert "change_recalibrated_at" not in version.metrics["calibration"]
    assert "nothing saved" in dry and "30 scores from 34 good layers, 2 deleted since training skipped" in dry

    run("calibrate_change", printer.machine.name, "--version", "1")
    version.refresh_from_db()
    assert version.change_threshold != STALE["change_threshold"]
    assert f"change threshold 99 → {version.change_threshold:.6g}" in dry
    calibration = version.metrics["calibration"]
    assert calibration["method"] == "fpr_target"  # the rest of the calibration is kept
    assert calibration["change_threshold"] == version.change_threshold
    assert calibration["change_baseline"] == version.change_baseline
    assert calibration["change_n_scores"] == 30
    assert timezone.now() - datetime.fromisoformat(calibration["change_recalibrated_at"]) < timedelta(minutes=5)
    active.refresh_from_db()
    assert active.change_threshold == STALE["change_threshold"]


def test_with_too_few_layers_left_it_keeps_the_old_calibration(printer, jobs, version):
    Layer.objects.filter(pk__in=jobs["B"]).delete()
    with pytest.raises(CommandError, match=r"Too few good consecutive layers left \(18 of 36\).*keeps"):
        run("calibrate_change", printer.machine.slug)
    version.refresh_from_db()
    assert (version.change_threshold, version.change_baseline) == (99.0, -1.0)
    assert "change_recalibrated_at" not in version.metrics["calibration"]


def test_it_refuses_an_unknown_machine_or_version(printer, version):
    with pytest.raises(CommandError, match="No machine 'nope'"):
        run("calibrate_change", "nope")
    with pytest.raises(CommandError, match="no model version 7"):
        run("calibrate_change", printer.machine.slug, "--version", "7")


def test_it_refuses_a_machine_without_an_active_model(printer):
    with pytest.raises(CommandError, match="no active model"):
        run("calibrate_change", printer.machine.slug)


def test_it_refuses_a_version_without_training_layers(printer):
    failed = ModelVersion.objects.create(machine=printer.machine, version=1, scorer="seed", status="failed")
    with pytest.raises(CommandError, match="no training layers"):
        run("calibrate_change", printer.machine.slug, "--version", str(failed.version))


@pytest.mark.long(18)
def test_it_calibrates_the_active_version_on_the_layers_its_training_calibrated_it_on(printer):
    good_jobs(printer.machine, jobs="ABC", n_layers=13)  # training holds one job out whole
    version = model_version_create(machine=printer.machine, scorer="seed")
    trained = model_version_train(version=version, epochs=1, verbose=False)
    assert trained.training_set["holdout_layer_ids"]
    ModelVersion.objects.filter(pk=trained.pk).update(**STALE)
    model_version_activate(version=trained)
    run("calibrate_change", printer.machine.slug)
    recalibrated = ModelVersion.objects.get(pk=trained.pk)
    assert recalibrated.change_threshold == trained.change_threshold
    assert recalibrated.change_baseline == trained.change_baseline
    assert recalibrated.metrics["calibration"]["change_n_scores"] == trained.metrics["calibration"]["change_n_scores"]
