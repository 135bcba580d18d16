"""Turn a decoded layer photo into a scorer's input: grayscale, square, float32 in [0, 1].

Scorers work at IMAGE_SIZE (the model frame, 256x256) unless they score at a larger resolution
(`Scorer.input_size`, the local scorer's `resolution`); everything else that looks at a layer
(layer groups, the alert channels) works in the model frame, got with `model_frame`.

Image decoding (JPEG, PNG, TIFF) happens outside `ml/`; callers pass numpy arrays.
"""

from collections.abc import Iterable

import keras
import numpy as np

IMAGE_SIZE = 256

# ITU-R BT.601 luma weights: what the seed prototype (and PIL's "L" mode) used.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Return a float32 (H, W) image in [0, 1].

    Accepts (H, W), (H, W, 1), (H, W, 3) and (H, W, 4) arrays of dtype uint8, uint16 or float.
    Integers are scaled by their full range; floats are taken to be in [0, 1] already and are
    clipped. Alpha is dropped rather than composited: a camera frame has no transparency.
    """
    array = np.asarray(image)
    if array.size == 0:
        raise ValueError(f"empty image of shape {array.shape}")
    if array.dtype == np.uint8:
        pixels = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        pixels = array.astype(np.float32) / 65535.0
    elif np.issubdtype(array.dtype, np.floating):
        pixels = array.astype(np.float32)
        # A NaN would silently become a huge score downstream; a broken frame should fail loudly.
        if not np.isfinite(pixels).all():
            raise ValueError("image contains NaN or infinite values")
    else:
        raise TypeError(f"unsupported image dtype {array.dtype}; expected uint8, uint16 or float")

    if pixels.ndim == 3:
        channels = pixels.shape[2]
        if channels == 1:
            pixels = pixels[:, :, 0]
        elif channels in (3, 4):
            pixels = pixels[:, :, :3] @ _LUMA
        else:
            raise ValueError(f"expected 1, 3 or 4 channels, got {channels}")
    elif pixels.ndim != 2:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {array.shape}")
    return np.clip(pixels, 0.0, 1.0).astype(np.float32, copy=False)


def _resized(gray: np.ndarray, size: int) -> np.ndarray:
    # Through Keras rather than TensorFlow itself (which it calls there), so that scoring code
    # imports on any Keras backend.
    resized = keras.ops.image.resize(gray[..., np.newaxis], (size, size), interpolation="bilinear", antialias=False)
    return np.clip(keras.ops.convert_to_numpy(resized)[..., 0], 0.0, 1.0)


def preprocess(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Grayscale, then bilinear resize to size x size, as the seed prototype did at 256.

    No antialiasing, on purpose: the trained seed models expect exactly this input, and
    `model_frame` of a larger preprocessed layer then equals the layer preprocessed at 256.
    """
    gray = to_grayscale(image)
    if gray.shape != (size, size):
        gray = _resized(gray, size)
    return gray.astype(np.float32, copy=False)


def preprocess_batch(images: Iterable[np.ndarray], size: int = IMAGE_SIZE) -> np.ndarray:
    """Preprocess several images into one (n, size, size) float32 array."""
    processed = [preprocess(image, size) for image in images]
    if not processed:
        return np.zeros((0, size, size), dtype=np.float32)
    return np.stack(processed)


def model_frame(images: np.ndarray) -> np.ndarray:
    """Preprocessed (n, S, S) layers in the 256x256 model frame, as `preprocess` would give them."""
    images = np.asarray(images, dtype=np.float32)
    if images.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE):
        return images
    return np.stack([_resized(image, IMAGE_SIZE) for image in images]).astype(np.float32, copy=False)


def heatmap_model_frame(heatmap: np.ndarray) -> np.ndarray:
    """A (S, S) heatmap in the 256x256 model frame: each pixel the highest of those it covers, so
    a defect a few pixels wide at full resolution still shows."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    side = heatmap.shape[0]
    if side == IMAGE_SIZE:
        return heatmap
    if side % IMAGE_SIZE == 0:
        k = side // IMAGE_SIZE
        return heatmap.reshape(IMAGE_SIZE, k, IMAGE_SIZE, k).max(axis=(1, 3))
    edges = np.linspace(0, side, IMAGE_SIZE + 1).round().astype(int)
    rows = np.maximum.reduceat(heatmap, edges[:-1], axis=0)
    return np.maximum.reduceat(rows, edges[:-1], axis=1)
