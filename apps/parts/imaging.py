"""Decoding uploaded part-label images with Pillow; ml.parts only ever sees the arrays."""

import io
import warnings

import numpy as np
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from ml.parts.labels import LabelImageError

_EIGHT_BIT = {"L", "P", "1"}  # P: the palette indices are the labels
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L"}


def labels_decode(data: bytes) -> np.ndarray:
    """The label image as uint8 or uint16 (H, W), or LabelImageError saying why it is unusable."""
    if len(data) > settings.LAYERWATCH_MAX_IMAGE_BYTES:
        raise LabelImageError(
            f"The part-label image is {len(data)} bytes; the limit is {settings.LAYERWATCH_MAX_IMAGE_BYTES}."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != "PNG":
                    raise LabelImageError(f"The part-label image must be a PNG; this is {image.format}.")
                if image.width * image.height > settings.LAYERWATCH_MAX_IMAGE_PIXELS:
                    raise LabelImageError(f"The part-label image has too many pixels ({image.width}×{image.height}).")
                mode = image.mode
                if mode not in _EIGHT_BIT | _SIXTEEN_BIT | {"I"}:
                    raise LabelImageError(
                        f"The part-label image is {mode}; send one channel of 8- or 16-bit part numbers "
                        "(0 for powder, k for part k), not colour or floating point."
                    )
                array = np.asarray(image)
    except LabelImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as error:
        raise LabelImageError("The part-label image is not a readable PNG.") from error
    if mode in _EIGHT_BIT:
        return array.astype(np.uint8, copy=False)
    if mode == "I" and (array.min(initial=0) < 0 or array.max(initial=0) > 65535):
        raise LabelImageError("Part numbers must lie between 0 and 65535.")
    return array.astype(np.uint16, copy=False)
