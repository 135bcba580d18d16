"""Parts estimated from the photos alone, for printers that send no part-label images.

A melted cross-section is brighter than the powder around it once the bed's uneven lighting is
taken out, so each layer is segmented against a smooth background fitted robustly to its powder.
What is segmented on one layer may also be a defect (spatter, a raised edge); a part is what keeps
its place from layer to layer, which `PartTracker` decides by overlap with the parts it knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ml.parts.split import split_by_footprints, split_by_shape

SMOOTHING = 1.5  # px: takes the powder's grain out where an edge is placed
COARSE_SMOOTHING = 3.0  # px: enough to find faint parts on coarse powder
BED_RIM = 6  # px
MIN_AREA = 40  # px of the 256 frame: smaller bright specks are spatter, not cross-sections
POLY_DEGREE = 4  # the lighting: a gradient times a vignette
SAME_PART_IOU = 0.4  # overlap with a known part's latest footprint that makes a region that part


_TERMS = [(i, j) for i in range(POLY_DEGREE + 1) for j in range(POLY_DEGREE + 1 - i)]  # x^i y^j


def _powers(n: int, step: int = 1) -> np.ndarray:
    """Powers 0..POLY_DEGREE of pixel coordinates scaled to [-1, 1]: (len, POLY_DEGREE + 1)."""
    axis = np.arange(0, n, step, dtype=np.float64) / n * 2 - 1
    return axis[:, np.newaxis] ** np.arange(POLY_DEGREE + 1)


def _design(shape: tuple[int, int], step: int) -> np.ndarray:
    """One row per sampled pixel (row-major), one column per term of the lighting polynomial."""
    ys, xs = _powers(shape[0], step), _powers(shape[1], step)
    return np.stack([np.outer(ys[:, j], xs[:, i]).ravel() for i, j in _TERMS], axis=1)


def _evaluate(coef: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The polynomial at every pixel, separably: rows' powers × coefficients × columns' powers."""
    grid = np.zeros((POLY_DEGREE + 1, POLY_DEGREE + 1))
    for c, (i, j) in zip(coef, _TERMS, strict=True):
        grid[j, i] = c
    return np.einsum("yj,ji,xi->yx", _powers(shape[0]), grid, _powers(shape[1]), optimize=True)


def _least_squares(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    # Normal equations with einsum: a few thousand rows, and no BLAS threads to wait on.
    gram = np.einsum("ni,nj->ij", design, design)
    return np.linalg.solve(gram + 1e-9 * np.eye(len(gram)), np.einsum("ni,n->i", design, values))


def _bed(image: np.ndarray) -> np.ndarray:
    """The powder bed: the machine's rails and walls around it are far darker than powder."""
    dark, typical = np.percentile(image, [1, 50])
    bed = image > (dark + typical) / 2
    # The lighting fit fails at the bed's blurred rim, where nothing is ever melted anyway.
    return ndimage.binary_erosion(bed, iterations=BED_RIM)


def _background(image: np.ndarray, bed: np.ndarray) -> tuple[np.ndarray, float]:
    """The powder's smooth lighting, fitted robustly on the bed, and the spread of powder around it."""
    step = 4
    design = _design(image.shape, step)
    samples = image[::step, ::step].ravel()
    on_bed = bed[::step, ::step].ravel()
    # Start from the middle of the bed's grey levels: parts are brighter than powder.
    low, high = np.percentile(samples[on_bed], [10, 60])
    keep = on_bed & (samples >= low) & (samples <= high)
    for _ in range(8):  # fit the powder, drop what is not powder (parts, rails), fit again
        coef = _least_squares(design[keep], samples[keep])
        residual = samples - design @ coef
        spread = 1.4826 * float(np.median(np.abs(residual[keep] - np.median(residual[keep])))) + 1e-6
        keep = on_bed & (np.abs(residual) < 2.5 * spread)
    return _evaluate(coef, image.shape), spread


def fused_mask(frame: np.ndarray) -> np.ndarray:
    """Pixels of a (H, W) grey frame in [0, 1] that look melted: bool (H, W)."""
    grey = np.asarray(frame, dtype=np.float64) * 255.0
    coarse_image = ndimage.gaussian_filter(grey, COARSE_SMOOTHING)
    bed = _bed(coarse_image)
    if np.count_nonzero(bed) < grey.size // 8:
        return np.zeros(grey.shape, dtype=bool)  # no bed in view: a blank or dark frame
    background, spread = _background(coarse_image, bed)
    coarse = np.where(bed, coarse_image - background, 0.0)
    found = coarse > 5 * spread
    if np.count_nonzero(found) < MIN_AREA:
        return np.zeros(grey.shape, dtype=bool)
    # Half-way between powder and the typical melted level puts the edge where it is; the
    # finer smoothing then places it, within reach of what the coarse one found.
    level = 0.5 * float(np.median(coarse[found]))
    fine = np.where(bed, ndimage.gaussian_filter(grey, SMOOTHING) - background, 0.0)
    mask = ndimage.binary_dilation(coarse > level, iterations=3) & (fine > level)
    mask = ndimage.binary_opening(mask, iterations=1)
    labels, count = ndimage.label(mask)
    if count == 0:
        return mask
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    return (areas >= MIN_AREA)[labels] & (labels > 0)


def fused_regions(frame: np.ndarray) -> list[np.ndarray]:
    """Each connected melted region of the frame as its own bool mask."""
    labels, count = ndimage.label(fused_mask(frame), structure=np.ones((3, 3), dtype=bool))
    return [labels == k for k in range(1, count + 1)]


@dataclass
class Track:
    part_id: int
    footprint: np.ndarray  # bool: where the part was on the last layer it was seen
    layers: set[int] = field(default_factory=set)


def _padded_box(mask: np.ndarray, pad: int = 2) -> tuple[slice, slice]:
    rows, cols = ndimage.find_objects(mask.astype(np.uint8))[0]
    return (slice(max(rows.start - pad, 0), rows.stop + pad), slice(max(cols.start - pad, 0), cols.stop + pad))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


class PartTracker:
    """Gives each melted region the id of the known part it overlaps, or a new id."""

    def __init__(self, tracks: list[Track] | None = None) -> None:
        self.tracks = list(tracks or [])

    def next_id(self) -> int:
        return max((t.part_id for t in self.tracks), default=0) + 1

    def separate(self, regions: list[np.ndarray]) -> list[np.ndarray]:
        """Regions holding touching parts split: along the footprints of parts that were apart
        on earlier layers where a region covers several, else at the necks of its shape."""
        footprints = [t.footprint for t in self.tracks]
        pieces = []
        for region in regions:
            if not region.any():
                continue
            rows, cols = _padded_box(region)
            crop = region[rows, cols]
            split = split_by_footprints(crop, [f[rows, cols] for f in footprints])
            if split is None:
                split = split_by_shape(crop)
            for piece in split:
                full = np.zeros(region.shape, dtype=bool)
                full[rows, cols] = piece
                pieces.append(full)
        return pieces

    def assign(self, regions: list[np.ndarray], *, layer: int, shape: tuple[int, int]) -> np.ndarray:
        """The layer's label frame (0 powder, k estimated part k); updates the tracks."""
        labels = np.zeros(shape, dtype=np.uint16)
        for region in self.separate(regions):
            best, best_iou = None, SAME_PART_IOU
            for track in self.tracks:
                iou = _iou(region, track.footprint)
                if iou >= best_iou:
                    best, best_iou = track, iou
            if best is None:
                best = Track(part_id=self.next_id(), footprint=region)
                self.tracks.append(best)
            elif layer in best.layers:  # a piece of a part already seen on this layer: still that part
                best.footprint = best.footprint | region
            else:
                best.footprint = region
            best.layers.add(layer)
            labels[region] = best.part_id
        return labels


def estimate_job_parts(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Label frames for consecutive layers of one job, each from its photo (see PartTracker)."""
    tracker = PartTracker()
    return [tracker.assign(fused_regions(f), layer=i, shape=f.shape) for i, f in enumerate(frames)]
