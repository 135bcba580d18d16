"""Writes behind the operator pages: queue claims, batches of labels, retraining."""

from collections.abc import Collection
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.layers.models import Label, LabelValue, Layer
from apps.layers.services import layers_label_bulk
from apps.machines.models import Machine
from apps.queueing import task_send
from apps.scoring.models import ModelVersion
from apps.scoring.training import model_version_create
from apps.ui.models import LabelLock
from apps.ui.selectors import queue_candidates
from ml.scorers import DEFAULT_SCORER

LOCK_SECONDS = 5 * 60


def queue_claim(
    *,
    user,
    mode: str,
    machine: Machine | None = None,
    count: int = 10,
    exclude: Collection[int] = (),
) -> list[Layer]:
    """Locks up to `count` queue layers for this user and returns them in queue order.

    Two labelers racing for the same rows both insert; the unique layer key lets one win, and each
    keeps only the rows it holds. Expired locks are deleted first so that they can be taken again;
    the caller's own locks are renewed (a reloaded page gets its layers back). `exclude` names the
    layers the caller already has on screen or has skipped.
    """
    claimed: list[int] = []
    for _attempt in range(3):
        now = timezone.now()
        ids = list(
            queue_candidates(mode=mode, user=user, machine=machine)
            .exclude(pk__in=[*exclude, *claimed])
            .values_list("pk", flat=True)[: count - len(claimed)]
        )
        if not ids:
            break
        expires = now + timedelta(seconds=LOCK_SECONDS)
        LabelLock.objects.filter(layer_id__in=ids, expires_at__lte=now).delete()
        LabelLock.objects.bulk_create(
            [LabelLock(layer_id=pk, user=user, expires_at=expires) for pk in ids],
            ignore_conflicts=True,
        )
        LabelLock.objects.filter(layer_id__in=ids, user=user).update(expires_at=expires)
        won = set(
            LabelLock.objects.filter(layer_id__in=ids, user=user, expires_at=expires).values_list("layer_id", flat=True)
        )
        claimed.extend(pk for pk in ids if pk in won)
        if len(claimed) >= count:
            break
    layers = Layer.objects.select_related("job", "machine", "current_score").in_bulk(claimed)
    return [layers[pk] for pk in claimed if pk in layers]


def queue_release(*, user, layer_ids: list[int]) -> None:
    LabelLock.objects.filter(user=user, layer_id__in=layer_ids).delete()


@transaction.atomic
def labels_submit_batch(*, user, items: list[tuple[int, str]]) -> int:
    """Applies (layer id, label) pairs in order; a layer named twice keeps its last label."""
    latest: dict[int, str] = {}
    for layer_id, value in items:
        if value not in LabelValue.values:
            raise ValueError(f"Unknown label {value!r}.")
        latest.pop(layer_id, None)
        latest[layer_id] = value
    saved = 0
    for value in LabelValue.values:
        ids = [pk for pk, v in latest.items() if v == value]
        if ids:
            saved += layers_label_bulk(layer_ids=ids, value=value, user=user, source=Label.Source.OPERATOR)
    queue_release(user=user, layer_ids=list(latest))
    return saved


def model_version_retrain(*, machine: Machine, epochs: int = 5) -> ModelVersion:
    """Creates a version in `training` and queues its training once the row is committed."""
    with transaction.atomic():
        active = ModelVersion.objects.filter(machine=machine, status=ModelVersion.Status.ACTIVE).first()
        scorer = active.scorer if active else DEFAULT_SCORER
        version = model_version_create(machine=machine, scorer=scorer)
        transaction.on_commit(
            lambda: task_send("training.train_model_version", version.pk, epochs, queue="training")
        )
    return version


@transaction.atomic
def machine_alert_settings_update(
    *, machine: Machine, rule_values: dict, pause_on_critical: bool, pause_url: str
) -> None:
    """Gives the machine its own alert rule (created on first save) and its pause hook."""
    from apps.alerts.models import AlertRule

    AlertRule.objects.update_or_create(machine=machine, defaults=rule_values)
    machine.pause_on_critical, machine.pause_url = pause_on_critical, pause_url
    machine.save(update_fields=["pause_on_critical", "pause_url"])
