"""Layer groups: layers of one machine that look alike (same parts on the bed), found by k-means.

A build changes its part cross-sections every so many layers, and a threshold that suits one
set of parts can be loose or tight for another. `fit_groups` clusters cheap image embeddings and
picks the number of groups itself; `LayerGroups.assign` puts a new layer in its nearest group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

EMBEDDING = "thumb28-crop-blur1-v1"
_BLOCK = 8  # 224 / 8 = 28x28 thumbnail
# The outer 16 px are left out: the dark rails at the bed's sides have sharp edges, and a camera
# shift of a pixel or two moved them more than a change of parts moved the rest.
_MARGIN = 16
# Below this best silhouette the layers are taken to be one group: splitting a homogeneous set
# yields silhouettes around 0.05-0.15, distinct part layouts give 0.3 and more (see tests).
MIN_SILHOUETTE = 0.25
# A group gets a threshold of its own only when it has enough good calibration layers for the
# conformal bound at the target false-positive rate (99 at 1%, 19 at 5%), and never fewer than this.
MIN_GROUP_CALIBRATION_LAYERS = 20


def min_calibration_layers(target_fpr: float) -> int:
    return max(MIN_GROUP_CALIBRATION_LAYERS, math.ceil(1 / target_fpr - 1e-9) - 1)


def embed_layers(images: np.ndarray) -> np.ndarray:
    """(n, H, W) preprocessed images -> (n, 784) float32 embeddings (for 256x256 images).

    The centre of each image is averaged over 8x8 blocks, blurred by one thumbnail pixel (a camera
    shift of a few pixels barely moves it) and standardised (removes exposure gain and offset).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise ValueError(f"expected (n, H, W) images, got shape {images.shape}")
    images = images[:, _MARGIN:-_MARGIN, _MARGIN:-_MARGIN]
    n, height, width = images.shape
    h, w = height // _BLOCK, width // _BLOCK
    blocks = images[:, : h * _BLOCK, : w * _BLOCK].reshape(n, h, _BLOCK, w, _BLOCK).mean(axis=(2, 4))
    thumbs = ndimage.gaussian_filter(blocks, sigma=(0, 1, 1), mode="nearest")
    flat = thumbs.reshape(n, -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    flat /= np.maximum(flat.std(axis=1, keepdims=True), 1e-6)
    return flat.astype(np.float32)


@dataclass
class LayerGroups:
    centroids: np.ndarray  # (k, d) float32
    method: str = EMBEDDING
    silhouette: float | None = None  # of the chosen k; None when k = 1

    @property
    def n_groups(self) -> int:
        return int(self.centroids.shape[0])

    def assign(self, embeddings: np.ndarray) -> np.ndarray:
        """Index of the nearest centroid for each embedding, (n,) int."""
        return _nearest(np.asarray(embeddings, dtype=np.float32), self.centroids)

    def to_state(self) -> dict[str, np.ndarray]:
        return {"group_centroids": self.centroids.astype(np.float32)}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], method: str = EMBEDDING) -> LayerGroups:
        return cls(centroids=np.asarray(state["group_centroids"], dtype=np.float32), method=method)


def _sq_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    d = (x**2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids**2).sum(1)[None, :]
    return np.maximum(d, 0.0)


def _nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.argmin(_sq_distances(x, centroids), axis=1)


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ then Lloyd; returns (centroids, labels)."""
    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = _sq_distances(x, np.stack(centroids)).min(axis=1)
        total = d.sum()
        pick = rng.choice(len(x), p=d / total) if total > 0 else rng.integers(len(x))
        centroids.append(x[pick])
    centroids = np.stack(centroids)
    labels = _nearest(x, centroids)
    for _ in range(iterations):
        for j in range(k):
            members = x[labels == j]
            if len(members):
                centroids[j] = members.mean(axis=0)
        new = _nearest(x, centroids)
        if np.array_equal(new, labels):
            break
        labels = new
    return centroids, labels


def _silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    d = np.sqrt(_sq_distances(x, x))
    ks = np.unique(labels)
    mean_to = np.stack([d[:, labels == j].sum(1) / max((labels == j).sum(), 1) for j in ks], axis=1)
    own = np.searchsorted(ks, labels)
    size = np.array([(labels == j).sum() for j in ks])[own]
    a = mean_to[np.arange(len(x)), own] * size / np.maximum(size - 1, 1)  # excludes the point itself
    mean_to[np.arange(len(x)), own] = np.inf
    b = mean_to.min(axis=1)
    s = np.where(size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def fit_groups(
    embeddings: np.ndarray, *, max_groups: int = 8, min_group_size: int = 5, seed: int = 0, restarts: int = 4
) -> LayerGroups:
    """Cluster embeddings; k is the one with the best silhouette among k whose groups all hold
    at least `min_group_size` layers, or 1 when no k reaches `MIN_SILHOUETTE`."""
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"expected (n, d) embeddings, got shape {x.shape}")
    best = LayerGroups(centroids=x.mean(axis=0, keepdims=True))
    best_score = MIN_SILHOUETTE
    upper = min(max_groups, len(x) // max(min_group_size, 1))
    for k in range(2, upper + 1):
        rng = np.random.default_rng([seed, k])
        runs = [_kmeans(x, k, rng) for _ in range(restarts)]
        centroids, labels = min(runs, key=lambda r: _sq_distances(x, r[0]).min(axis=1).sum())
        if np.bincount(labels, minlength=k).min() < min_group_size:
            continue
        score = _silhouette(x, labels)
        if score > best_score:
            best, best_score = LayerGroups(centroids=centroids.astype(np.float32), silhouette=score), score
    return _ordered(best, x)


def _ordered(groups: LayerGroups, x: np.ndarray) -> LayerGroups:
    """Number groups by the first layer (in input order) that falls in each, so results read naturally."""
    labels = groups.assign(x)
    order = [int(j) for j in dict.fromkeys(labels.tolist())]
    order += [j for j in range(groups.n_groups) if j not in order]
    return LayerGroups(centroids=groups.centroids[order], method=groups.method, silhouette=groups.silhouette)
