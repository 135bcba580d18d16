"""The alert rules' change channel's calibration (ml.change) on a machine's good layers: at
training, and again for a trained version when the channel has changed since."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.layers.models import Layer
from apps.scoring.layer_arrays import layers_preprocessed
from apps.scoring.models import ModelVersion
from ml.calibration import sample_runs
from ml.change.calibration import MIN_CHANGE_SCORES, ChangeCalibration, change_calibrate_jobs
from ml.change.scoring import MIN_REFERENCES


class CannotRecalibrate(ValueError):
    pass


@dataclass(frozen=True)
class ChangeRecalibration:
    old_threshold: float | None
    old_baseline: float | None
    new: ChangeCalibration
    n_layers: int  # the good layers calibrated on
    n_missing: int  # of the version's good layers, deleted since it was trained


def change_calibration_layer_ids(*, train_ids: Sequence[int], holdout_ids: Sequence[int]) -> list[int]:
    """The good layers the channel is calibrated on, in id order: the training and held-out layers
    alike, since it learns nothing from them."""
    return sorted([*train_ids, *holdout_ids])


def change_calibrate(*, good: list[Layer], seed: int) -> ChangeCalibration | None:
    """The change channel's calibration on the good layers' runs of consecutive layers, each
    scored in order as scoring sees them, at most LAYERWATCH_MAX_CHANGE_CALIBRATION_LAYERS of them.

    It compares images, not the scorer's output: it serves every scorer and head.
    """
    limit = settings.LAYERWATCH_MAX_CHANGE_CALIBRATION_LAYERS
    picked = sample_runs([layer.job_id for layer in good], [layer.index for layer in good], limit, seed=seed)
    good = [good[p] for p in picked]
    runs = _runs(good)
    # A run's first MIN_REFERENCES layers have nothing to compare with: where the runs cannot leave
    # enough scores for a tail (an archive of single layers), skip scoring them at all.
    if sum(max(0, len(run) - MIN_REFERENCES) for run in runs) < MIN_CHANGE_SCORES:
        return None
    return change_calibrate_jobs(
        (layers_preprocessed([good[p] for p in run]) for run in runs),
        ([good[p].layout for p in run] for run in runs),
    )


def change_calibration_metrics(change: ChangeCalibration | None) -> dict:
    """What a version's metrics["calibration"] records of its change channel."""
    if change is None:
        return {"change_threshold": None, "change_baseline": None, "change_n_scores": None}
    return {
        "change_threshold": change.threshold,
        "change_baseline": change.baseline,
        "change_n_scores": change.n_scores,
    }


def model_version_change_recalibrate(*, version: ModelVersion, dry_run: bool = False) -> ChangeRecalibration:
    """Calibrates the version's change channel again on the good layers it was trained with, and
    saves it unless `dry_run`. Scoring reads the version's row for every batch, so the next batch
    uses it. Where too few layers are left, the version keeps its calibration."""
    training_set = version.training_set or {}
    ids = change_calibration_layer_ids(
        train_ids=training_set.get("train_layer_ids") or [], holdout_ids=training_set.get("holdout_layer_ids") or []
    )
    if not ids:
        raise CannotRecalibrate(f"Version {version.version} records no training layers to calibrate on.")
    found = Layer.objects.in_bulk(ids)
    good = [found[pk] for pk in ids if pk in found]  # layers deleted since are skipped
    change = change_calibrate(good=good, seed=training_set.get("seed", 0))
    if change is None:
        raise CannotRecalibrate(
            f"Too few good consecutive layers left ({len(good)} of {len(ids)}) for {MIN_CHANGE_SCORES} change "
            f"scores; version {version.version} keeps its change calibration."
        )
    result = ChangeRecalibration(
        old_threshold=version.change_threshold,
        old_baseline=version.change_baseline,
        new=change,
        n_layers=len(good),
        n_missing=len(ids) - len(good),
    )
    if not dry_run:
        _save(version, change)
    return result


@transaction.atomic
def _save(version: ModelVersion, change: ChangeCalibration) -> None:
    # Locked and read again: the calibration took a while and the metrics are saved whole.
    locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
    locked.change_threshold, locked.change_baseline = change.threshold, change.baseline
    locked.metrics.setdefault("calibration", {}).update(
        change_calibration_metrics(change), change_recalibrated_at=timezone.now().isoformat()
    )
    locked.save(update_fields=["change_threshold", "change_baseline", "metrics"])
    version.change_threshold, version.change_baseline = change.threshold, change.baseline
    version.metrics = locked.metrics


def _runs(layers: list[Layer]) -> list[list[int]]:
    """Positions in `layers` of each unbroken run of one job's consecutive layers, in order."""
    order = sorted(range(len(layers)), key=lambda p: (layers[p].job_id, layers[p].index))
    runs: list[list[int]] = []
    for position in order:
        layer, before = layers[position], layers[runs[-1][-1]] if runs else None
        if before is not None and (before.job_id, before.index + 1) == (layer.job_id, layer.index):
            runs[-1].append(position)
        else:
            runs.append([position])
    return runs
