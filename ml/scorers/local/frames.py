"""The local scorer above the 256 px model frame: crops to train on, and per-pixel maps kept in the
model frame and brought up to the scored one."""

from __future__ import annotations

import numpy as np

from ml.preprocess import IMAGE_SIZE
from ml.residuals import average_down, bring_up

# Cameras larger than this are scored at this side: memory and time grow with its square.
MAX_RESOLUTION = 2048


def resolution_for(native_side: int) -> int:
    """The scored side for a camera whose larger side is `native_side`: the nearest multiple of
    the model frame (so per-pixel maps average down to it exactly), up to MAX_RESOLUTION."""
    side = int(round(native_side / IMAGE_SIZE)) * IMAGE_SIZE
    return int(min(max(side, IMAGE_SIZE), MAX_RESOLUTION))


def check_resolution(resolution: int) -> int:
    if resolution % IMAGE_SIZE or not IMAGE_SIZE <= resolution <= MAX_RESOLUTION:
        raise ValueError(
            f"resolution must be a multiple of {IMAGE_SIZE} from {IMAGE_SIZE} to {MAX_RESOLUTION} "
            f"(or 0 for the camera's own), got {resolution}"
        )
    return resolution


def random_crops(images: np.ndarray, count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """`count` size x size crops of (n, S, S) images at random places, the images taken in turn."""
    side = images.shape[1]
    out = np.empty((count, size, size), dtype=np.float32)
    for k in range(count):
        y, x = rng.integers(0, side - size + 1, 2)
        out[k] = images[k % len(images), y : y + size, x : x + size]
    return out


def block_mean(maps: np.ndarray, side: int) -> np.ndarray:
    """(c, S, S) maps averaged down to (c, side, side); S must be a multiple of side."""
    return average_down(maps, maps.shape[-1] // side)


def upsampled(maps: np.ndarray, side: int) -> np.ndarray:
    """(c, s, s) smooth maps brought up to (c, side, side), bilinear, pixel centres aligned."""
    return bring_up(maps, side / maps.shape[-1])
