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

from apps.layers.imaging import read_image_array
from apps.layers.models import Layer
from apps.machines.models import Machine
from apps.scoring.layer_groups import GroupedScores, layer_groups_build, layer_groups_fit
from apps.scoring.models import LayerGroup, ModelVersion
from apps.scoring.selectors import defective_layers, training_layers
from ml.artifacts import file_sha256
from ml.calibration import calibrate
from ml.evaluation import evaluate
from ml.groups import embed_layers
from ml.preprocess import preprocess
from ml.scorers import DEFAULT_SCORER, get_scorer_class

# Share of the good layers held back from training to calibrate the threshold on.
HOLDOUT_FRACTION = 0.2
MIN_LAYERS_FOR_HOLDOUT = 5


class NotEnoughLayers(ValueError):
    pass


@transaction.atomic
def model_version_create(*, machine: Machine, scorer: str = DEFAULT_SCORER, config: dict | None = None) -> ModelVersion:
    get_scorer_class(scorer)  # fails early with the list of known scorers
    locked = Machine.objects.select_for_update().get(pk=machine.pk)
    latest = ModelVersion.objects.filter(machine=locked).aggregate(v=Max("version"))["v"] or 0
    return ModelVersion.objects.create(
        machine=locked, version=latest + 1, scorer=scorer, config=config or {}
    )


def _load_arrays(layers: list[Layer]) -> np.ndarray:
    return np.stack([preprocess(read_image_array(layer.image)) for layer in layers])


def _split(layer_ids: list[int], seed: int) -> tuple[list[int], list[int]]:
    if len(layer_ids) < MIN_LAYERS_FOR_HOLDOUT:
        return layer_ids, []
    order = np.random.default_rng(seed).permutation(len(layer_ids))
    n_holdout = max(1, round(len(layer_ids) * HOLDOUT_FRACTION))
    holdout = sorted(layer_ids[i] for i in order[:n_holdout])
    train = sorted(layer_ids[i] for i in order[n_holdout:])
    return train, holdout


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
    rng = np.random.default_rng(seed)
    if len(ids) > settings.LAYERWATCH_MAX_TRAINING_LAYERS:
        ids = sorted(rng.choice(ids, settings.LAYERWATCH_MAX_TRAINING_LAYERS, replace=False).tolist())
    train_ids, holdout_ids = _split(ids, seed)
    layers = Layer.objects.in_bulk(ids)
    defective = list(defective_layers(machine=machine)[:1000])

    scorer = get_scorer_class(version.scorer)(version.config or None)
    train_images = _load_arrays([layers[i] for i in train_ids])
    train_embeddings = embed_layers(train_images)
    groups = layer_groups_fit(embeddings=train_embeddings, seed=seed)
    train_groups = groups.assign(train_embeddings)
    history = scorer.fit(
        train_images,
        epochs=epochs,
        seed=seed,
        progress=_progress_writer(version, progress),
        verbose=verbose,
    )
    del train_images
    calibration_ids = holdout_ids or train_ids
    good_images = _load_arrays([layers[i] for i in calibration_ids])
    bad_images = _load_arrays(defective) if defective else np.empty((0, *good_images.shape[1:]), np.float32)
    good_scores = scorer.score(good_images).scores
    bad_scores = scorer.score(bad_images).scores if defective else np.empty(0)
    scores = np.concatenate([good_scores, bad_scores])
    labels = np.concatenate([np.zeros(len(good_scores)), np.ones(len(bad_scores))]).astype(int)
    target_fpr = target_fpr or settings.LAYERWATCH_TARGET_FPR
    calibration = calibrate(scores, labels, target_fpr=target_fpr)
    group_rows = layer_groups_build(
        groups=groups,
        train_groups=train_groups,
        calibration=GroupedScores(
            scores=scores,
            labels=labels,
            groups=groups.assign(embed_layers(np.concatenate([good_images, bad_images]))),
        ),
        global_threshold=calibration.threshold,
        target_fpr=target_fpr,
    )
    metrics = evaluate(scores, labels, calibration.threshold).as_dict()
    metrics["calibration"] = {"method": calibration.method, **calibration.details}
    metrics["calibrated_on_training_layers"] = not holdout_ids
    metrics["layer_groups"] = {"n_groups": groups.n_groups, "silhouette": groups.silhouette, "embedding": groups.method}

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
    version.threshold = float(calibration.threshold)
    version.calibration_method = calibration.method
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


@transaction.atomic
def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Makes this version the machine's scorer; layers left unscored for want of one are queued."""
    from apps.layers.services import layer_enqueue_scoring_on_commit

    if version.status not in (ModelVersion.Status.READY, ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE):
        raise ValueError(f"Version {version.version} is {version.status} and cannot be activated.")
    Machine.objects.select_for_update().get(pk=version.machine_id)
    ModelVersion.objects.filter(machine_id=version.machine_id, status=ModelVersion.Status.ACTIVE).exclude(
        pk=version.pk
    ).update(status=ModelVersion.Status.RETIRED)
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = timezone.now()
    version.save(update_fields=["status", "activated_at"])
    waiting = Layer.objects.filter(machine_id=version.machine_id, status=Layer.Status.UNSCORED)
    for layer_id in waiting.values_list("pk", flat=True).iterator():
        layer_enqueue_scoring_on_commit(layer_id=layer_id)
    return version


def model_version_rollback(*, machine: Machine) -> ModelVersion:
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
    return model_version_activate(version=target)
