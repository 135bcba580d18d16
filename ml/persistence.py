"""The alert rules' second channel: what a layer's layout-memory residual shares with the layer before.

Layout memory (ml.sequence) leaves, on each layer, what the job's earlier layers of the same
layout did not show: a new defect, and the fresh grain's few hottest pixels, which land somewhere
else on every layer. A defect stays put, so the persistence score keeps only what the previous
layer's residual showed within MEMORY_TOLERANCE px: the grain's floor drops several-fold, and a
faint defect that stays under the per-layer threshold can stand out against it. It costs a
layer: the onset layer has nothing to persist from, so it counts from the defect's second layer.

The channel has its own threshold (`persistence_threshold_fit`), calibrated on whole held-out
jobs scored in order, as the per-layer threshold is on their layers. The alert score is the larger
of the two channels, each over its own threshold (`alert_score_combine`).

numpy and scipy only, no Django; heatmaps are (n, H, W) float32 maps of one job's layers, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.calibration import calibrate_gumbel_tail
from ml.residuals import top_mean
from ml.sequence import (
    MEMORY_DEPTH,
    layout_memory_chain,
    layout_memory_learns,
    layout_memory_residual,
    layout_memory_trace,
    trace_upsampled,
)

# The channel's per-layer false-positive target. Lower than the per-layer score's 1%: a plant's
# held-out jobs are few, and on a synthetic machine's later jobs with new layouts, good layers
# passed the 1% point fitted on its held-out job about three times as often; the alert rules'
# false criticals then ran at 0.9 per job. So the tail is extrapolated further.
PERSISTENCE_TARGET_FPR = 0.001
# Fewer persistence scores than this (held-out layers with a scored layer before them in the same
# layout) and the channel stays off: a tail fitted on a handful of layers says little.
MIN_PERSISTENCE_SCORES = 30


def persistence_score(residual: np.ndarray, previous: np.ndarray, top_fraction: float) -> float:
    """Top mean of `residual` (layout_memory_residual) where the previous layer's residual, as its
    layout_memory_trace `previous`, was as hot within MEMORY_TOLERANCE px."""
    shared = np.minimum(np.asarray(residual, dtype=np.float32), trace_upsampled(previous))
    return float(top_mean(shared[None], top_fraction)[0])


@dataclass
class AlertStep:
    """One layer's alert channels, and what it leaves for the layers after it."""

    memory: float  # layout-memory score: top mean of layout_memory_residual
    persistence: float | None  # persistence_score; None where the layer before left no residual
    residual_trace: np.ndarray | None  # for the next layer's persistence; None on a layout's first
    layout_trace: np.ndarray | None  # for later layers' layout memory; None where it learns nothing


def alert_step(
    heatmap: np.ndarray,
    chain: list[np.ndarray],
    previous: np.ndarray | None,
    *,
    top_fraction: float,
    score: float | None = None,
    threshold: float | None = None,
) -> AlertStep:
    """Both channels of one layer, as the scoring worker computes them.

    `chain`: layout_memory_chain() of the layer; `previous`: the layer before's residual_trace.
    A hot spot stops counting in layout memory once each of the layout's last MEMORY_DEPTH layers
    (or all of them, early in a layout) showed it: a thin part wall the model never learned, from
    the layout's second layer on, and a defect after it has lasted MEMORY_DEPTH layers, by when
    the alert rules have seen it. Given its per-layer `score`, a layer with no chain (a layout's
    first) keeps that score, the memory score is never above it, and with the `threshold` a layer
    that layout_memory_learns() rejects leaves no layout trace. A layer's residual is passed on
    only where it had a memory to subtract: a layout's first layer shows its parts in full, which
    says nothing about what persists.
    """
    residual = layout_memory_residual(heatmap, chain)
    memory = float(top_mean(residual[None], top_fraction)[0])
    if score is not None:
        memory = min(memory, float(score)) if chain else float(score)
    learns = score is None or threshold is None or layout_memory_learns(score, threshold)
    return AlertStep(
        memory=memory,
        persistence=persistence_score(residual, previous, top_fraction) if previous is not None else None,
        residual_trace=layout_memory_trace(residual) if chain else None,
        layout_trace=layout_memory_trace(heatmap) if learns else None,
    )


@dataclass
class AlertChannels:
    memory: np.ndarray  # (n,) layout-memory score of each layer (AlertStep.memory)
    persistence: np.ndarray  # (n,) persistence_score; NaN where the layer before left no residual


def alert_channels(
    heatmaps: np.ndarray,
    embeddings: np.ndarray,
    *,
    top_fraction: float,
    scores: np.ndarray | None = None,
    threshold: float | None = None,
) -> AlertChannels:
    """alert_step() for each layer of one job in order, each seeing what the earlier ones left."""
    n = len(heatmaps)
    memory, persistence = np.empty(n), np.full(n, np.nan)
    traces: list[np.ndarray | None] = [None] * n
    previous = None  # the layer before's residual trace
    for t, heatmap in enumerate(heatmaps):
        earlier = [(i, embeddings[i], traces[i]) for i in range(max(0, t - MEMORY_DEPTH), t) if traces[i] is not None]
        step = alert_step(
            heatmap,
            layout_memory_chain(t, embeddings[t], earlier),
            previous,
            top_fraction=top_fraction,
            score=None if scores is None else scores[t],
            threshold=threshold,
        )
        memory[t] = step.memory
        if step.persistence is not None:
            persistence[t] = step.persistence
        traces[t], previous = step.layout_trace, step.residual_trace
    return AlertChannels(memory=memory, persistence=persistence)


def persistence_threshold_fit(persistence: np.ndarray) -> float | None:
    """The persistence channel's threshold from good held-out jobs' persistence scores (NaNs
    ignored), or None where there are too few to fit its tail."""
    values = np.asarray(persistence, dtype=np.float64)
    values = values[~np.isnan(values)]
    if len(values) < MIN_PERSISTENCE_SCORES:
        return None
    return calibrate_gumbel_tail(values, target_fpr=PERSISTENCE_TARGET_FPR).threshold


def alert_score_combine(
    memory: float, persistence: float | None, threshold: float, persistence_threshold: float | None
) -> float:
    """The score the alert rules judge against `threshold`: the layout-memory score, or the
    persistence score rescaled from its own threshold to `threshold`, whichever is higher."""
    if persistence is None or np.isnan(persistence) or not persistence_threshold:
        return float(memory)
    return float(max(memory, persistence * threshold / persistence_threshold))
