"""Sequential scores tried as candidates for scoring and not kept (docs/benchmarks.md, "Labels and
sequences"): each a layer scored together with the previous layers of the same job.

- `previous_layer_residual`: the layer against the previous one, after photometric
  normalisation and sub-pixel alignment (ml.registration). A defect that appears on layer t
  stands out there; a camera shift or an exposure change does not. Where the part layout changes
  (a new layer group) the comparison says nothing and the score is NaN.
- `persistence`: the minimum or mean of the last k per-layer scores (adds up to k - 1 layers of
  delay, since a defect must be seen k times).
- `spatial_persistence`: the top of min(heatmap_t, heatmap_(t-1) dilated), so only a hot spot
  seen at the same place on consecutive layers counts.
- `layout_baseline_residual`: the per-layer heatmap less what earlier layers of the same layout
  showed there, so a part the model reconstructs badly on every layer stops alarming.

bench/sequence.py measures them against the per-layer score, layout memory (ml.layout_memory)
and the change channel (ml.change). Images are preprocessed (n, H, W) float32 layers of one job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ml.groups import embed_layers
from ml.layout_memory.scoring import embeddings_match
from ml.registration import estimate_shift
from ml.residuals import multiscale_magnitude, normalise_photometric, shift_tolerant_residual, top_mean

# Round scales for spots and patches, elongated ones for lines (as the local scorer uses).
SCALES = [[1, 1, 0], [2, 2, 0], [4, 4, 0], [1, 8, 0], [1, 8, 90]]
TOP_FRACTION = 0.001


def same_embedding_as_previous(images: np.ndarray) -> np.ndarray:
    """(n,) bool: layer t shows the same part layout as layer t - 1 (embeddings_match; False for the first)."""
    embeddings = embed_layers(images)
    similar = np.zeros(len(images), dtype=bool)
    similar[1:] = [
        embeddings_match(current, before) for current, before in zip(embeddings[1:], embeddings[:-1], strict=True)
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
    comparable = same_embedding_as_previous(images)
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
    layers (`comparable[t]`: layer t shows the same layout as t - 1, see same_embedding_as_previous).
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


def combine(
    layer_scores: np.ndarray, sequence_scores: np.ndarray, layer_threshold: float, sequence_threshold: float
) -> np.ndarray:
    """max of the two normalised scores (each over its own threshold); where the sequential one is
    NaN (first layer, new layout) the per-layer one alone."""
    layer = np.asarray(layer_scores, dtype=np.float64) / layer_threshold
    sequence = np.asarray(sequence_scores, dtype=np.float64) / sequence_threshold
    return np.where(np.isnan(sequence), layer, np.fmax(layer, sequence))
