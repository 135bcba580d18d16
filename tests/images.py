"""Image bytes for tests, in every format and depth the printer API accepts."""

import io

import numpy as np
from PIL import Image


def layer_array(seed: int = 0, size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = 120 + rng.normal(0, 8, (size, size))
    base[size // 4 : size // 2, size // 4 : size // 2] += 60  # a part cross-section
    return np.clip(base, 0, 255).astype(np.uint8)


def image_bytes(
    array: np.ndarray | None = None, *, fmt: str = "PNG", mode: str = "L", seed: int = 0, size: int = 128
) -> bytes:
    array = layer_array(seed, size) if array is None else array
    if mode == "RGB":
        image = Image.fromarray(np.stack([array] * 3, axis=-1))
    elif mode == "I;16":
        image = Image.fromarray(array.astype(np.uint16) * 257)
    else:
        image = Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
