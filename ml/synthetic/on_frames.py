"""Paint the synthetic defects onto real layer photos, so detection can be measured on real
powder with defects whose exact pixels are known.

The frame is taken as the scene: its fine texture stands in for the powder grain (which the
short-feed painter smooths away), and no melted parts are visible, so a super-elevated edge is
drawn around a part outline sampled on the bed without the part itself.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ml.synthetic.defects import paint_defect, sample_defect
from ml.synthetic.painters import Canvas
from ml.synthetic.parts import sample_parts

# Share of the width and height kept clear at the edges of a frame, where rails and the
# bed's border usually are.
_BED_MARGIN = (0.12, 0.05)
_PART_LEVEL = 25.0  # grey levels; only used by painters that brighten a part


def frame_bed(size: int) -> tuple[int, int, int, int]:
    mx, my = int(_BED_MARGIN[0] * size), int(_BED_MARGIN[1] * size)
    return mx, my, size - mx, size - my


def paint_on_frame(
    frame: np.ndarray, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return (frame with one defect of `kind`, its bool mask); frame is float32 (H, W) in [0, 1]."""
    size = frame.shape[0]
    scene = frame.astype(np.float32) * 255.0
    grain = scene - ndimage.gaussian_filter(scene, 1.5)
    bed = frame_bed(size)
    parts = sample_parts(rng, bed)
    canvas = Canvas(scene, grain, np.zeros_like(scene), bed, _PART_LEVEL)
    spec = sample_defect(rng, kind, size=size, bed=bed, parts=parts)
    mask = paint_defect(canvas, spec)
    return np.clip(canvas.scene / 255.0, 0.0, 1.0).astype(np.float32), mask
