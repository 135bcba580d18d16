"""Who scores a layer, and what happens to the ones nobody scored: so every stored layer is scored
once, or marked failed with the reason.

A worker claims a layer with a conditional UPDATE (still queued, and no live claim) and scores only
what it claimed, so duplicate, restored or re-sent messages and several sweepers never score a layer
twice. The database row says what is left to do: the sweeper (`layers_requeue_lost`) re-sends a
queued layer whose message is gone or whose worker's claim ran out.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import TypeVar

from celery import current_app
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.layers.models import Failure, Layer
from apps.scoring import model_cache
from apps.scoring.broker import SCORING_TASK, scoring_messages_pending
from apps.scoring.selectors import model_version_active
from apps.scoring.services import layers_score
from ml.artifacts import ArtifactInvalid

logger = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError)
T = TypeVar("T")


def scoring_send(*, layer_id: int) -> None:
    """Puts one message for the layer on the scoring queue (by name: apps do not import workers)."""
    current_app.send_task(SCORING_TASK, args=[layer_id])


def scoring_send_on_commit(*, layer_id: int) -> None:
    # robust: a broker that is down must not turn a stored layer into an error; the sweeper re-sends.
    transaction.on_commit(lambda: scoring_send(layer_id=layer_id), robust=True)


def layers_claim(*, layer_ids: Iterable[int], token: str) -> list[int]:
    """Claims each queued layer that no live worker holds; returns the ids this caller now holds.

    `token` names the claimant; its own earlier claims (a retried batch) count as its own.
    """
    now = timezone.now()
    expired = now - timedelta(seconds=settings.LAYERWATCH_CLAIM_TIMEOUT_SECONDS)
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=expired) | Q(claimed_by=token)
    claimed = []
    for layer_id in sorted(set(layer_ids)):
        rows = Layer.objects.filter(free, pk=layer_id, status=Layer.Status.QUEUED).update(
            claimed_at=now, claimed_by=token
        )
        if rows:
            claimed.append(layer_id)
    return claimed


def layers_fail(*, layer_ids: Sequence[int], token: str, failure: str, error: str) -> int:
    """Marks the caller's claimed, still queued layers failed with a reason; the rest stay as they are."""
    return Layer.objects.filter(pk__in=layer_ids, status=Layer.Status.QUEUED, claimed_by=token).update(
        status=Layer.Status.FAILED, failure=failure, error=error, claimed_at=None
    )


def layers_score_claimed(*, layer_ids: Sequence[int], token: str) -> int:
    """Claims the layers and scores those claimed, machine by machine; returns how many it claimed.

    A model artifact that fails its check fails its machine's layers with the reason (they are
    scored once it is repaired or another version is activated); any other error fails only
    the layers of that machine. A database that is down raises, for the caller to retry.
    """
    claimed = layers_claim(layer_ids=layer_ids, token=token)
    by_machine: dict[int, list[int]] = defaultdict(list)
    for layer_id, machine_id in Layer.objects.filter(pk__in=claimed).values_list("pk", "machine_id"):
        by_machine[machine_id].append(layer_id)
    for ids in by_machine.values():
        earlier: list[int] = []

        def claim_earlier(more: list[int], earlier=earlier) -> list[int]:
            earlier.extend(layers_claim(layer_ids=more, token=token))
            return earlier

        try:
            layers_score(layer_ids=ids, claim=claim_earlier)
        except DATABASE_DOWN:
            raise
        except ArtifactInvalid as error:
            logger.error("Layers %s not scored: %s", ids, error)
            layers_fail(layer_ids=[*ids, *earlier], token=token, failure=Failure.MODEL_ARTIFACT,
                        error=f"Not scored: {error} The layer is scored once the model is repaired or re-activated.")
        except Exception as error:
            logger.exception("Scoring layers %s failed", ids)
            layers_fail(
                layer_ids=[*ids, *earlier], token=token, failure=Failure.SCORING, error=f"Scoring failed: {error}"
            )
    return len(claimed)


def database_retry(work: Callable[[], T], *, budget_seconds: float | None = None) -> T:
    """Runs `work`, and again after a pause while the database is unreachable (a restart), up to a budget."""
    budget = settings.LAYERWATCH_DATABASE_RETRY_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    pause = 0.5
    while True:
        try:
            return work()
        except DATABASE_DOWN as error:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("Database unreachable (%s); trying again in %.1f s", error, pause)
            time.sleep(pause)
            close_old_connections()  # a broken connection is dropped, the next query opens a new one
            pause = min(pause * 2, 5.0)


def layers_requeue(*, layers: QuerySet[Layer]) -> int:
    """Puts the given layers back on the scoring queue: queued, unclaimed, a new message once committed."""
    with transaction.atomic():
        ids = list(layers.select_for_update(skip_locked=True).values_list("pk", flat=True))
        Layer.objects.filter(pk__in=ids).update(
            status=Layer.Status.QUEUED, error="", failure="", claimed_at=None, claimed_by="",
            enqueued_at=timezone.now(),
        )
        for layer_id in ids:
            scoring_send_on_commit(layer_id=layer_id)
    return len(ids)


def layers_requeue_for_model(*, machine_id: int) -> int:
    """After a machine's model is activated: its layers waiting for a model, or failed for a broken one."""
    waiting = Layer.objects.filter(machine_id=machine_id).filter(
        Q(status=Layer.Status.UNSCORED) | Q(status=Layer.Status.FAILED, failure=Failure.MODEL_ARTIFACT)
    )
    return layers_requeue(layers=waiting)


def layers_requeue_repaired() -> int:
    """Re-queues layers that failed for a broken model artifact once their machine's active one checks out."""
    failed = Layer.objects.filter(status=Layer.Status.FAILED, failure=Failure.MODEL_ARTIFACT)
    requeued = 0
    for machine_id in failed.values_list("machine_id", flat=True).distinct():
        version = model_version_active(machine=machine_id)
        if version is not None and model_cache.artifact_problem(version) is None:
            requeued += layers_requeue_for_model(machine_id=machine_id)
    return requeued


def layers_requeue_lost(*, limit: int = 5000) -> int:
    """Re-sends queued layers whose message is lost: unclaimed and on no queue (nor just delivered)
    for a while, or claimed by a worker whose claim ran out (it died). Returns how many.

    Each re-send is taken with a conditional UPDATE on the row as read, so sweepers running at once
    send a layer once; a duplicate message would still be stopped by the worker's claim.
    """
    now = timezone.now()
    waited = now - timedelta(seconds=settings.LAYERWATCH_REQUEUE_AFTER_SECONDS)
    expired = now - timedelta(seconds=settings.LAYERWATCH_CLAIM_TIMEOUT_SECONDS)
    candidates = list(
        Layer.objects.filter(status=Layer.Status.QUEUED, enqueued_at__lt=waited)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=expired))
        .order_by("enqueued_at")
        .values_list("pk", "enqueued_at", "claimed_at")[:limit]
    )
    if not candidates:
        return 0
    pending = scoring_messages_pending(delivered_since=waited)
    unseen = now - timedelta(seconds=settings.LAYERWATCH_REQUEUE_UNSEEN_AFTER_SECONDS)
    requeued = 0
    for layer_id, enqueued_at, claimed_at in candidates:
        if claimed_at is None and (layer_id in pending if pending is not None else enqueued_at > unseen):
            continue  # its message is still there (or, on a broker we cannot read, may be)
        taken = Layer.objects.filter(
            pk=layer_id, status=Layer.Status.QUEUED, enqueued_at=enqueued_at, claimed_at=claimed_at
        ).update(enqueued_at=now, claimed_at=None, claimed_by="")
        if taken:
            scoring_send(layer_id=layer_id)
            requeued += 1
    if requeued:
        logger.warning("Re-sent %s layers whose scoring message was lost", requeued)
    return requeued
