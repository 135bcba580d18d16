"""Which part a heatmap region belongs to: the parts it touches, or the powder.

Regions come as boxes in the model frame (ml.regions); the part labels are resampled to that
frame. A region touches a part where the part covers enough of its box. A region on powder near a
part (within `damage_distance` frame pixels) counts against that part as part damage: spatter or
a raised edge next to a part is the part's problem, not the powder's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# The share of a region's box a part must cover to count as touched; a box also holds powder
# around the region, so a part grazing its corner is not enough.
TOUCH_SHARE = 0.05
TOUCH_MIN_PX = 3


@dataclass(frozen=True)
class Attribution:
    part_id: int  # the part the region counts against most; 0 for powder
    part_ids: tuple[int, ...]  # every part it counts against, most covered first
    part_damage: bool  # on powder, but within reach of part_id


def _box_slices(box: dict, shape: tuple[int, int]) -> tuple[slice, slice]:
    x0, y0 = max(int(box["x"]), 0), max(int(box["y"]), 0)
    x1 = min(int(np.ceil(box["x"] + box["width"])), shape[1])
    y1 = min(int(np.ceil(box["y"] + box["height"])), shape[0])
    return slice(y0, max(y1, y0 + 1)), slice(x0, max(x1, x0 + 1))


def nearest_parts(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel, the distance (frame px) to the nearest part and that part's id."""
    if not frame.any():
        return np.full(frame.shape, np.inf), np.zeros(frame.shape, dtype=frame.dtype)
    distance, (rows, cols) = ndimage.distance_transform_edt(frame == 0, return_indices=True)
    return distance, frame[rows, cols]


def attribute_region(
    box: dict,
    frame: np.ndarray,
    *,
    damage_distance: float,
    nearest: tuple[np.ndarray, np.ndarray] | None = None,
) -> Attribution:
    """Attributes one region, given its box (x, y, width, height) in the frame of `frame`."""
    rows, cols = _box_slices(box, frame.shape)
    crop = frame[rows, cols]
    ids, counts = np.unique(crop[crop > 0], return_counts=True)
    needed = max(TOUCH_MIN_PX, TOUCH_SHARE * crop.size)
    touched = [(int(c), int(i)) for i, c in zip(ids, counts, strict=True) if c >= needed]
    if touched:
        order = tuple(i for _, i in sorted(touched, reverse=True))
        return Attribution(part_id=order[0], part_ids=order, part_damage=False)
    distance, owner = nearest if nearest is not None else nearest_parts(frame)
    near = distance[rows, cols]
    spot = np.unravel_index(int(np.argmin(near)), near.shape)
    if near[spot] <= damage_distance:
        part = int(owner[rows, cols][spot])
        return Attribution(part_id=part, part_ids=(part,), part_damage=True)
    return Attribution(part_id=0, part_ids=(), part_damage=False)
