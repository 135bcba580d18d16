"""Splitting a melted region that holds several touching parts.

Two cues, both from what a photo shows: the region's shape (two cross-sections joined by a neck
narrower than either, found on the distance to the region's edge) and the build's history (a
region covering the footprints of parts that were apart on earlier layers is those parts).
numpy and scipy only.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

NECK_RATIO = 0.6  # a neck narrower than this share of both cross-sections' widths separates them
MIN_CORE_PX = 4.0  # distance to the edge a cross-section needs at its centre to stand on its own
THIN_SHARE = 0.5  # a wall at most half as thick as the solid part beside it is a part of its own
WALL_SHARE = 0.15  # of the region: a thin piece smaller than this is a corner or a tip, not a part
FOOTPRINT_COVERED = 0.6  # share of a known part's footprint the region must cover to hold that part
FOOTPRINTS_EXPLAIN = 0.6  # IoU of the held footprints' union with the region, to split along them
_EIGHT = np.ones((3, 3), dtype=bool)


def _grow(markers: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Each pixel of the region given to its nearest marker: int32 labels, 0 off the region."""
    _, (rows, cols) = ndimage.distance_transform_edt(markers == 0, return_indices=True)
    return np.where(region, markers[rows, cols], 0)


def neck_cores(region: np.ndarray) -> np.ndarray:
    """Cores of the cross-sections a region is made of, by the persistence of the maxima of its
    distance to the edge: two maxima stay apart when the saddle between them is lower than
    NECK_RATIO of both. int32 labels (1..n), 0 elsewhere; one core for a region that is one part."""
    distance = ndimage.distance_transform_edt(region)
    cores = np.zeros(region.shape, dtype=np.int32)
    peak: dict[int, float] = {}
    frozen: set[int] = set()  # cores kept apart by a neck: they grow no further
    top = float(distance.max())
    for level in np.arange(np.floor(top), 0.0, -1.0):
        labels, count = ndimage.label(distance >= level, structure=_EIGHT)
        for component, found in enumerate(ndimage.find_objects(labels), start=1):
            inside = labels[found] == component
            owners = np.unique(cores[found][inside])
            owners = [int(o) for o in owners if o]
            if not owners:
                new = len(peak) + 1
                peak[new] = float(distance[found][inside].max())
                cores[found][inside] = new
                continue
            standing = [o for o in owners if peak[o] >= MIN_CORE_PX and level < NECK_RATIO * peak[o]]
            if len(standing) > 1:
                frozen.update(standing)
                keep = max(standing, key=peak.__getitem__)
                owners = [keep] + [o for o in owners if o not in standing]  # small bumps join the highest
            else:
                keep = max(owners, key=peak.__getitem__)
            for other in owners:
                cores[cores == other] = keep
            if keep not in frozen:
                view = cores[found]
                view[inside & (view == 0)] = keep
    kept = np.unique(cores[cores > 0])
    renumbered = np.zeros(int(kept.max(initial=0)) + 1, dtype=np.int32)
    renumbered[kept] = np.arange(1, len(kept) + 1)
    return renumbered[cores]


def thin_parts(region: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """What an opening by a disk of half the region's largest inscribed radius keeps (the thick
    cross-sections) and the thin walls it removes that are parts of their own: a ring or a
    narrow bar against a solid part. Corners and sharp tips it removes stay with the thick part."""
    distance = ndimage.distance_transform_edt(region)
    radius = max(MIN_CORE_PX, THIN_SHARE * float(distance.max()))
    thick = ndimage.distance_transform_edt(distance < radius) <= radius + 1.5  # the opening by a disk
    thick &= region
    walls = []
    if not thick.any():
        return region, walls
    labels, count = ndimage.label(region & ~thick, structure=_EIGHT)
    for k in range(1, count + 1):
        wall = labels == k
        width = float(ndimage.distance_transform_edt(wall).max())
        if wall.sum() >= WALL_SHARE * region.sum() and width <= THIN_SHARE * float(distance.max()):
            walls.append(wall)
    return region & ~np.logical_or.reduce(walls) if walls else region, walls


def split_by_shape(region: np.ndarray) -> list[np.ndarray]:
    """The region as the cross-sections its shape separates: thin walls off solid parts, then
    solid parts at their necks (the region itself where it has neither)."""
    solid, walls = thin_parts(region)
    cores = neck_cores(solid)
    pieces = list(walls)
    if cores.max() < 2:
        pieces.append(solid)
    else:
        grown = _grow(cores, solid)
        pieces += [grown == k for k in range(1, int(grown.max()) + 1) if (grown == k).any()]
    return [p for p in pieces if p.any()]


def split_by_footprints(region: np.ndarray, footprints: list[np.ndarray]) -> list[np.ndarray] | None:
    """The region split along the footprints of earlier parts it covers, or None where it does not
    cover at least two of them, or they do not explain it (a new layout over old footprints)."""
    held = [f for f in footprints if f.any() and np.count_nonzero(region & f) >= FOOTPRINT_COVERED * f.sum()]
    if len(held) < 2:
        return None
    union = np.logical_or.reduce(held)
    if np.count_nonzero(union & region) < FOOTPRINTS_EXPLAIN * np.count_nonzero(union | region):
        return None
    claims = np.sum(held, axis=0)
    markers = np.zeros(region.shape, dtype=np.int32)
    for k, footprint in enumerate(held, start=1):
        # Pixels two footprints claim are left to the watershed; the rim too, where edges move.
        markers[ndimage.binary_erosion(footprint & region & (claims == 1), iterations=1)] = k
    if len(np.unique(markers)) - 1 < 2:
        return None
    grown = _grow(markers, region)
    return [grown == k for k in range(1, len(held) + 1) if (grown == k).any()]
