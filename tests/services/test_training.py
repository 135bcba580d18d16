import numpy as np
import pytest

from apps.demo.printers import png_bytes
from apps.demo.setup import training_layers_ensure
from apps.layers.models import Label, LabelValue, Layer
from apps.layers.services import label_submit, layer_ingest
from apps.scoring.models import ModelVersion
from apps.scoring.training import (
    MIN_DEFECTIVE_FOR_HEAD,
    NotEnoughLayers,
    model_version_activate,
    model_version_create,
    model_version_rollback,
    model_version_train,
)
from ml.artifacts import file_sha256
from ml.calibration_set import MIN_CALIBRATION_LAYERS
from ml.change.calibration import MIN_CHANGE_SCORES
from ml.change.scoring import MIN_REFERENCES
from ml.synthetic import generate_job, generate_layers

pytestmark = [pytest.mark.django_db, pytest.mark.long(20)]


def add_layers(machine, n, *, defect_kind=None, label=None, start=0):
    layers = []
    for i, synthetic in enumerate(generate_layers(seed=start + 3, n=n, size=256, defect_kind=defect_kind)):
        data = png_bytes(synthetic.image)
        layer = layer_ingest(machine=machine, job_id="J", index=start + i, data=data, enqueue=False).layer
        if label:
            label_submit(layer=layer, value=label, source=Label.Source.IMPORT)
        layers.append(layer)
    return layers


def train(machine, epochs=1):
    # Versioning and calibration do not depend on the scorer; the seed trains fastest.
    version = model_version_create(machine=machine, scorer="seed")
    return model_version_train(version=version, epochs=epochs, verbose=False)


def test_it_calibrates_by_false_positive_rate_when_no_defects_are_labeled(printer):
    # One training serves three checks: the calibration, its benign variants and the change channel.
    add_layers(printer.machine, 10)
    version = train(printer.machine)
    assert version.status == ModelVersion.Status.READY
    assert version.calibration_method == "fpr_target"
    assert version.training_set["source"] == "all_unlabeled"
    assert len(version.training_set["holdout_layer_ids"]) == 2
    assert version.sha256 == file_sha256(version.artifact.path)
    assert version.threshold > 0 and version.progress == 1.0

    # It widens the threshold with benign variants of the few held-out layers: two real held-out
    # layers, padded with variants for the threshold; metrics count the real ones.
    calibration = version.metrics["calibration"]
    assert calibration["n_held_out"] == 2 and calibration["n_calibration"] == MIN_CALIBRATION_LAYERS
    assert version.metrics["tn"] + version.metrics["fp"] == 2

    # Runs too short for a tail leave the change channel off.
    assert version.change_threshold is None and version.change_baseline is None
    assert calibration["change_n_scores"] is None


def test_it_calibrates_by_f1_sweep_when_defective_layers_are_labeled(printer):
    # One training serves three checks: the calibration, the layers trained on and the label head's report.
    good = add_layers(printer.machine, 10, label=LabelValue.GOOD)
    add_layers(printer.machine, 3, defect_kind="short_feed", label=LabelValue.DEFECTIVE, start=100)
    add_layers(printer.machine, 4, start=50)  # unlabeled: left out
    version = train(printer.machine)
    assert version.calibration_method == "f1_sweep"
    assert version.training_set["source"] == "labeled_good"
    assert len(version.training_set["defective_layer_ids"]) == 3
    assert {"precision", "recall", "f1", "auroc"} <= set(version.metrics)

    # It trains only on the layers labeled good when there are any.
    used = set(version.training_set["train_layer_ids"]) | set(version.training_set["holdout_layer_ids"])
    assert used == {layer.pk for layer in good}

    # It records why there is no label head below the minimum of labeled defects.
    assert version.head is None
    report = version.metrics["label_head"]
    assert report["used"] is False and report["min_defective"] == MIN_DEFECTIVE_FOR_HEAD
    assert np.isfinite(version.threshold)


def test_it_refuses_to_train_without_layers(printer):
    with pytest.raises(NotEnoughLayers):
        train(printer.machine)
    assert ModelVersion.objects.get().status == ModelVersion.Status.FAILED


def test_it_numbers_versions_and_keeps_one_active(printer, django_capture_on_commit_callbacks):
    # Two trainings serve three checks: versioning, training progress and the layers queued on activation.
    add_layers(printer.machine, 5)
    Layer.objects.update(status=Layer.Status.UNSCORED, error="no model")
    seen = []
    first = model_version_train(
        version=model_version_create(machine=printer.machine, scorer="seed"), epochs=2, verbose=False,
        progress=lambda done, total, loss: seen.append((done, total, np.isfinite(loss))),
    )
    assert seen == [(1, 2, True), (2, 2, True)]  # it records training progress
    second = train(printer.machine)
    assert (first.version, second.version) == (1, 2)
    # It queues the layers left unscored when a model is activated.
    with django_capture_on_commit_callbacks() as callbacks:
        model_version_activate(version=first)
    assert len(callbacks) == 5
    model_version_activate(version=second)
    first.refresh_from_db()
    assert first.status == ModelVersion.Status.RETIRED
    assert ModelVersion.objects.filter(status="active").get() == second
    assert model_version_rollback(machine=printer.machine) == first
    second.refresh_from_db()
    assert second.status == ModelVersion.Status.RETIRED


def test_it_holds_out_a_whole_job_to_calibrate_on(printer):
    for job in ("A", "B", "C", "D", "E"):
        for i, synthetic in enumerate(generate_layers(seed=ord(job), n=4, size=256)):
            layer_ingest(machine=printer.machine, job_id=job, index=i, data=png_bytes(synthetic.image), enqueue=False)
    version = train(printer.machine)
    held = Layer.objects.filter(pk__in=version.training_set["holdout_layer_ids"])
    trained = Layer.objects.filter(pk__in=version.training_set["train_layer_ids"])
    assert held.count() == 4 and trained.count() == 16
    assert held.values("job").distinct().count() == 1
    assert not set(held.values_list("job", flat=True)) & set(trained.values_list("job", flat=True))


def test_it_calibrates_the_alert_change_channel_on_every_good_job_scored_in_order(printer):
    n_layers = 13  # a job's first MIN_REFERENCES have no change score: all three jobs are needed for 30
    for job in ("A", "B", "C"):
        for i, synthetic in enumerate(generate_job(seed=ord(job), n_layers=n_layers, machine_seed=1)):
            layer_ingest(machine=printer.machine, job_id=job, index=i, data=png_bytes(synthetic.image), enqueue=False)
    version = train(printer.machine)
    assert len(version.training_set["holdout_layer_ids"]) == n_layers  # one whole job
    assert version.change_threshold > version.change_baseline > 0
    calibration = version.metrics["calibration"]
    assert calibration["change_threshold"] == version.change_threshold
    # It learns nothing from them: the training jobs serve as well as the held-out one.
    assert calibration["change_n_scores"] > 2 * n_layers


def test_capped_training_and_calibration_sets_keep_the_sequences_the_change_channel_is_calibrated_on(printer, settings):
    n_layers = 18  # a job: one run of one layout
    settings.LAYERWATCH_MAX_TRAINING_LAYERS = 3 * n_layers  # of 4 jobs: drawn as three runs, not as scattered layers
    settings.LAYERWATCH_MAX_CHANGE_CALIBRATION_LAYERS = 2 * n_layers  # two runs of them
    for job in "ABCD":
        jobs = generate_job(seed=ord(job), n_layers=n_layers, group_length=n_layers, machine_seed=1)
        for i, synthetic in enumerate(jobs):
            layer_ingest(machine=printer.machine, job_id=job, index=i, data=png_bytes(synthetic.image), enqueue=False)
    version = train(printer.machine)
    held = Layer.objects.filter(pk__in=version.training_set["holdout_layer_ids"])
    assert len(version.training_set["train_layer_ids"]) + held.count() == 3 * n_layers
    assert held.count() == n_layers and held.values("job").distinct().count() == 1
    # The channel compares images, not a model's output: it serves the seed, which has no layout memory.
    assert version.scorer == "seed" and version.change_threshold > 0
    assert MIN_CHANGE_SCORES <= version.metrics["calibration"]["change_n_scores"] <= 2 * (n_layers - MIN_REFERENCES)


def test_the_demos_training_archive_turns_the_change_channel_on(printer):
    # Scaled down from the demo's default (100 single layers, three past jobs of 40): the past jobs
    # must be short enough to be held out whole and the archive too long to be, and two of them are,
    # as in the demo. The three leave enough layers past each layout's first few for the change channel.
    training_layers_ensure(machine=printer.machine, n_layers=35, size=128, past_jobs=3, past_job_layers=16)
    version = train(printer.machine)
    held = Layer.objects.filter(pk__in=version.training_set["holdout_layer_ids"])
    assert held.count() == 2 * 16
    assert {job_id[: len("demo-past-")] for job_id in held.values_list("job__job_id", flat=True)} == {"demo-past-"}
    assert version.change_threshold > 0
