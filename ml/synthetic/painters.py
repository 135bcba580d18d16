"""Painters for the synthetic defects: each adds its defect to the scene and marks its mask."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.synthetic.parts import Part, part_distance, signed_distance

Point = tuple[float, float] | list[float]


@dataclass
class Canvas:
    """One layer's scene before camera effects, in grey levels; painted in place."""

    scene: np.ndarray
    grain: np.ndarray  # the powder's granular texture, already part of scene
    coverage: np.ndarray  # melted-part coverage, 0..1
    bed: tuple[int, int, int, int]  # x0, y0, x1, y1 of the powder area
    part_level: float

    @property
    def size(self) -> int:
        return self.scene.shape[0]


def _grid(rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[rows, cols]
    return xx.astype(np.float32), yy.astype(np.float32)


def _window(
    size: int, x_low: float, x_high: float, y_low: float, y_high: float
) -> tuple[slice, slice]:
    rows = slice(max(int(y_low), 0), min(int(np.ceil(y_high)) + 1, size))
    cols = slice(max(int(x_low), 0), min(int(np.ceil(x_high)) + 1, size))
    return rows, cols


def _paint_streak(
    canvas: Canvas,
    mask: np.ndarray,
    *,
    y: float,
    slope: float,
    sigma: float,
    contrast: float,
    x_start: float,
    ripple: list[float],
) -> None:
    x0, y0, x1, y1 = canvas.bed
    centre_x = (x0 + x1) / 2
    reach = abs(slope) * (x1 - x0) / 2 + 4 * sigma + 2
    rows, cols = _window(canvas.size, x_start, x1, y - reach, y + reach)
    xx, yy = _grid(rows, cols)
    distance = (yy - y - slope * (xx - centre_x)) / np.sqrt(1 + slope**2)
    t = (xx - x0) / max(x1 - x0, 1)
    # Blade damage does not mark evenly: the band's strength ripples along its length.
    along = 1 + sum(a * np.sin(2 * np.pi * (i + 1) * t) for i, a in enumerate(ripple))
    canvas.scene[rows, cols] += contrast * along * np.exp(-0.5 * (distance / sigma) ** 2)
    mask[rows, cols] |= np.abs(distance) <= max(1.5 * sigma, 0.75)


def _paint_scratch(
    canvas: Canvas, mask: np.ndarray, *, start: Point, end: Point, sigma: float, contrast: float
) -> None:
    (sx, sy), (ex, ey) = start, end
    pad = 4 * sigma + 2
    rows, cols = _window(
        canvas.size, min(sx, ex) - pad, max(sx, ex) + pad, min(sy, ey) - pad, max(sy, ey) + pad
    )
    xx, yy = _grid(rows, cols)
    dx, dy = ex - sx, ey - sy
    t = np.clip(((xx - sx) * dx + (yy - sy) * dy) / max(dx * dx + dy * dy, 1e-6), 0, 1)
    distance = np.hypot(xx - sx - t * dx, yy - sy - t * dy)
    # Dark groove with a faint bright shoulder of displaced powder.
    groove = np.exp(-0.5 * (distance / sigma) ** 2)
    shoulder = 0.25 * np.exp(-0.5 * ((distance - 2 * sigma) / sigma) ** 2)
    canvas.scene[rows, cols] += contrast * (groove - shoulder)
    mask[rows, cols] |= distance <= max(1.5 * sigma, 0.75)


def _paint_spatter(
    canvas: Canvas,
    mask: np.ndarray,
    *,
    centres: list[Point],
    radii: list[float],
    contrasts: list[float],
) -> None:
    for (cx, cy), radius, contrast in zip(centres, radii, contrasts, strict=True):
        rows, cols = _window(
            canvas.size, cx - radius - 2, cx + radius + 2, cy - radius - 2, cy + radius + 2
        )
        xx, yy = _grid(rows, cols)
        distance = np.hypot(xx - cx, yy - cy)
        canvas.scene[rows, cols] += contrast * np.clip(radius + 0.5 - distance, 0, 1)
        mask[rows, cols] |= distance <= radius + 0.5


def _paint_pit(
    canvas: Canvas,
    mask: np.ndarray,
    *,
    centres: list[Point],
    radii: list[float],
    depths: list[float],
    light: float,
) -> None:
    for (cx, cy), radius, depth in zip(centres, radii, depths, strict=True):
        pad = radius + 3
        rows, cols = _window(canvas.size, cx - pad, cx + pad, cy - pad, cy + pad)
        xx, yy = _grid(rows, cols)
        distance = np.hypot(xx - cx, yy - cy)
        bowl = np.clip(1 - (distance / radius) ** 2, 0, 1)
        # The rim facing the light catches it; the rest of the depression is in shade.
        facing = np.maximum(np.cos(np.arctan2(yy - cy, xx - cx) - light), 0)
        rim = 0.35 * facing * np.exp(-0.5 * ((distance - radius) / 0.8) ** 2)
        canvas.scene[rows, cols] += depth * (rim - bowl)
        mask[rows, cols] |= distance <= radius


def _paint_short_feed(
    canvas: Canvas,
    mask: np.ndarray,
    *,
    width: float,
    waves: list[tuple[float, float, float]],
    rows: tuple[float, float],
    darkness: float,
    grain_kept: float,
    part_boost: float,
    ridge: float,
) -> None:
    x0, y0, x1, y1 = canvas.bed
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    v = (yy - y0) / max(y1 - y0, 1)
    wave = sum(a * np.sin(2 * np.pi * f * v + p) for a, f, p in waves)
    y_low, y_high = rows
    ramp = 0.1 * (y1 - y0)
    # sqrt rounds the ends of a partial short feed instead of cutting a straight wedge.
    taper = np.sqrt(np.clip(np.minimum(yy - y_low, y_high - yy) / ramp, 0, 1))
    boundary = x1 - width * taper * (1 + wave)
    bare = np.clip(xx - boundary + 0.5, 0, 1) * (taper > 0)
    region = (slice(y0, y1), slice(x0, x1))
    canvas.scene[region] += bare * (
        -darkness
        - (1 - grain_kept) * canvas.grain[region]  # no fresh powder: smoother surface
        + part_boost * canvas.part_level * canvas.coverage[region]  # last layer's parts show
    )
    # The powder that did arrive piles up into a faint bright ridge at the boundary.
    canvas.scene[region] += ridge * taper * (1 - bare) * np.exp(-0.5 * ((xx - boundary) / 1.2) ** 2)
    mask[region] |= bare > 0.5


def _paint_super_elevation(
    canvas: Canvas,
    mask: np.ndarray,
    *,
    part: Part,
    sector: tuple[float, float],
    sigma: float,
    brightness: float,
    light: float,
    shadow_length: float,
    shadow: float,
) -> None:
    pad = shadow_length + 4 * sigma + 2
    (rows, cols), distance = part_distance(part, canvas.size, pad)
    xx, yy = _grid(rows, cols)
    start, extent = sector
    angle = np.mod(np.arctan2(yy - part.cy, xx - part.cx) - start, 2 * np.pi)
    raised = angle <= extent
    rim = np.exp(-0.5 * (distance / sigma) ** 2)
    # The raised edge shades the powder on the side away from the light.
    ux, uy = np.cos(light), np.sin(light)
    towards = signed_distance(part, xx + shadow_length * ux, yy + shadow_length * uy)
    shade = np.clip(towards + 0.5, 0, 1) * np.clip(-distance + 0.5, 0, 1)
    canvas.scene[rows, cols] += raised * (brightness * rim - shadow * shade)
    mask[rows, cols] |= raised & ((np.abs(distance) <= max(1.5 * sigma, 0.75)) | (shade > 0.5))


PAINTERS = {
    "streak": _paint_streak,
    "scratch": _paint_scratch,
    "spatter": _paint_spatter,
    "pit": _paint_pit,
    "short_feed": _paint_short_feed,
    "super_elevation": _paint_super_elevation,
}
