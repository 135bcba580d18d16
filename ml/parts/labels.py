"""Part-label images: checking them, and what is kept of them (boxes, areas, a model-frame copy).

A part-label image has the photo's size; each pixel holds 0 for powder or k for part k.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
from scipy import ndimage

FRAME = 256  # the model frame: heatmap regions are given in it (ml.regions, ml.preprocess)


class LabelImageError(ValueError):
    """A part-label image that cannot be used; the message says why."""


class PartExtent(TypedDict):
    bbox: list[int]  # x0, y0, x1, y1 in image pixels, x1 and y1 exclusive
    area: int  # pixels of the part


def label_check(labels: np.ndarray, *, shape: tuple[int, int], max_parts: int) -> np.ndarray:
    """The labels as uint16 (H, W) when they fit the photo of `shape` (height, width), else
    LabelImageError saying what is wrong."""
    array = np.asarray(labels)
    if array.ndim != 2:
        raise LabelImageError(
            f"A part-label image has one channel (0 for powder, k for part k); this one has shape "
            f"{'×'.join(map(str, array.shape))}, as a colour image would."
        )
    if array.dtype not in (np.uint8, np.uint16):
        raise LabelImageError(f"Part labels must be 8- or 16-bit integers; these are {array.dtype}.")
    if array.shape != tuple(shape):
        raise LabelImageError(
            f"The part-label image is {array.shape[1]}×{array.shape[0]} px; the photo is "
            f"{shape[1]}×{shape[0]} px. Send it at the photo's size."
        )
    ids = np.flatnonzero(np.bincount(array.ravel()))
    count = int(np.count_nonzero(ids))
    if count > max_parts:
        raise LabelImageError(f"The part-label image has {count} parts; at most {max_parts} are allowed.")
    return array.astype(np.uint16, copy=False)


def part_extents(labels: np.ndarray) -> dict[int, PartExtent]:
    """Each part's bounding box and area, by part id."""
    areas = np.bincount(labels.ravel())
    extents: dict[int, PartExtent] = {}
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        if found is None:
            continue
        rows, cols = found
        extents[index] = PartExtent(bbox=[cols.start, rows.start, cols.stop, rows.stop], area=int(areas[index]))
    return extents


def to_frame(labels: np.ndarray, size: int = FRAME) -> np.ndarray:
    """Nearest-neighbour resample to size×size, on the same pixel centres as the model's resize."""
    height, width = labels.shape
    rows = np.minimum(((np.arange(size) + 0.5) * height / size).astype(int), height - 1)
    cols = np.minimum(((np.arange(size) + 0.5) * width / size).astype(int), width - 1)
    return labels[np.ix_(rows, cols)]


def frame_extents(frame: np.ndarray, *, width: int, height: int) -> dict[int, PartExtent]:
    """Part extents measured on a model frame, given in the image's pixels."""
    sx, sy = width / frame.shape[1], height / frame.shape[0]
    out = {}
    for part_id, extent in part_extents(frame).items():
        x0, y0, x1, y1 = extent["bbox"]
        out[part_id] = PartExtent(
            bbox=[int(x0 * sx), int(y0 * sy), min(int(np.ceil(x1 * sx)), width), min(int(np.ceil(y1 * sy)), height)],
            area=int(round(extent["area"] * sx * sy)),
        )
    return out
