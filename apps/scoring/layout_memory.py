"""Alert scores with layout memory: a layer's score less what the same part layout showed on the
job's previous layers (ml.sequence.layout_memory_score).

A model trained on a machine's earlier jobs has never seen the parts of a new one. Where a part
has a thin wall or a sharp corner, its heatmap is hot on every layer of that layout, and the alert
rules would see a run of anomalous layers. A defect is new on the layer it appears; the part was
there on the layer before. So the rules judge `LayerScore.alert_score`: from a layout's second
layer on, a hot spot every one of its last few layers showed no longer counts. The per-layer score
and its `anomalous` flag are unchanged, and still shown.
"""

import zlib

import numpy as np

from apps.layers.models import Layer
from apps.scoring.models import LayerScore, ModelVersion
from apps.scoring.verdicts import Verdict
from ml.preprocess import IMAGE_SIZE
from ml.sequence import MEMORY_DEPTH, MEMORY_POOL, layout_memory_chain, layout_memory_score, layout_memory_trace

_KEEP_LAYERS = 2 * MEMORY_DEPTH  # traces kept behind the newest scored layer, for late arrivals
_TRACE_SHAPE = (IMAGE_SIZE // MEMORY_POOL, IMAGE_SIZE // MEMORY_POOL)


def encode_array(array: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(array, dtype=np.float16).tobytes(), 1)


def decode_array(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(zlib.decompress(bytes(data)), dtype=np.float16).reshape(shape).astype(np.float32)


def layout_memory_earlier(*, layer: Layer, version: ModelVersion) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(index, layout embedding, trace) of the job's layers just before `layer`, by this version."""
    rows = LayerScore.objects.filter(
        model_version=version,
        layer__job_id=layer.job_id,
        layer__index__gte=layer.index - MEMORY_DEPTH,
        layer__index__lt=layer.index,
        layout_trace__isnull=False,
    ).values_list("layer__index", "layout_embedding", "layout_trace")
    return [
        (index, decode_array(embedding, (-1,)), decode_array(trace, _TRACE_SHAPE)) for index, embedding, trace in rows
    ]


def layout_memory_fields(*, layer: Layer, version: ModelVersion, verdict: Verdict) -> dict:
    """LayerScore fields for a layer about to be stored: its alert score and what it leaves behind."""
    if verdict.top_fraction is None:
        return {"alert_score": None}
    earlier = layout_memory_earlier(layer=layer, version=version)
    traces = layout_memory_chain(layer.index, verdict.embedding, earlier)
    # The layout's first layer (or one whose neighbours are not scored yet) keeps its own score.
    alert_score = (
        layout_memory_score(verdict.heatmap_values, traces, verdict.top_fraction) if traces else verdict.score
    )
    return {
        "alert_score": min(alert_score, verdict.score),
        "layout_embedding": encode_array(verdict.embedding),
        "layout_trace": encode_array(layout_memory_trace(verdict.heatmap_values)),
    }


def layout_memory_prune(*, layer: Layer, version: ModelVersion) -> None:
    """Clear the traces of the job's layers that later layers will no longer compare with."""
    LayerScore.objects.filter(
        model_version=version,
        layer__job_id=layer.job_id,
        layer__index__lt=layer.index - _KEEP_LAYERS,
        layout_trace__isnull=False,
    ).update(layout_trace=None, layout_embedding=None)
