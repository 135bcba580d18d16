"""Melted part cross-sections for the synthetic powder bed: shapes as signed distance fields.

Everything is in pixels of the rendered image. Signed distances are positive inside a part, so
`clip(d + 0.5, 0, 1)` is an anti-aliased coverage map and `|d| < w` a rim of half-width w.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

PART_KINDS = ("circle", "rectangle", "ring", "polygon")


@dataclass(frozen=True)
class Part:
    kind: str
    cx: float
    cy: float
    radius: float  # half-extent; for a rectangle the half-width along its own u axis
    aspect: float = 1.0  # rectangle: half-height / half-width
    angle: float = 0.0  # rectangle rotation, radians
    inner: float = 0.0  # ring: inner radius as a fraction of radius
    vertices: tuple[float, ...] = ()  # polygon: vertex angles on the circumscribed circle

    def scaled(self, factor: float) -> Part:
        """The same part, grown or shrunk about its centre (cross-sections drift with height)."""
        return replace(self, radius=self.radius * factor)

    def half_extent(self) -> float:
        if self.kind == "rectangle":
            return self.radius * float(np.hypot(1.0, self.aspect))
        return self.radius


def sample_parts(rng: np.random.Generator, bed: tuple[int, int, int, int]) -> list[Part]:
    """One to four parts placed inside the bed (x0, y0, x1, y1), as a build job would nest them."""
    x0, y0, x1, y1 = bed
    span = min(x1 - x0, y1 - y0)
    parts = []
    for _ in range(int(rng.integers(1, 5))):
        kind = PART_KINDS[int(rng.integers(len(PART_KINDS)))]
        radius = float(rng.uniform(0.04, 0.15) * span)
        margin = radius * 1.5 + 0.04 * span
        cx = float(rng.uniform(x0 + margin, x1 - margin))
        cy = float(rng.uniform(y0 + margin, y1 - margin))
        if kind == "rectangle":
            aspect = float(rng.uniform(0.3, 1.0))
            parts.append(
                Part(kind, cx, cy, radius, aspect=aspect, angle=float(rng.uniform(0, np.pi)))
            )
        elif kind == "ring":
            parts.append(Part(kind, cx, cy, radius, inner=float(rng.uniform(0.4, 0.75))))
        elif kind == "polygon":
            n = int(rng.integers(3, 8))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            parts.append(Part(kind, cx, cy, radius, vertices=tuple(float(a) for a in angles)))
        else:
            parts.append(Part(kind, cx, cy, radius))
    return parts


def signed_distance(part: Part, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Signed distance to the part's outline (positive inside), exact inside, approximate at
    outer corners, which is all that anti-aliasing and rims need."""
    dx = xx - part.cx
    dy = yy - part.cy
    if part.kind == "circle":
        return part.radius - np.hypot(dx, dy)
    if part.kind == "ring":
        rho = np.hypot(dx, dy)
        return np.minimum(part.radius - rho, rho - part.inner * part.radius)
    if part.kind == "rectangle":
        cos, sin = np.cos(part.angle), np.sin(part.angle)
        u = dx * cos + dy * sin
        v = -dx * sin + dy * cos
        return np.minimum(part.radius - np.abs(u), part.radius * part.aspect - np.abs(v))
    if part.kind == "polygon":
        angles = np.asarray(part.vertices)
        px, py = part.radius * np.cos(angles), part.radius * np.sin(angles)
        distance = np.full(np.broadcast(dx, dy).shape, np.inf, dtype=np.float32)
        for i in range(len(angles)):
            ex, ey = px[(i + 1) % len(angles)] - px[i], py[(i + 1) % len(angles)] - py[i]
            nx, ny = ey, -ex
            if nx * -px[i] + ny * -py[i] < 0:  # point the normal at the centre (inside)
                nx, ny = -nx, -ny
            norm = np.hypot(nx, ny)
            distance = np.minimum(distance, ((dx - px[i]) * nx + (dy - py[i]) * ny) / norm)
        return distance
    raise ValueError(f"unknown part kind {part.kind!r}")


def part_window(part: Part, size: int, pad: float) -> tuple[slice, slice]:
    """Rows and columns that can be affected by the part, so work stays local to it."""
    reach = part.half_extent() + pad
    rows = slice(max(int(part.cy - reach), 0), min(int(part.cy + reach) + 2, size))
    cols = slice(max(int(part.cx - reach), 0), min(int(part.cx + reach) + 2, size))
    return rows, cols


def part_distance(part: Part, size: int, pad: float) -> tuple[tuple[slice, slice], np.ndarray]:
    """Signed distance inside the part's window, with the window itself."""
    rows, cols = part_window(part, size, pad)
    yy, xx = np.mgrid[rows, cols].astype(np.float32)
    return (rows, cols), signed_distance(part, xx, yy).astype(np.float32)


def render_parts(
    parts: list[Part], size: int, *, hatch_angle: float, hatch_period: float
) -> tuple[np.ndarray, np.ndarray]:
    """Coverage (0..1) of all parts and a laser-hatch pattern (-1..1) valid where covered.

    The scan direction rotates every layer (67 degrees is a common strategy), which is one of
    the benign layer-to-layer changes a model must tolerate.
    """
    coverage = np.zeros((size, size), dtype=np.float32)
    hatch = np.zeros((size, size), dtype=np.float32)
    cos, sin = np.cos(hatch_angle), np.sin(hatch_angle)
    for part in parts:
        (rows, cols), distance = part_distance(part, size, pad=2.0)
        coverage[rows, cols] = np.maximum(coverage[rows, cols], np.clip(distance + 0.5, 0, 1))
        yy, xx = np.mgrid[rows, cols].astype(np.float32)
        hatch[rows, cols] = np.sin((xx * cos + yy * sin) * (2 * np.pi / hatch_period))
    return coverage, hatch


def part_labels(parts: list[Part], ids: list[int], size: int) -> np.ndarray:
    """The label image a printer knows from its slices: 0 for powder, `ids[i]` where part i is
    melted (more than half covered), later parts on top. uint8, or uint16 past 255."""
    dtype = np.uint8 if max(ids, default=0) <= 255 else np.uint16
    labels = np.zeros((size, size), dtype=dtype)
    for part, part_id in zip(parts, ids, strict=True):
        (rows, cols), distance = part_distance(part, size, pad=1.0)
        labels[rows, cols] = np.where(distance > 0, part_id, labels[rows, cols])
    return labels
