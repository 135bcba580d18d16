"""The layout-memory alert channel: a layer's score less what the same part layout showed on the
job's previous layers (ml.layout_memory). apps.scoring.alert_channels combines it with the change channel.

A model trained on a machine's earlier jobs has never seen the parts of a new one. Where a part
has a thin wall or a sharp corner, its heatmap is hot on every layer of that layout, and the alert
rules would see a run of anomalous layers. A defect is new on the layer it appears; the part was
there on the layer before. So from a layout's second layer on, a hot spot every one of its last
few layers showed no longer counts. The per-layer score and its `anomalous` flag are unchanged.
"""

import numpy as np

from apps.layers.models import Layer
from apps.scoring.models import ModelVersion
from apps.scoring.traces import EarlierLayer, decode_array, encode_array, traces_clear
from apps.scoring.verdicts import Verdict
from ml.layout_memory.scoring import (
    MEMORY_DEPTH,
    MEMORY_POOL,
    LayoutMemoryStep,
    layout_memory_chain,
    layout_memory_step,
)
from ml.preprocess import IMAGE_SIZE

_KEEP_LAYERS = 2 * MEMORY_DEPTH  # traces kept behind the newest scored layer, for late arrivals
_TRACE_SHAPE = (IMAGE_SIZE // MEMORY_POOL, IMAGE_SIZE // MEMORY_POOL)


def layout_memory_fields(
    *, layer: Layer, version: ModelVersion, verdict: Verdict, earlier: list[EarlierLayer], key: np.ndarray | None = None
) -> tuple[LayoutMemoryStep | None, dict]:
    """A layer's layout memory (None where its scorer has none), and the LayerScore fields it
    leaves for the layers after it. `earlier`: the job's layers up to MEMORY_DEPTH (or more) before
    it (apps.scoring.traces.earlier_layers). `key`: the layer's parts key (ml.change.keys.parts_keys) where the
    change channel runs, which the earlier layers stored (ml.layout_memory.scoring.memory_continues)."""
    if verdict.top_fraction is None:
        return None, {}
    earlier = [
        e for e in earlier
        if e.index >= layer.index - MEMORY_DEPTH and e.layout_embedding is not None and e.layout_trace is not None
    ]
    traces = [
        (e.index, decode_array(e.layout_embedding, (-1,)), decode_array(e.layout_trace, _TRACE_SHAPE)) for e in earlier
    ]
    chain = layout_memory_chain(
        layer.index,
        verdict.embedding,
        traces,
        parts_key=key,
        parts_keys={e.index: e.layout_key for e in earlier},
        stated_layout=layer.layout,
        stated_layouts={e.index: e.layout for e in earlier},
    )
    # The layout's first layer (or one whose neighbours are not scored yet) keeps its own score.
    step = layout_memory_step(
        verdict.heatmap_values,
        chain,
        top_fraction=verdict.top_fraction,
        score=verdict.score,
        threshold=verdict.threshold,
    )
    # A layer far over its threshold leaves no trace, so later layers of a defect keep counting.
    if step.trace is None:
        return step, {}
    return step, {"layout_embedding": encode_array(verdict.embedding), "layout_trace": encode_array(step.trace)}


def layout_memory_prune(*, layer: Layer, version: ModelVersion) -> None:
    """Clear the traces of the job's layers that later layers will no longer compare with."""
    traces_clear(layer=layer, version=version, keep=_KEEP_LAYERS, fields=("layout_trace", "layout_embedding"))
