"""Layout memory: a layer's heatmap less what the same part layout's previous layers showed there.

A hot spot stops counting once it has been seen on each of the layout's last few layers, from the
layout's second layer on: a thin part wall the model never learned stops alarming, and a defect
after it has lasted MEMORY_DEPTH layers, by when the alert rules have seen it. The scoring
workers keep it for the alert rules (apps.scoring.layout_memory), beside the change channel
(ml.change).

numpy and scipy only; heatmaps are a scorer's (H, W) float32 maps of one job's layers, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ml.change.keys import parts_only_finished
from ml.layout_runs import unbroken_run
from ml.preprocess import IMAGE_SIZE
from ml.residuals import top_mean

# Consecutive layers whose layout embeddings correlate less than this show different parts: the
# fixed bed and lighting dominate the embedding, so one layout's layers correlate far above it.
SAME_EMBEDDING = 0.97
# Layout memory keeps each layer's heatmap dilated by this many px and max-pooled by this factor:
# small enough to store per layer, and a part edge that moves a pixel or two stays covered.
MEMORY_TOLERANCE = 3
MEMORY_POOL = 2
MEMORY_DEPTH = 4
# A layer scoring more than this many times its threshold shows a defect, not a part the model
# never learned (good layers of new layouts stay under 2x): it leaves no
# trace, so a persistent defect keeps its full alert score instead of fading after MEMORY_DEPTH
# layers, and the alert rules keep seeing it after an operator resolves its first alert.
MEMORY_LEARN_LIMIT = 2.5


def layout_memory_learns(score: float, threshold: float) -> bool:
    """Whether a layer with this per-layer score leaves a trace in the layout memory."""
    return score <= MEMORY_LEARN_LIMIT * threshold


def layout_memory_trace(heatmap: np.ndarray) -> np.ndarray:
    """What one layer's heatmap leaves in the layout memory: (128, 128) float16 for any heatmap
    whose side is a multiple of the 256 px model frame (dilation and pooling scale with it)."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    height, width = heatmap.shape
    k = max(1, height // IMAGE_SIZE)
    dilated = ndimage.maximum_filter(heatmap, size=2 * MEMORY_TOLERANCE * k + 1, mode="nearest")
    pool = MEMORY_POOL * k
    pooled = dilated.reshape(height // pool, pool, width // pool, pool).max(axis=(1, 3))
    return pooled.astype(np.float16)


def layout_memory_residual(heatmap: np.ndarray, traces: list[np.ndarray]) -> np.ndarray:
    """What `heatmap` shows beyond the least the given earlier layers showed at each pixel (>= 0).

    `traces` are layout_memory_trace()s of the previous layers of the same layout (at most
    MEMORY_DEPTH, see layout_memory_chain); with none, the heatmap itself. The layout-memory score
    is its top mean: never above the heatmap's, so the per-layer threshold still applies.
    """
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if not traces:
        return heatmap
    least = trace_upsampled(np.min(np.stack(traces), axis=0), heatmap.shape[0])
    return np.maximum(heatmap - least, 0.0)


def trace_upsampled(trace: np.ndarray, side: int = IMAGE_SIZE) -> np.ndarray:
    """A layout_memory_trace() back at a heatmap's size (its side)."""
    trace = np.asarray(trace, dtype=np.float32)
    pool = side // trace.shape[0]
    return np.repeat(np.repeat(trace, pool, axis=0), pool, axis=1)


def embeddings_match(embedding: np.ndarray, previous: np.ndarray) -> bool:
    """Whether two ml.groups.embed_layers embeddings show the same part layout."""
    return float(np.mean(np.asarray(embedding) * np.asarray(previous))) >= SAME_EMBEDDING


def layout_memory_chain(
    index: int,
    embedding: np.ndarray,
    earlier: list[tuple[int, np.ndarray, np.ndarray]],
    *,
    parts_key: np.ndarray | None = None,
    parts_keys: Mapping[int, np.ndarray | None] | None = None,
    stated_layout: str = "",
    stated_layouts: Mapping[int, str] | None = None,
) -> list:
    """The traces of the unbroken run of layers just before `index` that show the same layout.

    `earlier`: (index, embedding, trace) of previous layers of the job, in any order. The run
    stops at a missing layer or a layout change, and after MEMORY_DEPTH layers. Two layers show
    the same layout where their layout embeddings match, or where the change channel's parts keys
    (`parts_key` of this layer, `parts_keys` of earlier ones by index) show that a part finished
    while the others went on (memory_continues). Where the printer stated the layouts
    (`stated_layout` of this layer, `stated_layouts` of earlier ones by index), those decide instead
    (ml.layout_runs.unbroken_run).
    """
    parts_keys = parts_keys or {}
    keyed = [(i, (e, parts_keys.get(i)), trace) for i, e, trace in earlier]
    return unbroken_run(
        index,
        (embedding, parts_key),
        keyed,
        depth=MEMORY_DEPTH,
        match=memory_continues,
        stated_layout=stated_layout,
        stated_layouts=stated_layouts,
    )


def memory_continues(layer: tuple, previous: tuple) -> bool:
    """Whether layout memory goes on from one layer to the next, given each one's (layout
    embedding, parts key or None).

    A part that finishes while the others go on changes the embedding as new parts do, but the
    heatmap still shows the remaining parts' hot spots where they were, and the bare powder where
    the part was is cold: the memory of the layers before still holds, as long as nothing new
    came (ml.change.keys.parts_only_finished). Where new parts came it does not: their hot spots
    were on none of the earlier layers, so they would count for MEMORY_DEPTH layers. Without it the
    layer after a finish would keep its own per-layer score, and a part wall the model never
    learned would raise alerts on good jobs whose parts finish one at a time.
    """
    (embedding, key), (previous_embedding, previous_key) = layer, previous
    if embeddings_match(embedding, previous_embedding):
        return True
    return key is not None and previous_key is not None and parts_only_finished(key, previous_key)


@dataclass
class LayoutMemoryStep:
    """One layer's layout-memory score, and what it leaves for the layers after it."""

    memory: float  # top mean of layout_memory_residual
    trace: np.ndarray | None  # layout_memory_trace of the heatmap; None where it learns nothing


def layout_memory_step(
    heatmap: np.ndarray,
    chain: list[np.ndarray],
    *,
    top_fraction: float,
    score: float | None = None,
    threshold: float | None = None,
) -> LayoutMemoryStep:
    """A layer's layout memory, as the scoring worker computes it; `chain` is its layout_memory_chain().

    A hot spot stops counting once each of the layout's last MEMORY_DEPTH layers (or all of them,
    early in a layout) showed it: a thin part wall the model never learned, from the layout's
    second layer on, and a defect after it has lasted MEMORY_DEPTH layers, by when the alert rules
    have seen it. Given its per-layer `score`, a layer with no chain (a layout's first) keeps that
    score, the memory score is never above it, and with the `threshold` a layer that
    layout_memory_learns() rejects leaves no trace.
    """
    memory = float(top_mean(layout_memory_residual(heatmap, chain)[None], top_fraction)[0])
    if score is not None:
        memory = min(memory, float(score)) if chain else float(score)
    learns = score is None or threshold is None or layout_memory_learns(score, threshold)
    return LayoutMemoryStep(memory=memory, trace=layout_memory_trace(heatmap) if learns else None)


def layout_memory_scores(
    heatmaps: np.ndarray,
    embeddings: np.ndarray,
    *,
    top_fraction: float,
    scores: np.ndarray | None = None,
    threshold: float | None = None,
    stated_layouts: Sequence[str] | None = None,
    parts_keys: np.ndarray | None = None,
) -> np.ndarray:
    """layout_memory_step() for each layer of one job in order, each seeing what the earlier ones
    left: (n,). `stated_layouts`: the layers' stated layouts, where the printer states them;
    `parts_keys`: their ml.change.keys.parts_keys(), where the change channel has them
    (layout_memory_chain)."""
    stated = dict(enumerate(stated_layouts or ()))
    keys = {} if parts_keys is None else dict(enumerate(parts_keys))
    memory = np.empty(len(heatmaps))
    traces: list[np.ndarray | None] = [None] * len(heatmaps)
    for t, heatmap in enumerate(heatmaps):
        earlier = [(i, embeddings[i], traces[i]) for i in range(max(0, t - MEMORY_DEPTH), t) if traces[i] is not None]
        step = layout_memory_step(
            heatmap,
            layout_memory_chain(
                t,
                embeddings[t],
                earlier,
                parts_key=keys.get(t),
                parts_keys=keys,
                stated_layout=stated.get(t, ""),
                stated_layouts=stated,
            ),
            top_fraction=top_fraction,
            score=None if scores is None else scores[t],
            threshold=threshold,
        )
        memory[t], traces[t] = step.memory, step.trace
    return memory
