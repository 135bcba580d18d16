"""PNG renderings of a scorer's heatmap and reconstruction, on a fixed colour scale."""

import io

import numpy as np
from PIL import Image

from ml.regions import Region, top_regions
from ml.scorers.base import Scorer

# Heatmaps are drawn in threshold units on 0..SCALE_MAX, so the threshold sits mid-scale and an
# operator reads "how far past it" from the colour alone, whichever scorer or group scored it.
SCALE_MAX = 2.0

# Anchor colours of a perceptually ordered dark-to-bright map (black, purple, red, yellow, white).
_ANCHORS = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float32
)
_LUT = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_ANCHORS)), _ANCHORS[:, c]) for c in range(3)],
    axis=1,
).astype(np.uint8)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def heatmap_png(heatmap: np.ndarray, *, vmax: float) -> bytes:
    """Colours 0..vmax; values at or above vmax take the brightest colour."""
    scaled = np.clip(np.asarray(heatmap, dtype=np.float32) / max(vmax, 1e-12), 0.0, 1.0)
    return _png(_LUT[(scaled * 255).astype(np.uint8)])


def heatmap_render(heatmap: np.ndarray, *, scorer: Scorer, threshold: float) -> tuple[bytes, list[Region]]:
    """The heatmap as a PNG in threshold units (1.0 = at `threshold`) and its top regions."""
    unit = scorer.heatmap_threshold(threshold) if threshold > 0 else 0.0
    if not unit > 0:
        # A version without a threshold has no "at threshold": its own scale, and no boxes.
        return heatmap_png(heatmap, vmax=scorer.heatmap_vmax), []
    scaled = np.asarray(heatmap, dtype=np.float32) / np.float32(unit)
    return heatmap_png(scaled, vmax=SCALE_MAX), top_regions(scaled)


def grayscale_png(image: np.ndarray) -> bytes:
    return _png((np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255).round().astype(np.uint8))
