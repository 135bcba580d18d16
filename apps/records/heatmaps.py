"""Reads a stored heatmap PNG back into threshold units, and the layer in the model frame."""

import io

import numpy as np
from PIL import Image

from apps.layers.imaging import read_image_array
from apps.scoring.models import LayerScore
from apps.scoring.rendering import _LUT, SCALE_MAX
from ml.preprocess import IMAGE_SIZE, heatmap_model_frame, preprocess

_PALETTE = _LUT.astype(np.int32)


def heatmap_decode(png: bytes) -> np.ndarray:
    """The heatmap in threshold units (0..SCALE_MAX), in the 256x256 model frame (a full-resolution
    one keeps, at each pixel, the highest value it covers)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.size[0] != image.size[1] or image.size[0] % IMAGE_SIZE:
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.NEAREST)
    side = image.size[0]
    rgb = np.asarray(image).reshape(-1, 3).astype(np.int32)
    # Each distinct colour takes the level of the nearest colour of the map (exact for our PNGs).
    codes, inverse = np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2], return_inverse=True)
    colours = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=1)
    nearest = ((colours[:, None, :] - _PALETTE[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    level = nearest[inverse.ravel()].reshape(side, side)
    return heatmap_model_frame(level.astype(np.float32) / 255 * SCALE_MAX)


def score_frames(score: LayerScore) -> tuple[np.ndarray, np.ndarray]:
    """The score's heatmap (threshold units) and its layer (0..1), both in the model frame."""
    with score.heatmap.open("rb") as handle:
        heat = heatmap_decode(handle.read())
    return heat, preprocess(read_image_array(score.layer.image))
