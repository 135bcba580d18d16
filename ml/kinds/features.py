"""Shape and intensity features of one heatmap region, the input of the kind classifier.

The heatmap is in threshold units (1.0 = at threshold, as `ml.regions` takes it) and the image is
the layer in the model frame (`ml.preprocess.preprocess`, 0..1); both are 256x256. The region is
the largest connected part at or above threshold inside its box (`ml.regions.Region["box"]`).
"""

import numpy as np
from scipy import ndimage

from ml.regions import LEVEL, Box

FEATURE_NAMES = (
    "log_area",  # log10 of the share of the frame
    "elongation",  # log ratio of the long to the short axis
    "horizontal",  # cos 2θ weighted by eccentricity: +1 along the recoater's travel (x)
    "oblique",  # |sin 2θ| weighted by eccentricity
    "extent_x",  # box width as a share of the frame
    "extent_y",
    "fill",  # region pixels over box pixels
    "contrast",  # mean image inside less the surround's median, in the surround's spreads
    "dark_share",  # share of region pixels darker than the surround's median
    "centre_x",
    "centre_y",
    "clutter",  # log1p of the other regions near it: spatter is many small blobs
    "log_peak",
)
_NEIGHBOURS = np.ones((3, 3), dtype=bool)
# Stored heatmaps stop at twice the threshold (apps.scoring.rendering): features see no more.
HEAT_CAP = 2.0
_SURROUND_PX = 5
_CLUTTER_PX = 16


def region_mask(heat: np.ndarray, box: Box, *, level: float = LEVEL) -> np.ndarray:
    """The largest connected part at or above `level` inside the box, as a full-frame mask."""
    y0, x0 = int(box["y"]), int(box["x"])
    y1, x1 = y0 + max(int(box["height"]), 1), x0 + max(int(box["width"]), 1)
    labels, count = ndimage.label(heat[y0:y1, x0:x1] >= level, structure=_NEIGHBOURS)
    mask = np.zeros(heat.shape, dtype=bool)
    if count:
        largest = 1 + int(np.argmax(np.bincount(labels.ravel(), minlength=count + 1)[1:]))
        mask[y0:y1, x0:x1] = labels == largest
    else:  # a box from another map: the box itself
        mask[y0:y1, x0:x1] = True
    return mask


def _shape(mask: np.ndarray) -> tuple[float, float, float, float, float]:
    """Elongation, eccentricity-weighted orientation (cos 2θ, |sin 2θ|) and the centroid."""
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    cov = np.cov(np.stack([xs - cx, ys - cy])) if len(xs) > 1 else np.zeros((2, 2))
    low, high = np.clip(np.linalg.eigvalsh(cov), 0, None)
    theta = 0.5 * np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])
    eccentricity = 1 - (low + 0.25) / (high + 0.25)
    elongation = np.log((np.sqrt(high) + 0.5) / (np.sqrt(low) + 0.5))
    horizontal, oblique = np.cos(2 * theta) * eccentricity, abs(np.sin(2 * theta)) * eccentricity
    return float(elongation), float(horizontal), float(oblique), cx, cy


def region_features(*, heat: np.ndarray, image: np.ndarray, box: Box) -> np.ndarray:
    """The FEATURE_NAMES of the region in `box`, as a float64 vector."""
    heat = np.minimum(np.nan_to_num(np.asarray(heat, dtype=np.float32)), HEAT_CAP)
    image = np.asarray(image, dtype=np.float32)
    if heat.shape != image.shape or heat.ndim != 2:
        raise ValueError(f"heatmap {heat.shape} and image {image.shape} must be the same 2-D frame")
    height, width = heat.shape
    mask = region_mask(heat, box)
    area = int(mask.sum())
    elongation, horizontal, oblique, cx, cy = _shape(mask)
    grown = ndimage.binary_dilation(mask, iterations=_SURROUND_PX)
    surround = image[grown & ~ndimage.binary_dilation(mask, iterations=1)]
    if surround.size == 0:
        surround = image[~mask] if (~mask).any() else image.ravel()
    median = float(np.median(surround))
    spread = float(np.median(np.abs(surround - median))) * 1.4826 + 0.01
    inside = image[mask]
    window = heat[
        max(int(box["y"]) - _CLUTTER_PX, 0) : int(box["y"] + box["height"]) + _CLUTTER_PX,
        max(int(box["x"]) - _CLUTTER_PX, 0) : int(box["x"] + box["width"]) + _CLUTTER_PX,
    ]
    _, components = ndimage.label(window >= LEVEL, structure=_NEIGHBOURS)
    return np.array(
        [
            np.log10(max(area, 1) / (height * width)),
            elongation,
            horizontal,
            oblique,
            box["width"] / width,
            box["height"] / height,
            area / max(box["width"] * box["height"], 1),
            np.clip((float(inside.mean()) - median) / spread, -20, 20),
            float((inside < median).mean()),
            cx / width,
            cy / height,
            np.log1p(max(components - 1, 0)),
            np.log(max(float(heat[mask].max()), 1e-3)),
        ],
        dtype=np.float64,
    )
