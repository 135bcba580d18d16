"""Measuring part estimation and region attribution against synthetic jobs whose parts are known.

`bench/parts.py` runs these over many jobs; the tests run them over a few as a bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ml.parts.attribution import attribute_region, nearest_parts
from ml.regions import top_regions

APART_PX = 3  # a true part counts as apart where no other part is within this many pixels
TRUTH_MIN_PX = 3  # defect pixels on a part that make it a part the defect touches


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


@dataclass
class EstimationResult:
    ious: list[float]  # one per true part and layer where it shows
    apart: list[bool]  # whether that part stood apart from the others (estimation cannot split touching parts)

    def mean(self, *, apart_only: bool = False) -> float:
        values = [v for v, a in zip(self.ious, self.apart, strict=True) if a or not apart_only]
        return float(np.mean(values)) if values else float("nan")

    def share_at_least(self, level: float, *, apart_only: bool = False) -> float:
        values = [v for v, a in zip(self.ious, self.apart, strict=True) if a or not apart_only]
        return float(np.mean([v >= level for v in values])) if values else float("nan")


def estimation_ious(truths: list[np.ndarray], estimates: list[np.ndarray]) -> EstimationResult:
    """Per true part and layer: IoU with the estimated part that covers most of it."""
    result = EstimationResult([], [])
    for truth, estimate in zip(truths, estimates, strict=True):
        for part_id in np.flatnonzero(np.bincount(truth.ravel()))[1:] if truth.any() else []:
            part = truth == part_id
            others = (truth > 0) & ~part
            result.apart.append(not (ndimage.binary_dilation(part, iterations=APART_PX) & others).any())
            ids, counts = np.unique(estimate[part], return_counts=True)
            counts[ids == 0] = 0
            best = ids[int(np.argmax(counts))] if counts.max() > 0 else 0
            result.ious.append(_iou(part, estimate == best) if best else 0.0)
    return result


def oracle_regions(mask: np.ndarray) -> list[dict]:
    """The regions a detector that saw exactly the true defect pixels would report."""
    heat = ndimage.gaussian_filter(mask.astype(np.float32), 1.0) * 2.0
    return list(top_regions(heat))


def true_attribution(mask_in_box: np.ndarray, truth_in_box: np.ndarray, distance_in_box: np.ndarray,
                     owner_in_box: np.ndarray, damage_distance: float) -> frozenset[int]:
    """The parts a region's true defect pixels touch; else the part they damage; else none."""
    ids, counts = np.unique(truth_in_box[mask_in_box], return_counts=True)
    touched = {int(i) for i, c in zip(ids, counts, strict=True) if i and c >= TRUTH_MIN_PX}
    if touched or not mask_in_box.any():
        return frozenset(touched)
    near = np.where(mask_in_box, distance_in_box, np.inf)
    spot = np.unravel_index(int(np.argmin(near)), near.shape)
    return frozenset({int(owner_in_box[spot])}) if near[spot] <= damage_distance else frozenset()


@dataclass
class AttributionResult:
    correct: int = 0
    total: int = 0
    on_parts: int = 0  # regions whose truth is a part (touched or damaged), not the powder

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")


def attribution_accuracy(
    masks: list[np.ndarray], truths: list[np.ndarray], frames: list[np.ndarray], *, damage_distance: float,
    regions_of=oracle_regions, regions: list[list[dict]] | None = None,
) -> AttributionResult:
    """Share of detected regions (those over true defect pixels) attributed to the right parts:
    `frames` are the part labels attribution uses (sent or estimated), `truths` the true ones.
    `regions`, one list per layer, are a detector's; without them, `regions_of(mask)` per layer."""
    result = AttributionResult()
    detected = regions if regions is not None else [None] * len(masks)
    for mask, truth, frame, found in zip(masks, truths, frames, detected, strict=True):
        if not mask.any():
            continue
        t_distance, t_owner = nearest_parts(truth)
        nearest = nearest_parts(frame)
        for region in found if found is not None else regions_of(mask):
            box = region["box"]
            rows = slice(int(box["y"]), int(box["y"] + box["height"]))
            cols = slice(int(box["x"]), int(box["x"] + box["width"]))
            if not mask[rows, cols].any():
                continue  # a false alarm: no defect there to attribute
            expected = true_attribution(mask[rows, cols], truth[rows, cols], t_distance[rows, cols],
                                        t_owner[rows, cols], damage_distance)
            got = attribute_region(box, frame, damage_distance=damage_distance, nearest=nearest)
            result.total += 1
            result.on_parts += bool(expected)
            result.correct += frozenset(got.part_ids) == expected
    return result


def relabel_to_truth(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Estimated part ids renamed to the true part each mostly covers (0 where mostly powder), so
    attribution with estimated parts can be scored against true ids."""
    out = np.zeros_like(truth)
    for part_id in np.flatnonzero(np.bincount(estimate.ravel()))[1:] if estimate.any() else []:
        region = estimate == part_id
        ids, counts = np.unique(truth[region], return_counts=True)
        out[region] = ids[int(np.argmax(counts))]
    return out
