"""Where a heatmap reaches the threshold: boxes around its strongest connected regions.

The heatmap must already be in threshold units: 1.0 is the heatmap value that corresponds to the
score threshold the layer was judged against (see `Scorer.heatmap_threshold`). Boxes are given
in the heatmap's frame (256x256, or the camera's resolution for a full-resolution scorer) and as
fractions of it; the frame is the whole uploaded image resized, so the fractions place a box on
the original image at any size (`with_image_box`).
"""

from typing import NotRequired, TypedDict

import numpy as np
from scipy import ndimage

LEVEL = 1.0  # "at or above threshold"
MAX_REGIONS = 5  # more boxes than this hide the layer instead of pointing into it
# Eight-connected, so that a diagonal scratch is one region rather than a staircase of many.
_NEIGHBOURS = np.ones((3, 3), dtype=bool)


class Box(TypedDict):
    x: float
    y: float
    width: float
    height: float


class Region(TypedDict):
    box: Box  # pixels of the heatmap's frame: x, y of the top-left corner, width, height
    box_fraction: Box  # the same box as fractions (0..1) of the frame's width and height
    area: int  # pixels at or above the level, not the box's area
    area_fraction: float  # share of the frame
    peak: float  # highest value in the region, in threshold units
    box_image: NotRequired[Box]  # the box in pixels of the uploaded image (with_image_box)


def top_regions(scaled: np.ndarray, *, level: float = LEVEL, limit: int = MAX_REGIONS) -> list[Region]:
    """The `limit` connected regions at or above `level` with the highest peaks, highest first.

    Ties in peak go to the larger region. A map that nowhere reaches `level` has no regions.
    """
    heat = np.asarray(scaled, dtype=np.float32)
    if heat.ndim != 2:
        raise ValueError(f"expected one 2-D heatmap, got shape {heat.shape}")
    labels, count = ndimage.label(heat >= level, structure=_NEIGHBOURS)  # NaN never counts
    if count == 0:
        return []
    index = np.arange(1, count + 1)
    peaks = np.asarray(ndimage.maximum(heat, labels, index), dtype=np.float64)
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    order = np.lexsort((-areas, -peaks))[:limit]  # the last key sorts first
    slices = ndimage.find_objects(labels)
    height, width = heat.shape
    return [_region(slices[k], int(areas[k]), float(peaks[k]), height, width) for k in order]


def _region(rows_cols: tuple[slice, slice], area: int, peak: float, height: int, width: int) -> Region:
    rows, cols = rows_cols
    box = Box(x=cols.start, y=rows.start, width=cols.stop - cols.start, height=rows.stop - rows.start)
    fraction = Box(
        x=box["x"] / width, y=box["y"] / height, width=box["width"] / width, height=box["height"] / height
    )
    # Peaks come from float32 maps: four decimals keep the stored JSON free of float noise.
    return Region(box=box, box_fraction=fraction, area=area, area_fraction=area / (height * width), peak=round(peak, 4))


def with_image_box(region: Region, *, width: int, height: int) -> Region:
    """The region with its box in pixels of an uploaded image of this size, edges rounded outwards."""
    f = region["box_fraction"]
    left, top = int(f["x"] * width), int(f["y"] * height)
    right = min(width, -int(-(f["x"] + f["width"]) * width // 1))
    bottom = min(height, -int(-(f["y"] + f["height"]) * height // 1))
    return Region(**region, box_image=Box(x=left, y=top, width=right - left, height=bottom - top))
