from datetime import datetime, timedelta

import numpy as np
import pytest
from django.core.management import CommandError
from django.utils import timezone

from apps.demo.printers import png_bytes
from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring.change_calibration import change_calibrate
from apps.scoring.models import ModelVersion
from apps.scoring.training import model_version_create, model_version_train
from ml.change import MIN_REFERENCES, ChangeCalibration
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
def quick_change_scores(monkeypatch):
    """Stands in for ml.change's scoring (seconds a layer) with a calibration that any other
    choice or order of layers would change."""

    def calibrate_jobs(jobs, layouts):
        stacks = list(jobs)
        assert len(list(layouts)) == len(stacks)
        weighted = [np.average(stack.mean(axis=(1, 2)), weights=np.arange(1, len(stack) + 1)) for stack in stacks]
        signature = float(np.dot(weighted, np.arange(1, len(stacks) + 1)))
        n_scores = sum(len(stack) - MIN_REFERENCES for stack in stacks)
        return ChangeCalibration(baseline=signature, threshold=signature + 1, n_scores=n_scores)

    monkeypatch.setattr("apps.scoring.change_calibration.change_calibrate_jobs", calibrate_jobs)


@pytest.fixture
def jobs(printer):
    return good_jobs(printer.machine)


@pytest.fixture
def version(printer, jobs):
    return stale_version(printer.machine, train_ids=jobs["A"], holdout_ids=jobs["B"])


def expected(ids):
    return change_calibrate(good=list(Layer.objects.filter(pk__in=ids).order_by("pk")), seed=0)


def test_it_recalibrates_the_active_versions_change_channel_on_its_training_layers(printer, jobs, version):
    output = run("calibrate_change", printer.machine.slug)
    want = expected(jobs["A"] + jobs["B"])
    version.refresh_from_db()
    assert (version.change_threshold, version.change_baseline) == (want.threshold, want.baseline)
    assert version.change_threshold != STALE["change_threshold"]
    assert f"change threshold 99 → {want.threshold:.6g}" in output and f"{want.n_scores} scores" in output


def test_it_records_the_new_calibration_and_when_in_the_versions_metrics(printer, jobs, version, quick_change_scores):
    run("calibrate_change", printer.machine.name)
    version.refresh_from_db()
    calibration = version.metrics["calibration"]
    assert calibration["method"] == "fpr_target"  # the rest of the calibration is kept
    assert calibration["change_threshold"] == version.change_threshold == expected(jobs["A"] + jobs["B"]).threshold
    assert calibration["change_baseline"] == version.change_baseline
    assert calibration["change_n_scores"] == 32
    assert timezone.now() - datetime.fromisoformat(calibration["change_recalibrated_at"]) < timedelta(minutes=5)


def test_a_dry_run_prints_the_new_calibration_and_saves_nothing(printer, jobs, version, quick_change_scores):
    output = run("calibrate_change", printer.machine.slug, "--dry-run")
    version.refresh_from_db()
    assert (version.change_threshold, version.change_baseline) == (99.0, -1.0)
    assert "change_recalibrated_at" not in version.metrics["calibration"]
    assert f"→ {expected(jobs['A'] + jobs['B']).threshold:.6g}" in output and "nothing saved" in output


def test_it_recalibrates_the_version_asked_for_and_leaves_the_active_one(printer, jobs, version, quick_change_scores):
    version.status = ModelVersion.Status.RETIRED
    version.save(update_fields=["status"])
    active = stale_version(printer.machine, train_ids=jobs["A"], holdout_ids=[])
    run("calibrate_change", printer.machine.slug, "--version", "1")
    version.refresh_from_db()
    active.refresh_from_db()
    assert version.change_threshold == expected(jobs["A"] + jobs["B"]).threshold
    assert active.change_threshold == STALE["change_threshold"]


def test_it_skips_layers_deleted_since_training(printer, jobs, version, quick_change_scores):
    Layer.objects.filter(pk__in=jobs["B"][-2:]).delete()
    output = run("calibrate_change", printer.machine.slug)
    version.refresh_from_db()
    assert version.change_threshold == expected(jobs["A"] + jobs["B"][:-2]).threshold
    assert "30 scores from 34 good layers, 2 deleted since training skipped" in output


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


def test_it_calibrates_a_trained_version_on_the_layers_training_calibrated_it_on(printer, quick_change_scores):
    good_jobs(printer.machine, jobs="ABC")  # training holds one job out whole
    version = model_version_create(machine=printer.machine, scorer="seed")
    trained = model_version_train(version=version, epochs=1, verbose=False)
    assert trained.training_set["holdout_layer_ids"]
    ModelVersion.objects.filter(pk=trained.pk).update(**STALE)
    run("calibrate_change", printer.machine.slug, "--version", str(trained.version))
    recalibrated = ModelVersion.objects.get(pk=trained.pk)
    assert recalibrated.change_threshold == trained.change_threshold
    assert recalibrated.change_baseline == trained.change_baseline
    assert recalibrated.metrics["calibration"]["change_n_scores"] == trained.metrics["calibration"]["change_n_scores"]
