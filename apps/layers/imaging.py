"""Decoding and checking uploaded layer images with Pillow; ml/ only ever sees numpy arrays."""

import io
import warnings

import numpy as np
from django.conf import settings
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "TIFF": "tif", "BMP": "bmp"}
# Pillow modes for 8- and 16-bit grayscale or colour images.
ACCEPTED_MODES = {"L", "LA", "P", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "I", "1"}


class ImageRejected(ValueError):
    """Not a supported image (answered 415)."""


class ImageTooLarge(ValueError):
    """More bytes or pixels than allowed (answered 413)."""


def image_inspect(data: bytes) -> tuple[str, int, int]:
    """Returns (file extension, width, height) after checking that the whole image decodes."""
    if len(data) > settings.LAYERWATCH_MAX_IMAGE_BYTES:
        raise ImageTooLarge(
            f"The image is {len(data)} bytes; the limit is {settings.LAYERWATCH_MAX_IMAGE_BYTES}."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format, mode, (width, height) = image.format, image.mode, image.size
                if width * height > settings.LAYERWATCH_MAX_IMAGE_PIXELS:
                    raise ImageTooLarge(
                        f"The image has {width}×{height} pixels; the limit is "
                        f"{settings.LAYERWATCH_MAX_IMAGE_PIXELS} pixels."
                    )
                image.load()  # a truncated file fails here rather than in the worker
    except ImageTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(str(error)) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageRejected(
            "The upload is not a readable PNG, JPEG, TIFF or BMP image."
        ) from error
    if image_format not in ACCEPTED_FORMATS:
        raise ImageRejected(f"{image_format} images are not accepted; send PNG, JPEG, TIFF or BMP.")
    if mode not in ACCEPTED_MODES:
        raise ImageRejected(f"Image mode {mode} is not supported; send 8- or 16-bit gray or RGB.")
    return ACCEPTED_FORMATS[image_format], width, height


def image_to_array(data: bytes) -> np.ndarray:
    """Decodes to uint8 or uint16 (H, W) or (H, W, C), keeping 16-bit depth where present."""
    with Image.open(io.BytesIO(data)) as image:
        if image.mode in {"I;16", "I;16B", "I;16L"}:
            return np.asarray(image, dtype=np.uint16)
        if image.mode == "I":
            return np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
        if image.mode in {"P", "1", "LA"}:
            image = image.convert("RGBA" if image.mode == "P" else "L")
        return np.asarray(image)


def read_image_array(field_file) -> np.ndarray:
    with field_file.open("rb") as handle:
        return image_to_array(handle.read())
