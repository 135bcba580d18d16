import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.layers.imaging import image_inspect
from apps.layers.models import DefectKind, Label, LabelValue, Layer, PrintJob
from apps.machines.models import Machine
from apps.parts.services import layer_parts_check, layer_parts_store
from apps.queueing import task_send


class LayerConflict(Exception):
    """The same (machine, job, layer) was already uploaded with different bytes."""

    def __init__(self, layer: Layer) -> None:
        super().__init__(
            f"Layer {layer.index} of job {layer.job.job_id!r} was already uploaded with different "
            f"content (sha256 {layer.sha256})."
        )
        self.layer = layer


class JobEnded(Exception):
    """The job was finished or aborted: it takes no new layers and no changes."""

    def __init__(self, job: PrintJob, action: str = "takes no new layers") -> None:
        when = job.finished_at.isoformat() if job.finished_at else "earlier"
        super().__init__(f"Job {job.job_id!r} was {job.status} at {when} and {action}; start a new job id.")
        self.job = job


@dataclass(frozen=True)
class IngestResult:
    layer: Layer
    created: bool


def _existing_layer(*, machine: Machine, job_id: str, index: int) -> Layer | None:
    return (
        Layer.objects.select_related("job", "machine")
        .filter(machine=machine, job__job_id=job_id, index=index)
        .first()
    )


def _same_or_conflict(layer: Layer, sha256: str) -> IngestResult:
    if layer.sha256 != sha256:
        raise LayerConflict(layer)
    return IngestResult(layer=layer, created=False)


def layer_ingest(
    *,
    machine: Machine,
    job_id: str,
    index: int,
    data: bytes,
    captured_at: datetime | None = None,
    layout: str = "",
    parts: bytes | None = None,
    enqueue: bool = True,
) -> IngestResult:
    """Stores an uploaded layer image and queues it for scoring once the row is committed.

    A retry with identical bytes returns the stored layer unchanged (idempotent); different
    bytes for the same slot raise LayerConflict, and a new layer for a finished or aborted job
    JobEnded. ImageRejected/ImageTooLarge come from checking.
    `parts` is an optional part-label image; a bad one raises LabelImageError and stores nothing.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _existing_layer(machine=machine, job_id=job_id, index=index)
    if existing is not None:
        return _same_or_conflict(existing, sha256)
    extension, width, height = image_inspect(data)
    labels = layer_parts_check(data=parts, width=width, height=height) if parts is not None else None
    layer = stored_parts = None
    try:
        with transaction.atomic():
            job, _ = PrintJob.objects.get_or_create(machine=machine, job_id=job_id)
            if job.status != PrintJob.Status.RUNNING:
                raise JobEnded(job)
            layer = Layer(
                machine=machine,
                job=job,
                index=index,
                sha256=sha256,
                width=width,
                height=height,
                captured_at=captured_at,
                layout=layout,
                enqueued_at=timezone.now() if enqueue else None,
            )
            layer.image.save(f"{index:06d}-{sha256[:12]}.{extension}", ContentFile(data), save=False)
            layer.save()
            if labels is not None:
                stored_parts = layer_parts_store(layer=layer, labels=labels, data=parts)
            PrintJob.objects.filter(pk=job.pk).update(last_layer_at=layer.received_at)
            if enqueue:
                layer_enqueue_scoring_on_commit(layer_id=layer.pk)
    except Exception as error:
        # The rows were rolled back: leave no file behind.
        for stored in (layer and layer.image, stored_parts and stored_parts.labels):
            if stored:
                stored.delete(save=False)
        if not isinstance(error, IntegrityError):
            raise
        # Two uploads of the same slot raced; the loser answers as a retry would.
        winner = _existing_layer(machine=machine, job_id=job_id, index=index)
        if winner is None:
            raise
        return _same_or_conflict(winner, sha256)
    return IngestResult(layer=layer, created=True)


def layer_enqueue_scoring_on_commit(*, layer_id: int) -> None:
    transaction.on_commit(lambda: task_send("scoring.score_layer", layer_id))


@transaction.atomic
def label_submit(
    *, layer: Layer, value: str, user=None, source: str = Label.Source.OPERATOR, kind: str = ""
) -> Label:
    if value not in LabelValue.values:
        raise ValueError(f"Unknown label {value!r}; use one of {', '.join(LabelValue.values)}.")
    if kind and kind not in DefectKind.values:
        raise ValueError(f"Unknown defect kind {kind!r}; use one of {', '.join(DefectKind.values)}.")
    if kind and value != LabelValue.DEFECTIVE:
        raise ValueError("Only a defective label takes a defect kind.")
    label = Label.objects.create(layer=layer, value=value, user=user, source=source, kind=kind)
    Layer.objects.filter(pk=layer.pk).update(label=value)
    layer.label = value
    return label


@transaction.atomic
def layers_label_bulk(*, layer_ids: list[int], value: str, user=None, source: str) -> int:
    if value not in LabelValue.values:
        raise ValueError(f"Unknown label {value!r}.")
    ids = list(Layer.objects.filter(pk__in=layer_ids).values_list("pk", flat=True))
    Label.objects.bulk_create(
        [Label(layer_id=pk, value=value, user=user, source=source) for pk in ids]
    )
    Layer.objects.filter(pk__in=ids).update(label=value)
    return len(ids)
