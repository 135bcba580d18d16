"""Training a machine's model version: pick layers, fit, calibrate a threshold, save the artifact."""

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.audit.services import audit_model_activation
from apps.layers.models import Layer
from apps.machines.models import Machine
from apps.scoring.change_calibration import (
    change_calibrate,
    change_calibration_layer_ids,
    change_calibration_metrics,
)
from apps.scoring.layer_arrays import layers_preprocessed
from apps.scoring.layer_groups import GroupedScores, layer_groups_build, layer_groups_fit
from apps.scoring.models import LayerGroup, ModelVersion
from apps.scoring.selectors import defective_layers, training_layers
from ml.artifacts import file_sha256
from ml.calibration import calibrate, calibrate_f1_sweep, holdout_split, sample_runs
from ml.calibration_set import calibration_set
from ml.drift import DriftCalibration
from ml.evaluation import evaluate
from ml.groups import embed_layers
from ml.preprocess import model_frame
from ml.scorers import DEFAULT_SCORER, Scorer, get_scorer_class
from ml.scorers.base import ScoreResult
from ml.supervised import MAX_REFERENCE, FeatureSpace, HeadFit, NotEnoughLabels, fit_head

# Share of the good layers held back from training to calibrate the threshold on.
HOLDOUT_FRACTION = 0.2
MIN_LAYERS_FOR_HOLDOUT = 5
# Labeled defective layers from which a supervised head is fitted on the scorer's outputs.
# bench/labels.py (synthetic, 2 machines x 10 draws): F1 gain over the F1-swept score threshold
# -0.019 at 5 labels, -0.003 at 10, +0.004 +- 0.004 at 20, +0.010 +- 0.003 at 50, +0.019 at 100.
# It is used only when its cross-validated F1 also beats the score's on this machine's layers;
# then the version alarms on the head's P(defective) against one global threshold (the layer
# groups' thresholds, in the scorer's units, then only scale the heatmap).
MIN_DEFECTIVE_FOR_HEAD = 50
HEAD_MIN_GAIN = 0.0  # F1 the head must gain over the score's, cross-validated, to be used


class NotEnoughLayers(ValueError):
    pass


@transaction.atomic
def model_version_create(*, machine: Machine, scorer: str = DEFAULT_SCORER, config: dict | None = None) -> ModelVersion:
    """A new version to train. An unknown scorer or a bad `config` fails here, not after training."""
    get_scorer_class(scorer)(config)
    locked = Machine.objects.select_for_update().get(pk=machine.pk)
    latest = ModelVersion.objects.filter(machine=locked).aggregate(v=Max("version"))["v"] or 0
    return ModelVersion.objects.create(machine=locked, version=latest + 1, scorer=scorer, config=config or {})


def _split(layer_ids: list[int], layers: dict[int, Layer], seed: int) -> tuple[list[int], list[int]]:
    """Whole jobs (or each job's latest layers) are held out, so the threshold is calibrated on
    layouts the model was not trained on, as the next job's will be (ml.calibration.holdout_split)."""
    if len(layer_ids) < MIN_LAYERS_FOR_HOLDOUT:
        return layer_ids, []
    jobs = [layers[pk].job_id for pk in layer_ids]
    indexes = [layers[pk].index for pk in layer_ids]
    train, holdout = holdout_split(jobs, indexes, HOLDOUT_FRACTION, seed)
    return sorted(layer_ids[i] for i in train), sorted(layer_ids[i] for i in holdout)


def _progress_writer(version: ModelVersion, report: Callable | None) -> Callable[[int, int, float], None]:
    def progress(done: int, total: int, loss: float) -> None:
        ModelVersion.objects.filter(pk=version.pk).update(progress=done / max(total, 1))
        if report:
            report(done, total, loss)

    return progress


def model_version_train(
    *,
    version: ModelVersion,
    epochs: int,
    seed: int = 0,
    target_fpr: float | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    verbose: bool = True,
) -> ModelVersion:
    """Fits the version's scorer, calibrates its threshold and stores the artifact (status ready)."""
    try:
        return _train(version, epochs, seed, target_fpr, progress, verbose)
    except Exception as error:
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise


def _train(version, epochs, seed, target_fpr, progress, verbose) -> ModelVersion:
    machine = version.machine
    candidates, source = training_layers(machine=machine)
    ids = list(candidates.values_list("pk", flat=True))
    if not ids:
        raise NotEnoughLayers(f"Machine {machine.name} has no layers to train on.")
    if len(ids) > settings.LAYERWATCH_MAX_TRAINING_LAYERS:
        # In runs of consecutive layers: the change channel is calibrated on sequences.
        limit = settings.LAYERWATCH_MAX_TRAINING_LAYERS
        rows = list(candidates.values_list("pk", "job_id", "index"))
        kept = sample_runs([job for _, job, _ in rows], [index for *_, index in rows], limit, seed=seed)
        ids = sorted(rows[p][0] for p in kept)
    layers = Layer.objects.in_bulk(ids)
    train_ids, holdout_ids = _split(ids, layers, seed)
    defective = list(defective_layers(machine=machine)[:1000])

    scorer = get_scorer_class(version.scorer)(version.config or None)
    first = layers[train_ids[0]]
    scorer.resolve_input(max(first.width, first.height), limit=settings.LAYERWATCH_SCORING_RESOLUTION)
    size = scorer.input_size
    train_images = layers_preprocessed([layers[i] for i in train_ids], size)
    train_embeddings = embed_layers(model_frame(train_images))
    groups = layer_groups_fit(embeddings=train_embeddings, seed=seed)
    train_groups = groups.assign(train_embeddings)
    history = scorer.fit(
        train_images,
        epochs=epochs,
        seed=seed,
        progress=_progress_writer(version, progress),
        verbose=verbose,
    )
    space = _feature_space(scorer, train_images, seed) if len(defective) >= MIN_DEFECTIVE_FOR_HEAD else None
    del train_images
    calibration_ids = holdout_ids or train_ids
    n_real = len(calibration_ids)  # the held-out layers come first, then their benign variants
    good_images = calibration_set(layers_preprocessed([layers[i] for i in calibration_ids], size), seed=seed)
    bad_images = (
        layers_preprocessed(defective, size) if defective else np.empty((0, *good_images.shape[1:]), np.float32)
    )
    # Each calibration layer's group, once: for the groups' thresholds and the drift reference.
    good_groups = groups.assign(embed_layers(model_frame(good_images)))
    bad_groups = groups.assign(embed_layers(model_frame(bad_images))) if defective else np.empty(0, int)
    good_result = scorer.score(good_images)
    bad_result = scorer.score(bad_images) if defective else None
    good_scores = good_result.scores
    bad_scores = bad_result.scores if bad_result else np.empty(0)
    scores = np.concatenate([good_scores, bad_scores])
    labels = np.concatenate([np.zeros(len(good_scores)), np.ones(len(bad_scores))]).astype(int)
    target_fpr = target_fpr or settings.LAYERWATCH_TARGET_FPR
    calibration = calibrate(scores, labels, target_fpr=target_fpr)
    # Groups are calibrated, and the version evaluated, on real layers only: benign variants
    # widen the global threshold but must not count towards a group's own false-alarm bound.
    real = np.concatenate([np.arange(len(good_scores)) < n_real, np.ones(len(bad_scores), bool)])
    group_rows = layer_groups_build(
        groups=groups,
        train_groups=train_groups,
        calibration=GroupedScores(
            scores=scores[real],
            labels=labels[real],
            groups=np.concatenate([good_groups[:n_real], bad_groups]),
        ),
        global_threshold=calibration.threshold,
        target_fpr=target_fpr,
    )
    metrics = evaluate(scores[real], labels[real], calibration.threshold).as_dict()
    metrics["calibration"] = {"method": calibration.method, **calibration.details, "n_held_out": n_real}
    metrics["calibrated_on_training_layers"] = not holdout_ids
    metrics["layer_groups"] = {"n_groups": groups.n_groups, "silhouette": groups.silhouette, "embedding": groups.method}
    threshold, method, head = float(calibration.threshold), calibration.method, None
    if defective:
        # The real held-out layers only (they come first), not their benign variants: copies of
        # one layer on both sides of a cross-validation split would flatter the head.
        real_good = ScoreResult(
            *(array[:n_real] for array in (good_scores, good_result.heatmaps, good_result.reconstructions))
        )
        head_labels = np.concatenate([np.zeros(n_real, int), np.ones(len(defective), int)])
        fitted, metrics["label_head"] = _label_head(
            scorer, space, (good_images[:n_real], real_good), (bad_images, bad_result), head_labels, seed
        )
        if fitted is not None:
            head, threshold, method = fitted.head.to_dict(), fitted.head.threshold, "head_f1_sweep"
            # Cross-validated: each layer's P(defective) comes from a head fitted without it.
            metrics.update(evaluate(fitted.cv_probabilities, head_labels, threshold).as_dict())
            metrics["calibration"] = {"method": method, "cross_validated": True}

    # Where the calibration layers lay below the threshold: scoring rescales the threshold as the
    # machine's recent layers move away from there (ml.drift).
    # In the units scoring follows: each layer's score over its own group's threshold.
    if head is None:
        group_thresholds = {row.index: row.threshold for row in group_rows}
        good_ratios = good_scores / np.array([group_thresholds[g] for g in good_groups])
    else:
        good_ratios = np.asarray(fitted.cv_probabilities[:n_real]) / threshold
    metrics["drift"] = DriftCalibration.fit(good_ratios).as_dict()

    good = [layers[i] for i in change_calibration_layer_ids(train_ids=train_ids, holdout_ids=holdout_ids)]
    change = change_calibrate(good=good, seed=seed)
    version.change_threshold = None if change is None else change.threshold
    version.change_baseline = None if change is None else change.baseline
    metrics["calibration"].update(change_calibration_metrics(change))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        scorer.save(path)
        version.sha256 = file_sha256(path)
        with path.open("rb") as handle:
            version.artifact.save("model.keras", File(handle), save=False)
    version.config = scorer.config
    version.training_set = {
        "source": source,
        "train_layer_ids": train_ids,
        "holdout_layer_ids": holdout_ids,
        "defective_layer_ids": [layer.pk for layer in defective],
        "epochs": epochs,
        "seed": seed,
        "history": history,
    }
    version.threshold = threshold
    version.calibration_method = method
    version.head = head
    version.metrics = metrics
    version.status = ModelVersion.Status.READY
    version.progress = 1.0
    version.trained_at = timezone.now()
    version.error = ""
    with transaction.atomic():
        version.save()
        version.layer_groups.all().delete()
        for row in group_rows:
            row.model_version = version
        LayerGroup.objects.bulk_create(group_rows)
    return version


def _feature_space(scorer: Scorer, images: np.ndarray, seed: int) -> FeatureSpace:
    """What the head measures layers against: the scorer's outputs on (some) training layers."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(images))[:MAX_REFERENCE])
    return FeatureSpace.fit(scorer.score(images[pick]), scorer.features(images[pick]), seed=seed)


def _label_head(
    scorer: Scorer,
    space: FeatureSpace | None,
    good: tuple[np.ndarray, ScoreResult],
    bad: tuple[np.ndarray, ScoreResult],
    labels: np.ndarray,
    seed: int,
) -> tuple[HeadFit | None, dict]:
    """A head fitted on held-out good + labeled defective layers, when it beats the score alone.

    Both are judged by the F1 of an F1-swept threshold: on the head's cross-validated outputs,
    and on the scores themselves (which nothing was fitted to).
    """
    n_defective = int(labels.sum())
    report = {
        "n_good": int(len(labels) - n_defective),
        "n_defective": n_defective,
        "min_defective": MIN_DEFECTIVE_FOR_HEAD,
        "used": False,
    }
    if space is None:
        report["note"] = f"{n_defective} labeled defective layers, {MIN_DEFECTIVE_FOR_HEAD} needed for a head"
        return None, report
    x = np.concatenate([space.transform(result, scorer.features(images)) for images, result in (good, bad)])
    try:
        fitted = fit_head(space, x, labels, seed=seed)
    except NotEnoughLabels as error:  # e.g. too few held-out good layers
        report["note"] = str(error)
        return None, report
    sweep = calibrate_f1_sweep(np.concatenate([good[1].scores, bad[1].scores]), labels)
    report["f1_score_sweep"] = float(sweep.details["f1"])
    report["f1_head_cv"] = fitted.cv_f1
    report["used"] = fitted.cv_f1 > report["f1_score_sweep"] + HEAD_MIN_GAIN
    if not report["used"]:
        report["note"] = "the head's cross-validated F1 did not beat the score's threshold: not used"
        return None, report
    report["note"] = "scores are the head's P(defective) against one global threshold, not per layer group"
    return fitted, report


@transaction.atomic
def model_version_activate(*, version: ModelVersion, actor=None) -> ModelVersion:
    """Makes this version the machine's scorer; layers left unscored for want of one, or failed for a
    broken artifact, are queued."""
    from apps.scoring.claims import layers_requeue_for_model

    if version.status not in (ModelVersion.Status.READY, ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE):
        raise ValueError(f"Version {version.version} is {version.status} and cannot be activated.")
    Machine.objects.select_for_update().get(pk=version.machine_id)
    audit_model_activation(version=version, actor=actor)
    ModelVersion.objects.filter(machine_id=version.machine_id, status=ModelVersion.Status.ACTIVE).exclude(
        pk=version.pk
    ).update(status=ModelVersion.Status.RETIRED)
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = timezone.now()
    version.save(update_fields=["status", "activated_at"])
    layers_requeue_for_model(machine_id=version.machine_id)
    return version


def model_version_rollback(*, machine: Machine, actor=None) -> ModelVersion:
    """Re-activates the newest version before the active one."""
    active = ModelVersion.objects.filter(machine=machine, status=ModelVersion.Status.ACTIVE).first()
    previous = ModelVersion.objects.filter(
        machine=machine, status__in=[ModelVersion.Status.READY, ModelVersion.Status.RETIRED]
    )
    if active:
        previous = previous.filter(version__lt=active.version)
    target = previous.order_by("-version").first()
    if target is None:
        raise ValueError(f"Machine {machine.name} has no earlier version to roll back to.")
    return model_version_activate(version=target, actor=actor)
