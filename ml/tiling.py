"""Applying a fully convolutional network to layers larger than it was trained on, tile by tile.

Each tile is cut with a margin of context on every side and only its core is kept, so the stitched
output has no seams wherever the network's receptive field fits in the margin, and memory stays
bounded by the tile size whatever the camera's resolution.
"""

from __future__ import annotations

import keras
import numpy as np


def tile_origins(side: int, tile: int) -> list[int]:
    """Top-left offsets of the cores covering [0, side): every `tile` px, the last one flush."""
    if side <= tile:
        return [0]
    origins = list(range(0, side - tile, tile))
    return [*origins, side - tile]


def predict_tiled(
    model: keras.Model, images: np.ndarray, *, tile: int, margin: int, batch_size: int = 16
) -> np.ndarray:
    """`model`'s (n, S, S, 1) output for (n, S, S) images, predicted on (tile + 2 margin)^2 windows.

    `tile` and `margin` must keep the window a multiple of the network's total stride.
    """
    images = np.asarray(images, dtype=np.float32)
    n, side = len(images), images.shape[1]
    core = min(tile, side)
    padded = np.pad(images, ((0, 0), (margin, margin), (margin, margin)), mode="reflect")
    origins = [(y, x) for y in tile_origins(side, core) for x in tile_origins(side, core)]
    windows = np.stack(
        [padded[i, y : y + core + 2 * margin, x : x + core + 2 * margin] for i in range(n) for y, x in origins]
    )
    predicted = np.concatenate(
        [
            np.asarray(model.predict_on_batch(windows[start : start + batch_size, ..., np.newaxis]))
            for start in range(0, len(windows), batch_size)
        ]
    ) if len(windows) else np.zeros((0, core + 2 * margin, core + 2 * margin, 1), np.float32)
    out = np.empty((n, side, side, predicted.shape[-1]), dtype=np.float32)
    for k, window in enumerate(predicted):
        i, (y, x) = divmod(k, len(origins))[0], origins[k % len(origins)]
        out[i, y : y + core, x : x + core] = window[margin : margin + core, margin : margin + core]
    return out
