"""Regions of synthetic defects with their true kinds, for the kind benchmark and tests.

The heatmap is what an ideal detector would see: the layer less its defect-free twin (the same
layer rendered without the defect), blurred a little and in units of DETECTION_GREY grey levels.
Faint defects thus give small regions or none, as they would to a trained scorer.
"""

import numpy as np
from scipy import ndimage

from ml.kinds.features import region_features
from ml.regions import top_regions
from ml.synthetic import generate_layers

DETECTION_GREY = 4.0
# The synthetic generator's kinds as operators label them: a scratch is a streak.
LABEL_OF = {"streak": "streak", "scratch": "streak", "spatter": "spatter", "pit": "pit",
            "short_feed": "short_feed", "super_elevation": "super_elevation"}


def synthetic_regions(*, seed: int, n: int, kind: str, first: int = 0) -> tuple[np.ndarray, int]:
    """Features of the strongest region of `n` layers with a `kind` defect, and how many had none."""
    defective = generate_layers(seed=seed, n=n, defect_kind=kind, first=first)
    clean = generate_layers(seed=seed, n=n, first=first)
    rows, missed = [], 0
    for layer, twin in zip(defective, clean, strict=True):
        diff = np.abs(layer.image.astype(np.float32) - twin.image.astype(np.float32))
        heat = ndimage.gaussian_filter(diff, 1.0) / DETECTION_GREY
        regions = top_regions(heat)
        if not regions:
            missed += 1
            continue
        rows.append(region_features(heat=heat, image=layer.image / 255.0, box=regions[0]["box"]))
    return np.array(rows).reshape(-1, len(rows[0]) if rows else 0), missed
