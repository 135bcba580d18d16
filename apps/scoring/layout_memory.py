"""Alert scores: a layer's score less what the same part layout showed on the job's previous
layers (layout memory, ml.sequence), or what of that persisted from the layer before (ml.persistence).

A model trained on a machine's earlier jobs has never seen the parts of a new one. Where a part
has a thin wall or a sharp corner, its heatmap is hot on every layer of that layout, and the alert
rules would see a run of anomalous layers. A defect is new on the layer it appears; the part was
there on the layer before. So the rules judge `LayerScore.alert_score`: from a layout's second
layer on, a hot spot every one of its last few layers showed no longer counts. What is left is a
new defect and the fresh grain's hottest pixels, which land elsewhere on every layer; the part of
it the layer before also showed is the persistence channel, judged against its own threshold
(ModelVersion.persistence_threshold), so a faint defect under the per-layer threshold can alert
from its second layer. The per-layer score and its `anomalous` flag are unchanged, and still shown.
"""

import zlib

import numpy as np
from django.db.models import Q

from apps.layers.models import Layer
from apps.scoring.models import LayerScore, ModelVersion
from apps.scoring.verdicts import Verdict
from ml.persistence import alert_score_combine, alert_step
from ml.preprocess import IMAGE_SIZE
from ml.sequence import MEMORY_DEPTH, MEMORY_POOL, layout_memory_chain

_KEEP_LAYERS = 2 * MEMORY_DEPTH  # traces kept behind the newest scored layer, for late arrivals
_TRACE_SHAPE = (IMAGE_SIZE // MEMORY_POOL, IMAGE_SIZE // MEMORY_POOL)


def encode_array(array: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(array, dtype=np.float16).tobytes(), 1)


def decode_array(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(zlib.decompress(bytes(data)), dtype=np.float16).reshape(shape).astype(np.float32)


def layout_memory_earlier(
    *, layer: Layer, version: ModelVersion
) -> tuple[list[tuple[int, np.ndarray, np.ndarray]], np.ndarray | None]:
    """(index, layout embedding, trace) of the job's layers just before `layer`, by this version,
    and the residual trace of the layer just before it, if it left one."""
    rows = (
        LayerScore.objects.filter(
            model_version=version,
            layer__job_id=layer.job_id,
            layer__index__gte=layer.index - MEMORY_DEPTH,
            layer__index__lt=layer.index,
        )
        .filter(Q(layout_trace__isnull=False) | Q(residual_trace__isnull=False))
        .values_list("layer__index", "layout_embedding", "layout_trace", "residual_trace")
    )
    earlier, previous = [], None
    for index, embedding, trace, residual in rows:
        if trace is not None:
            earlier.append((index, decode_array(embedding, (-1,)), decode_array(trace, _TRACE_SHAPE)))
        if index == layer.index - 1 and residual is not None:
            previous = decode_array(residual, _TRACE_SHAPE)
    return earlier, previous


def layout_memory_fields(*, layer: Layer, version: ModelVersion, verdict: Verdict) -> dict:
    """LayerScore fields for a layer about to be stored: its alert score and what it leaves behind."""
    if verdict.top_fraction is None:
        return {"alert_score": None}
    earlier, previous = layout_memory_earlier(layer=layer, version=version)
    # The layout's first layer (or one whose neighbours are not scored yet) keeps its own score.
    step = alert_step(
        verdict.heatmap_values,
        layout_memory_chain(layer.index, verdict.embedding, earlier),
        previous,
        top_fraction=verdict.top_fraction,
        score=verdict.score,
        threshold=verdict.threshold,
    )
    fields = {
        "alert_score": alert_score_combine(
            step.memory, step.persistence, verdict.threshold, version.persistence_threshold
        )
    }
    if step.residual_trace is not None:
        fields["residual_trace"] = encode_array(step.residual_trace)
    # A layer far over its threshold leaves no trace, so later layers of a defect keep counting.
    if step.layout_trace is not None:
        fields["layout_embedding"] = encode_array(verdict.embedding)
        fields["layout_trace"] = encode_array(step.layout_trace)
    return fields


def layout_memory_prune(*, layer: Layer, version: ModelVersion) -> None:
    """Clear the traces of the job's layers that later layers will no longer compare with."""
    LayerScore.objects.filter(
        model_version=version,
        layer__job_id=layer.job_id,
        layer__index__lt=layer.index - _KEEP_LAYERS,
    ).filter(
        Q(layout_trace__isnull=False) | Q(residual_trace__isnull=False) | Q(layout_embedding__isnull=False)
    ).update(layout_trace=None, layout_embedding=None, residual_trace=None)
