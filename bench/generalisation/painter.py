"""A second defect painter and camera drift, written from the literature's descriptions alone.

It shares no code with what the scorers train with (ml.residuals, ml.synthetic): a scorer tuned
against its own painted defects is not tested by them. Defect classes follow Scime and Beuth
(2018) and the PBLM dataset: recoater streaks, spatter, pits, incomplete spreading (short feed)
and super-elevated part edges. Frames are uint8 (H, W) photos of the whole bed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

KINDS = ("streak", "spatter", "pit", "short_feed", "super_elevation")


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)


def _apply(frame: np.ndarray, delta: np.ndarray) -> np.ndarray:
    return np.clip(frame.astype(np.float32) + delta, 0, 255).astype(np.uint8)


def streak(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A recoater streak: a thin line along the recoater's travel, lighter or darker, over part of the bed."""
    h, w = frame.shape
    rows, cols = _grid(frame.shape)
    vertical = rng.random() < 0.5
    position = rng.uniform(0.15, 0.85) * (w if vertical else h)
    across = (cols if vertical else rows) - position
    along = rows if vertical else cols
    start = rng.uniform(0.0, 0.4) * (h if vertical else w)
    length = rng.uniform(0.3, 0.6) * (h if vertical else w)
    width = rng.uniform(1.5, 3.5) * w / 1024
    inside = np.clip(np.minimum(along - start, start + length - along) / 8.0, 0, 1)
    profile = np.exp(-0.5 * (across / width) ** 2) * inside
    contrast = rng.uniform(6, 14) * rng.choice([-1.0, 1.0])
    return _apply(frame, contrast * profile)


def spatter(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Spatter or debris: a cluster of small bright particles resting on the powder."""
    h, w = frame.shape
    rows, cols = _grid(frame.shape)
    centre = rng.uniform(0.15, 0.85, 2) * (h, w)
    delta = np.zeros(frame.shape, np.float32)
    for _ in range(rng.integers(2, 7)):
        y, x = centre + rng.normal(0, 0.03 * w, 2)
        radius = rng.uniform(1.5, 4.0) * w / 1024
        delta += rng.uniform(18, 40) * np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * radius**2))
    return _apply(frame, delta)


def pit(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A pit: a small round depression, shadowed on the side away from the light, lit on the other."""
    h, w = frame.shape
    rows, cols = _grid(frame.shape)
    y, x = rng.uniform(0.15, 0.85, 2) * (h, w)
    radius = rng.uniform(4, 8) * w / 1024
    r2 = ((rows - y) ** 2 + (cols - x) ** 2) / radius**2
    bowl = -rng.uniform(12, 25) * np.exp(-r2)
    rim = rng.uniform(6, 12) * np.exp(-(((rows - y + 0.8 * radius) ** 2 + (cols - x) ** 2) / (0.5 * radius) ** 2))
    return _apply(frame, bowl + rim)


def short_feed(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Incomplete spreading: the far end of the bed left short of powder, darker and smoother,
    with a ragged front."""
    h, w = frame.shape
    rows, _ = _grid(frame.shape)
    depth = rng.uniform(0.03, 0.10) * h
    front = depth + ndimage.gaussian_filter1d(rng.normal(0, 0.02 * h, w), 6 * w / 1024)
    covered = np.clip((front[None, :] - rows) / (3 * w / 1024), 0, 1)
    smooth = ndimage.gaussian_filter(frame.astype(np.float32), 2.0 * w / 1024)
    darker = smooth * rng.uniform(0.8, 0.9) - frame.astype(np.float32)
    return _apply(frame, covered * darker)


def super_elevation(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A super-elevated edge: a ridge standing out of the powder, bright on top with a shadow beside it."""
    h, w = frame.shape
    rows, cols = _grid(frame.shape)
    y, x = rng.uniform(0.2, 0.8, 2) * (h, w)
    angle = rng.uniform(0, np.pi)
    u = (cols - x) * np.cos(angle) + (rows - y) * np.sin(angle)
    v = -(cols - x) * np.sin(angle) + (rows - y) * np.cos(angle)
    half_length, half_width = rng.uniform(12, 30) * w / 1024, rng.uniform(2, 4) * w / 1024
    ridge = np.exp(-0.5 * ((u / half_length) ** 4 + (v / half_width) ** 2))
    shadow = np.exp(-0.5 * ((u / half_length) ** 4 + ((v - 2.5 * half_width) / half_width) ** 2))
    return _apply(frame, rng.uniform(18, 35) * ridge - rng.uniform(8, 16) * shadow)


PAINTERS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "streak": streak,
    "spatter": spatter,
    "pit": pit,
    "short_feed": short_feed,
    "super_elevation": super_elevation,
}


def camera_drift(frame: np.ndarray, t: float, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """What a fixed camera sees change over a build at time t in [0, 1]: exposure, gamma and
    lighting that wander, focus that softens, a mount that settles a few pixels, and sensor noise
    that grows as the sensor warms. `strength` scales every change."""
    h, w = frame.shape
    rows, cols = _grid(frame.shape)
    t_s = t * strength
    gain = 1.0 + 0.2 * strength * np.sin(2 * np.pi * (0.7 * t + rng.uniform(-0.03, 0.03)))
    offset = 12.0 * t_s + rng.normal(0, 2.0)
    gamma = 1.0 + 0.15 * t_s * np.sin(5 * t)
    tilt = 0.12 * t_s * ((cols / w - 0.5) * np.cos(3 * t) + (rows / h - 0.5) * np.sin(3 * t))
    pixels = ndimage.shift(frame.astype(np.float32), (3.0 * t_s + rng.normal(0, 0.8), -3.5 * t_s + rng.normal(0, 0.8)),
                           order=1, mode="nearest")
    pixels = ndimage.gaussian_filter(pixels, 0.3 + 0.6 * t_s * rng.random())
    pixels = 255.0 * (np.clip(pixels, 0, 255) / 255.0) ** gamma
    noisy = pixels * gain * (1 + tilt) + offset + rng.normal(0, 2.5 + 1.5 * t_s, frame.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)
