"""The memory bank of good patches: greedy coreset subsampling and nearest-neighbour distances."""

from __future__ import annotations

import numpy as np


def greedy_coreset(
    features: np.ndarray, size: int, rng: np.random.Generator, projection: int = 64
) -> np.ndarray:
    """Indices of `size` rows of (m, d) `features` that cover them (greedy k-centre, as PatchCore).

    Each pick is the row farthest from those picked so far. Distances are measured after a random
    projection to `projection` dimensions (0: none), which keeps them nearly unchanged and the
    selection fast.
    """
    features = np.asarray(features, dtype=np.float32)
    m = len(features)
    if size >= m:
        return np.arange(m)
    if size < 1:
        raise ValueError(f"a coreset needs at least one row, asked for {size}")
    if projection and projection < features.shape[1]:
        matrix = rng.standard_normal((features.shape[1], projection)).astype(np.float32)
        features = features @ (matrix / np.sqrt(projection))
    squared = np.einsum("ij,ij->i", features, features)
    picks = np.empty(size, dtype=np.int64)
    picks[0] = rng.integers(m)
    nearest = np.full(m, np.inf, dtype=np.float32)
    for k in range(1, size + 1):
        last = picks[k - 1]
        distance = squared - 2.0 * (features @ features[last]) + squared[last]
        np.minimum(nearest, distance, out=nearest)
        if k < size:
            picks[k] = int(np.argmax(nearest))
    return picks


def nearest_distances(queries: np.ndarray, bank: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Euclidean distance from each row of (q, d) `queries` to its nearest row of (m, d) `bank`."""
    queries = np.asarray(queries, dtype=np.float32)
    bank = np.asarray(bank, dtype=np.float32)
    bank_squared = np.einsum("ij,ij->i", bank, bank)
    out = np.empty(len(queries), dtype=np.float32)
    for start in range(0, len(queries), chunk):
        part = queries[start : start + chunk]
        squared = np.einsum("ij,ij->i", part, part)[:, None] - 2.0 * (part @ bank.T) + bank_squared[None]
        out[start : start + chunk] = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    return out
