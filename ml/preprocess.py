"""Turn a decoded layer photo into the model's input: grayscale, 256x256, float32 in [0, 1].

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


def preprocess(image: np.ndarray) -> np.ndarray:
    """Grayscale, then bilinear resize to IMAGE_SIZE x IMAGE_SIZE, as the seed prototype did.

    No antialiasing, on purpose: the trained seed models expect exactly this input.
    """
    gray = to_grayscale(image)
    if gray.shape != (IMAGE_SIZE, IMAGE_SIZE):
        # Through Keras rather than TensorFlow itself (which it calls there), so that scoring
        # code imports on any Keras backend.
        resized = keras.ops.image.resize(
            gray[:, :, np.newaxis], (IMAGE_SIZE, IMAGE_SIZE), interpolation="bilinear", antialias=False
        )
        gray = np.clip(keras.ops.convert_to_numpy(resized)[:, :, 0], 0.0, 1.0)
    return gray.astype(np.float32, copy=False)


def preprocess_batch(images: Iterable[np.ndarray]) -> np.ndarray:
    """Preprocess several images into one (n, IMAGE_SIZE, IMAGE_SIZE) float32 array."""
    processed = [preprocess(image) for image in images]
    if not processed:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    return np.stack(processed)
