"""Scoring layers with their machine's active model version."""

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from apps.alerts.services import alert_rules_enqueue
from apps.layers.imaging import read_image_array
from apps.layers.models import Layer
from apps.parts.services import layer_parts_estimate_enqueue
from apps.scoring import model_cache
from apps.scoring.alert_channels import alert_channels_fields, alert_channels_prune
from apps.scoring.history import drift_history, queued_before
from apps.scoring.models import LayerScore, ModelVersion
from apps.scoring.selectors import model_version_active
from apps.scoring.verdicts import Verdict, images_judge, verdict_anomalous
from ml.preprocess import preprocess
from ml.regions import with_image_box

logger = logging.getLogger(__name__)

SCORABLE = (Layer.Status.QUEUED, Layer.Status.UNSCORED, Layer.Status.FAILED)
BATCH = 64  # layers per model call; a backlog is scored in chunks of this many, in arrival order


def no_model_reason(machine) -> str:
    return f"Not scored: machine {machine.name} has no active model yet. Train one to start watching."


def layers_score(
    *, layer_ids: Sequence[int], claim: Callable[[list[int]], list[int]] | None = None
) -> list[LayerScore]:
    """Scores the given layers in batches per machine. Safe to call again for the same ids.

    `claim`, given, takes the ids of earlier queued layers this call would score first and returns
    those the caller now holds (apps.scoring.claims), so no two workers score the same one."""
    layers = Layer.objects.select_related("machine", "current_score").filter(pk__in=layer_ids)
    by_machine: dict[int, list[Layer]] = defaultdict(list)
    for layer in layers:
        by_machine[layer.machine_id].append(layer)
    scores: list[LayerScore] = []
    for machine_layers in by_machine.values():
        scores.extend(_score_machine_layers(machine_layers, claim))
    return scores


def _score_machine_layers(layers: list[Layer], claim: Callable[[list[int]], list[int]] | None) -> list[LayerScore]:
    machine = layers[0].machine
    version = model_version_active(machine=machine)
    if version is None:
        Layer.objects.filter(pk__in=[lr.pk for lr in layers], status__in=SCORABLE).update(
            status=Layer.Status.UNSCORED, error=no_model_reason(machine)
        )
        return []
    requested = {lr.pk for lr in layers}
    # Layers that arrived earlier and are still queued are scored first, in arrival order, so a
    # layer's verdict is the same whether the worker keeps up or scores a backlog at once.
    earlier = queued_before(machine_id=machine.pk, before=max(requested), exclude=requested)
    if claim is not None and earlier:
        held = set(claim([lr.pk for lr in earlier]))
        earlier = [lr for lr in earlier if lr.pk in held]
    layers = sorted([*layers, *earlier], key=lambda lr: lr.pk)
    done = {s.layer_id: s for s in LayerScore.objects.filter(model_version=version, layer__in=layers)}
    # Already scored by this version (a retried task): only make sure the layer points at it.
    results = [_layer_mark_scored(layer=lr, score=done[lr.pk]) for lr in layers if lr.pk in done]
    todo = [lr for lr in layers if lr.pk not in done]
    for start in range(0, len(todo), BATCH):
        results.extend(_score_chunk(todo[start : start + BATCH], version))
    return results


def _score_chunk(layers: list[Layer], version: ModelVersion) -> list[LayerScore]:
    pending, arrays = [], []
    size = model_cache.scorer_for(version).input_size
    for layer in layers:
        try:
            arrays.append(preprocess(read_image_array(layer.image), size))
            pending.append(layer)
        except Exception as error:  # a corrupt or missing file fails this layer only
            logger.exception("Layer %s could not be read", layer.pk)
            Layer.objects.filter(pk=layer.pk).update(
                status=Layer.Status.FAILED, error=f"Could not read the stored image: {error}"
            )
    if not pending:
        return []
    images = np.stack(arrays)
    keys = [lr.pk for lr in pending]
    history = drift_history(version=version, before=max(keys), extra=len(keys))
    verdicts = images_judge(version=version, images=images, history=history, keys=keys)
    results = []
    # In layer order, so that each layer's alert channels see the ones before it in the batch.
    for i in sorted(range(len(pending)), key=lambda i: (pending[i].job_id, pending[i].index)):
        layer, verdict = pending[i], verdicts[i]
        channels = alert_channels_fields(layer=layer, version=version, verdict=verdict, image=verdict.model_image)
        score = _layer_score_store(layer=layer, version=version, verdict=verdict, channels=channels)
        alert_channels_prune(layer=layer, version=version)
        results.append(_layer_mark_scored(layer=layer, score=score))
    return results


def _layer_score_store(*, layer: Layer, version: ModelVersion, verdict: Verdict, channels: dict) -> LayerScore:
    row = LayerScore(
        layer=layer,
        model_version=version,
        scorer=version.scorer,
        score=verdict.score,
        threshold=verdict.threshold,
        trained_threshold=verdict.trained_threshold,
        # One verdict: what the alert rules judge (the alert score where channels gave one).
        anomalous=verdict_anomalous(verdict=verdict, alert_score=channels.get("alert_score")),
        layer_group=verdict.group,
        regions=[with_image_box(region, width=layer.width, height=layer.height) for region in verdict.regions],
        **channels,
    )
    row.heatmap.save("heatmap.png", ContentFile(verdict.heatmap), save=False)
    row.reconstruction.save("reconstruction.png", ContentFile(verdict.reconstruction), save=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # Another worker stored this (layer, version) first: keep theirs, drop our files.
        row.heatmap.delete(save=False)
        row.reconstruction.delete(save=False)
        row = LayerScore.objects.get(layer=layer, model_version=version)
    return row


def layer_scored_handoff(*, layer_id: int) -> None:
    """What follows a committed score: the alert rules judge the job's window ending at it, and a
    layer whose printer sent no part labels gets its parts estimated.

    Called after commit; a failure here must not undo the score (the next layer's evaluation sees
    the job again)."""
    for step, name in ((alert_rules_enqueue, "the alert rules"), (layer_parts_estimate_enqueue, "part estimation")):
        try:
            step(layer_id=layer_id)
        except Exception:
            logger.exception("Could not hand layer %s over to %s", layer_id, name)


def _layer_mark_scored(*, layer: Layer, score: LayerScore) -> LayerScore:
    with transaction.atomic():
        updated = Layer.objects.filter(pk=layer.pk).exclude(
            status=Layer.Status.SCORED, current_score=score
        ).update(status=Layer.Status.SCORED, current_score=score, error="")
        if updated:
            transaction.on_commit(lambda: layer_scored_handoff(layer_id=layer.pk))
    return score
