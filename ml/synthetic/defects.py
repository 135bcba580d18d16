"""Defects painted onto a synthetic powder-bed layer, each with its true pixel mask.

A defect is sampled once (`sample_defect`) and can be painted on several consecutive layers
(`paint_defect`), which is how a persistent defect stays at the same place on the bed. Sizes are
given for a 256-pixel image and scale with the image size; contrasts are in grey levels and
drawn log-uniformly, so some defects are bold and some barely visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.synthetic.painters import PAINTERS, Canvas
from ml.synthetic.parts import Part

DEFECT_KINDS = ("streak", "scratch", "spatter", "pit", "short_feed", "super_elevation")


@dataclass(frozen=True)
class DefectSpec:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _point_in_bed(
    rng: np.random.Generator, bed: tuple[int, int, int, int], margin: float
) -> tuple[float, float]:
    x0, y0, x1, y1 = bed
    x = rng.uniform(x0 + margin, x1 - margin)
    y = rng.uniform(y0 + margin, y1 - margin)
    return float(x), float(y)


def sample_defect(
    rng: np.random.Generator,
    kind: str,
    *,
    size: int,
    bed: tuple[int, int, int, int],
    parts: list[Part],
) -> DefectSpec:
    """Draw the geometry and contrast of one defect of `kind`."""
    k = size / 256
    x0, y0, x1, y1 = bed
    if kind == "streak":
        # A damaged recoater blade drags a groove or ridge along its travel (+x), across the bed.
        full = rng.random() < 0.7
        return DefectSpec(
            kind,
            {
                "y": float(rng.uniform(y0 + 4 * k, y1 - 4 * k)),
                "slope": float(np.tan(np.radians(rng.uniform(-1.5, 1.5)))),
                "sigma": float(rng.uniform(0.5, 2.0) * k),
                "contrast": _log_uniform(rng, 5, 35) * (1 if rng.random() < 0.4 else -1),
                "x_start": float(x0 if full else rng.uniform(x0, (x0 + x1) / 2)),
                "ripple": rng.uniform(-0.3, 0.3, 3).tolist(),
            },
        )
    if kind == "scratch":
        length = float(rng.uniform(0.15, 0.6) * (x1 - x0))
        angle = float(rng.uniform(0, np.pi))
        sx, sy = _point_in_bed(rng, bed, 2 * k)
        ex = float(np.clip(sx + length * np.cos(angle), x0 + k, x1 - k))
        ey = float(np.clip(sy + length * np.sin(angle), y0 + k, y1 - k))
        return DefectSpec(
            kind,
            {
                "start": (sx, sy),
                "end": (ex, ey),
                "sigma": float(rng.uniform(0.4, 1.0) * k),
                "contrast": -_log_uniform(rng, 8, 45),
            },
        )
    if kind == "spatter":
        radius = float(rng.uniform(4, 18) * k)
        cx, cy = _point_in_bed(rng, bed, radius + 3 * k)
        n = int(rng.integers(4, 26))
        bright = rng.random() < 0.65
        strength = _log_uniform(rng, 15, 70) if bright else -_log_uniform(rng, 10, 40)
        return DefectSpec(
            kind,
            {
                "centres": (np.array([cx, cy]) + rng.normal(0, radius / 2, (n, 2))).tolist(),
                "radii": (rng.uniform(0.6, 2.2, n) * k).tolist(),
                "contrasts": (strength * rng.uniform(0.6, 1.2, n)).tolist(),
            },
        )
    if kind == "pit":
        n = int(rng.integers(1, 5))
        anchor = np.array(_point_in_bed(rng, bed, 20 * k))
        spread = 12 * k if rng.random() < 0.5 else 0.3 * (x1 - x0)
        centres = np.clip(
            anchor + rng.normal(0, spread, (n, 2)),
            [x0 + 6 * k, y0 + 6 * k],
            [x1 - 6 * k, y1 - 6 * k],
        )
        return DefectSpec(
            kind,
            {
                "centres": centres.tolist(),
                "radii": (rng.uniform(1.2, 5.0, n) * k).tolist(),
                "depths": [_log_uniform(rng, 8, 35) for _ in range(n)],
                "light": float(rng.uniform(0, 2 * np.pi)),
            },
        )
    if kind == "short_feed":
        # Not enough powder was dosed: the far end of the recoater's travel (+x) stays bare.
        partial = rng.random() < 0.4
        y_low, y_high = sorted(rng.uniform(y0, y1, 2)) if partial else (y0, y1)
        return DefectSpec(
            kind,
            {
                "width": float(rng.uniform(0.08, 0.35) * (x1 - x0)),
                "waves": [
                    (
                        float(rng.uniform(0, 0.12)),
                        float(rng.uniform(0.5, 4)),
                        float(rng.uniform(0, 2 * np.pi)),
                    )
                    for _ in range(2)
                ],
                "rows": (float(y_low), float(max(y_high, y_low + 0.2 * (y1 - y0)))),
                "darkness": _log_uniform(rng, 12, 45),
                "grain_kept": float(rng.uniform(0.15, 0.5)),
                "part_boost": float(rng.uniform(0.5, 1.2)),
                "ridge": float(rng.uniform(3, 12)),
            },
        )
    if kind == "super_elevation":
        full = rng.random() < 0.4
        return DefectSpec(
            kind,
            {
                "part": parts[int(rng.integers(len(parts)))],
                "sector": (
                    float(rng.uniform(0, 2 * np.pi)),
                    2 * np.pi if full else float(rng.uniform(np.pi / 2, 3 * np.pi / 2)),
                ),
                "sigma": float(rng.uniform(0.6, 1.4) * k),
                "brightness": _log_uniform(rng, 35, 90),
                "light": float(rng.uniform(0, 2 * np.pi)),
                "shadow_length": float(rng.uniform(2, 5) * k),
                "shadow": _log_uniform(rng, 12, 35),
            },
        )
    raise ValueError(f"unknown defect kind {kind!r}; known: {', '.join(DEFECT_KINDS)}")


def paint_defect(canvas: Canvas, spec: DefectSpec) -> np.ndarray:
    """Paint the defect onto canvas.scene and return its boolean mask (inside the bed only)."""
    mask = np.zeros(canvas.scene.shape, dtype=bool)
    PAINTERS[spec.kind](canvas, mask, **spec.params)
    x0, y0, x1, y1 = canvas.bed
    inside = np.zeros_like(mask)
    inside[y0:y1, x0:x1] = True
    return mask & inside
