"""Storing a layer's parts: sent as a label image with the upload, or estimated after scoring."""

import logging
import zlib

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from apps.layers.imaging import read_image_array
from apps.layers.models import Layer, PrintJob
from apps.parts.imaging import labels_decode
from apps.parts.models import LayerParts, PartTrack, PartVerdictRule
from apps.queueing import task_send
from ml.parts.estimate import PartTracker, Track, fused_regions
from ml.parts.labels import FRAME, frame_extents, label_check, part_extents, to_frame

logger = logging.getLogger(__name__)

ESTIMATE_TASK = "workers.parts.estimate_layer_parts"


def frame_pack(frame: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(frame, dtype="<u2").tobytes())


def frame_unpack(data: bytes) -> np.ndarray:
    return np.frombuffer(zlib.decompress(bytes(data)), dtype="<u2").reshape(FRAME, FRAME)


def _mask_pack(mask: np.ndarray) -> bytes:
    return zlib.compress(np.packbits(mask).tobytes())


def _mask_unpack(data: bytes) -> np.ndarray:
    bits = np.frombuffer(zlib.decompress(bytes(data)), dtype=np.uint8)
    return np.unpackbits(bits)[: FRAME * FRAME].reshape(FRAME, FRAME).astype(bool)


def layer_parts_check(*, data: bytes, width: int, height: int) -> np.ndarray:
    """The uploaded label image as uint16 when it fits the photo; LabelImageError otherwise."""
    return label_check(labels_decode(data), shape=(height, width), max_parts=settings.LAYERWATCH_MAX_PARTS)


def layer_parts_store(*, layer: Layer, labels: np.ndarray, data: bytes) -> LayerParts:
    """Keeps a checked label image: the PNG as sent, its model-frame copy and each part's box."""
    row = LayerParts(
        layer=layer,
        frame=frame_pack(to_frame(labels)),
        extents={str(k): v for k, v in part_extents(labels).items()},
    )
    row.labels.save(f"{layer.index:06d}-parts.png", ContentFile(data), save=False)
    try:
        row.save()
    except Exception:
        row.labels.delete(save=False)
        raise
    return row


def layer_parts_estimate_enqueue(*, layer_id: int) -> None:
    """Called by scoring once a layer's score is committed: layers without sent labels get theirs
    estimated on `default`."""
    if LayerParts.objects.filter(layer_id=layer_id).exists():
        return
    task_send(ESTIMATE_TASK.removeprefix("workers."), layer_id)


def layer_parts_estimate(*, layer_id: int) -> LayerParts | None:
    """Estimates a layer's parts from its photo and the parts the job's other layers showed.

    Idempotent: a layer that has parts (sent or estimated) is left as it is.
    """
    from ml.preprocess import preprocess  # Keras: only where a photo is estimated

    layer = Layer.objects.select_related("machine").filter(pk=layer_id).first()
    if layer is None or LayerParts.objects.filter(layer=layer).exists():
        return None
    regions = fused_regions(preprocess(read_image_array(layer.image)))
    with transaction.atomic():
        # One layer of a job at a time, so that two workers never number the same part twice.
        PrintJob.objects.select_for_update().get(pk=layer.job_id)
        if LayerParts.objects.filter(layer=layer).exists():
            return None
        rows = {t.part_id: t for t in PartTrack.objects.filter(job_id=layer.job_id)}
        tracker = PartTracker([Track(part_id=k, footprint=_mask_unpack(t.footprint)) for k, t in rows.items()])
        frame = tracker.assign(regions, layer=layer.index, shape=(FRAME, FRAME))
        for track in tracker.tracks:
            if not track.layers:
                continue  # not seen on this layer: unchanged
            row = rows.get(track.part_id) or PartTrack(job_id=layer.job_id, part_id=track.part_id)
            row.footprint = _mask_pack(track.footprint)
            row.layer_count += 1
            row.save()
        extents = frame_extents(frame, width=layer.width, height=layer.height)
        return LayerParts.objects.create(
            layer=layer, estimated=True, frame=frame_pack(frame), extents={str(k): v for k, v in extents.items()}
        )


def part_verdict_rule_update(*, rule: PartVerdictRule, **fields) -> PartVerdictRule:
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    return rule
