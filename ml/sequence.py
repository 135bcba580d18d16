"""Sequential layer scores: a layer scored together with the previous layers of the same job.

Candidates measured by bench/sequence.py against the per-layer score alone:

- `previous_layer_residual`: the layer against the previous one, after photometric
  normalisation and sub-pixel alignment (ml.registration). A defect that appears on layer t
  stands out there; a camera shift or an exposure change does not. Where the part layout changes (a new layer
  group) the comparison says nothing and the score is NaN.
- `persistence`: the minimum or mean of the last k per-layer scores (adds up to k - 1 layers of
  delay, since a defect must be seen k times).
- `spatial_persistence`: the top of min(heatmap_t, heatmap_(t-1) dilated), so only a hot spot
  seen at the same place on consecutive layers counts.
- `layout_baseline_residual`: the per-layer heatmap less what earlier layers of the same layout
  showed there, so a part the model reconstructs badly on every layer stops alarming.
- layout memory (`layout_memory_step`, `layout_memory_scores`): the same idea with no blind
  start: a spot stops counting once it has been seen on each of the layout's last few layers,
  from the layout's second layer on. The scoring workers use it for the alert rules
  (apps.scoring.layout_memory), beside the change channel (ml.change).

numpy and scipy only; images are preprocessed (n, H, W) float32 layers of one job, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ml.change.keys import parts_only_finished
from ml.groups import embed_layers
from ml.layout_runs import unbroken_run
from ml.registration import estimate_shift
from ml.residuals import multiscale_magnitude, normalise_photometric, shift_tolerant_residual, top_mean

# Round scales for spots and patches, elongated ones for lines (as the local scorer uses).
SCALES = [[1, 1, 0], [2, 2, 0], [4, 4, 0], [1, 8, 0], [1, 8, 90]]
TOP_FRACTION = 0.001
# Consecutive layers whose layout embeddings correlate less than this show different parts. The
# fixed bed and lighting dominate the embedding: on synthetic machines layers of one layout
# correlate at 0.99 or more, a new layout at 0.73-0.98.
SAME_LAYOUT = 0.97


def same_layout(images: np.ndarray) -> np.ndarray:
    """(n,) bool: layer t shows the same part layout as layer t - 1 (layouts_match; False for the first)."""
    embeddings = embed_layers(images)
    similar = np.zeros(len(images), dtype=bool)
    similar[1:] = [
        layouts_match(current, before) for current, before in zip(embeddings[1:], embeddings[:-1], strict=True)
    ]
    return similar


@dataclass
class SequenceResidual:
    scores: np.ndarray  # (n,) float64; NaN where there is no comparable previous layer
    maps: np.ndarray  # (n, H, W) float32 residual in robust standard deviations of that layer


def previous_layer_residual(
    images: np.ndarray,
    *,
    tolerance: int = 1,
    scales: list[list[float]] | None = None,
    top_fraction: float = TOP_FRACTION,
) -> SequenceResidual:
    """Each layer against the previous one of the same job.

    Both are standardised photometrically, the previous one is shifted onto the current one
    (sub-pixel phase correlation), and the shift-tolerant residual is smoothed at each scale and
    expressed in robust standard deviations of that layer's residual, so the fresh powder grain of
    every layer sets the noise floor. The score is the mean of the top `top_fraction` pixels.
    """
    images = np.asarray(images, dtype=np.float32)
    scales = scales or SCALES
    normalised = normalise_photometric(images)[0]
    comparable = same_layout(images)
    scores = np.full(len(images), np.nan)
    maps = np.zeros_like(normalised)
    for t in np.flatnonzero(comparable):
        dy, dx = estimate_shift(normalised[t], normalised[t - 1])
        previous = ndimage.shift(normalised[t - 1], (dy, dx), order=1, mode="nearest")
        residual = shift_tolerant_residual(normalised[t : t + 1], previous[None], tolerance)
        magnitude = multiscale_magnitude(residual, scales)[:, 0]  # (scales, H, W)
        flat = magnitude.reshape(len(magnitude), -1)
        centre = np.median(flat, axis=1)
        spread = 1.4826 * np.median(np.abs(flat - centre[:, None]), axis=1) + 1e-6
        maps[t] = ((magnitude - centre[:, None, None]) / spread[:, None, None]).max(axis=0)
        scores[t] = top_mean(maps[t : t + 1], top_fraction)[0]
    return SequenceResidual(scores=scores, maps=maps)


def persistence(scores: np.ndarray, k: int, how: str = "min") -> np.ndarray:
    """The min (or mean) of each layer's score and the k - 1 before it; the first k - 1 layers
    use what there is. A defect must persist k layers to pass a threshold on the min."""
    if k < 1:
        raise ValueError("k must be at least 1")
    reduce = {"min": np.min, "mean": np.mean}[how]
    values = np.asarray(scores, dtype=np.float64)
    return np.array([reduce(values[max(0, t - k + 1) : t + 1]) for t in range(len(values))])


def spatial_persistence(heatmaps: np.ndarray, *, tolerance: int = 3, top_fraction: float = TOP_FRACTION) -> np.ndarray:
    """Top mean of min(heatmap_t, heatmap_(t-1) dilated by `tolerance` px): a hot spot counts only
    where the previous layer was hot too. The first layer keeps its own top mean."""
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    scores = top_mean(heatmaps, top_fraction)
    if len(heatmaps) > 1:
        size = (1, 2 * tolerance + 1, 2 * tolerance + 1)
        previous = ndimage.maximum_filter(heatmaps[:-1], size=size, mode="nearest")
        scores[1:] = top_mean(np.minimum(heatmaps[1:], previous), top_fraction)
    return scores


def layout_baseline_residual(
    heatmaps: np.ndarray,
    comparable: np.ndarray,
    *,
    lag: int = 4,
    depth: int = 3,
    tolerance: int = 3,
    top_fraction: float = TOP_FRACTION,
) -> np.ndarray:
    """Top mean of what a layer's heatmap shows beyond the same layout's earlier layers.

    A part the model reconstructs badly is hot at the same place on every layer of its layout,
    a new defect is not. The reference is the per-pixel median of the (dilated) heatmaps of
    `depth` layers ending `lag` layers back, so a defect stays visible for `lag` + 1 layers
    before it becomes part of the reference. NaN until the layout has lasted `lag` + `depth`
    layers (`comparable[t]`: layer t shows the same layout as t - 1, see same_layout).
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    size = (1, 2 * tolerance + 1, 2 * tolerance + 1)
    dilated = ndimage.maximum_filter(heatmaps, size=size, mode="nearest")
    scores = np.full(len(heatmaps), np.nan)
    run = 0  # layers of the current layout so far, this one included
    for t in range(len(heatmaps)):
        run = run + 1 if t and comparable[t] else 1
        if run <= lag + depth:
            continue
        reference = np.median(dilated[t - lag - depth + 1 : t - lag + 1], axis=0)
        scores[t] = top_mean(np.maximum(heatmaps[t] - reference, 0.0)[None], top_fraction)[0]
    return scores


# Layout memory keeps each layer's heatmap dilated by this many px and max-pooled by this factor:
# small enough to store per layer, and a part edge that moves a pixel or two stays covered.
MEMORY_TOLERANCE = 3
MEMORY_POOL = 2
MEMORY_DEPTH = 4
# A layer scoring more than this many times its threshold shows a defect, not a part the model
# never learned (on synthetic machines, good layers of new layouts stayed under 2x): it leaves no
# trace, so a persistent defect keeps its full alert score instead of fading after MEMORY_DEPTH
# layers, and the alert rules keep seeing it after an operator resolves its first alert.
MEMORY_LEARN_LIMIT = 2.5


def layout_memory_learns(score: float, threshold: float) -> bool:
    """Whether a layer with this per-layer score leaves a trace in the layout memory."""
    return score <= MEMORY_LEARN_LIMIT * threshold


def layout_memory_trace(heatmap: np.ndarray) -> np.ndarray:
    """What one layer's heatmap leaves in the layout memory: (H/2, W/2) float16."""
    size = 2 * MEMORY_TOLERANCE + 1
    dilated = ndimage.maximum_filter(np.asarray(heatmap, dtype=np.float32), size=size, mode="nearest")
    height, width = dilated.shape
    pooled = dilated.reshape(height // MEMORY_POOL, MEMORY_POOL, width // MEMORY_POOL, MEMORY_POOL).max(axis=(1, 3))
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
    return np.maximum(heatmap - trace_upsampled(np.min(np.stack(traces), axis=0)), 0.0)


def trace_upsampled(trace: np.ndarray) -> np.ndarray:
    """A layout_memory_trace() back at the heatmap's size."""
    trace = np.asarray(trace, dtype=np.float32)
    return np.repeat(np.repeat(trace, MEMORY_POOL, axis=0), MEMORY_POOL, axis=1)


def layouts_match(embedding: np.ndarray, previous: np.ndarray) -> bool:
    """Whether two ml.groups.embed_layers embeddings show the same part layout."""
    return float(np.mean(np.asarray(embedding) * np.asarray(previous))) >= SAME_LAYOUT


def layout_memory_chain(
    index: int,
    embedding: np.ndarray,
    earlier: list[tuple[int, np.ndarray, np.ndarray]],
    *,
    layout_key: np.ndarray | None = None,
    layout_keys: Mapping[int, np.ndarray | None] | None = None,
    layout: str = "",
    layouts: Mapping[int, str] | None = None,
) -> list:
    """The traces of the unbroken run of layers just before `index` that show the same layout.

    `earlier`: (index, embedding, trace) of previous layers of the job, in any order. The run
    stops at a missing layer or a layout change, and after MEMORY_DEPTH layers. Two layers show
    the same layout where their embeddings match, or where the change channel's layout keys
    (`layout_key` of this layer, `layout_keys` of earlier ones by index) show that a part finished
    while the others went on (memory_layouts_match). Where the printer stated the layouts
    (`layout` of this layer, `layouts` of earlier ones by index), those decide instead
    (ml.layout_runs.unbroken_run).
    """
    layout_keys = layout_keys or {}
    keyed = [(i, (e, layout_keys.get(i)), trace) for i, e, trace in earlier]
    return unbroken_run(
        index,
        (embedding, layout_key),
        keyed,
        depth=MEMORY_DEPTH,
        match=memory_layouts_match,
        layout=layout,
        layouts=layouts,
    )


def memory_layouts_match(layer: tuple, previous: tuple) -> bool:
    """Whether layout memory goes on from one layer to the next, given each one's (embedding,
    layout key or None).

    A part that finishes while the others go on changes the embedding as new parts do, but the
    heatmap still shows the remaining parts' hot spots where they were, and the bare powder where
    the part was is cold: the memory of the layers before still holds, as long as nothing new
    came (ml.change.keys.parts_only_finished). Where new parts came it does not: their hot spots were
    on none of the earlier layers, so they would count for MEMORY_DEPTH layers. Without it the
    layer after a finish kept its own per-layer score: on synthetic machine 1 it raised a false
    critical on a good job whose parts finished (1.65 times the threshold).
    """
    (embedding, key), (previous_embedding, previous_key) = layer, previous
    if layouts_match(embedding, previous_embedding):
        return True
    return key is not None and previous_key is not None and parts_only_finished(key, previous_key)


def combine(
    layer_scores: np.ndarray, sequence_scores: np.ndarray, layer_threshold: float, sequence_threshold: float
) -> np.ndarray:
    """max of the two normalised scores (each over its own threshold); where the sequential one is
    NaN (first layer, new layout) the per-layer one alone."""
    layer = np.asarray(layer_scores, dtype=np.float64) / layer_threshold
    sequence = np.asarray(sequence_scores, dtype=np.float64) / sequence_threshold
    return np.where(np.isnan(sequence), layer, np.fmax(layer, sequence))


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
    layouts: Sequence[str] | None = None,
    layout_keys: np.ndarray | None = None,
) -> np.ndarray:
    """layout_memory_step() for each layer of one job in order, each seeing what the earlier ones
    left: (n,). `layouts`: the layers' stated layouts, where the printer states them;
    `layout_keys`: their ml.change.keys.layout_key()s, where the change channel has them
    (layout_memory_chain)."""
    stated = dict(enumerate(layouts or ()))
    keys = {} if layout_keys is None else dict(enumerate(layout_keys))
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
                layout_key=keys.get(t),
                layout_keys=keys,
                layout=stated.get(t, ""),
                layouts=stated,
            ),
            top_fraction=top_fraction,
            score=None if scores is None else scores[t],
            threshold=threshold,
        )
        memory[t], traces[t] = step.memory, step.trace
    return memory
