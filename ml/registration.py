"""Camera shift between two photos of the same bed: phase correlation, then least-squares refinement.

Each layer is freshly recoated, so the powder grain is new on every photo and only the fixed bed
(rails, lighting) and the parts line two photos up. Full whitening lets that new grain decide
the peak, and far-off peaks can win; so the spectrum is only half whitened, the peak is searched
within `max_shift` px (a camera moves a few pixels between layers, not tens) and then refined to a
fraction of a pixel by Gauss-Newton on blurred copies, where the grain no longer dominates.

numpy and scipy only.
"""

from __future__ import annotations

import numpy as np
from scipy import fft, ndimage

MAX_SHIFT = 8  # px searched each way: a camera that moved more was remounted, not shaken
_BLUR = 2.5  # px; blurs the grain away before the refinement (1.0 and 4.0 were less accurate)
_MARGIN = 12  # px left out of the refinement: the image border is padded, not seen
_ITERATIONS = 8


def estimate_shift(reference: np.ndarray, moving: np.ndarray, *, max_shift: int = MAX_SHIFT) -> tuple[float, float]:
    """(dy, dx) such that ndimage.shift(moving, (dy, dx)) lines up with reference."""
    return estimate_shifts(reference, [moving], max_shift=max_shift)[0]


def estimate_shifts(
    reference: np.ndarray, movings: list[np.ndarray], *, max_shift: int = MAX_SHIFT
) -> list[tuple[float, float]]:
    """estimate_shift of each of `movings` against one reference, which is prepared only once."""
    a = _prepared(reference)
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1])).astype(np.float32)
    spectrum = fft.rfft2((a - a.mean()) * window)
    return [_refined_shift(a, spectrum, window, _prepared(moving), max_shift) for moving in movings]


def _prepared(image: np.ndarray) -> np.ndarray:
    # At half resolution: blurred this much, the frames lose nothing by it, and it is 4x cheaper.
    return _half(ndimage.gaussian_filter(np.asarray(image, dtype=np.float32), _BLUR))


def _refined_shift(
    a: np.ndarray, spectrum: np.ndarray, window: np.ndarray, b: np.ndarray, max_shift: int
) -> tuple[float, float]:
    shift = _coarse_shift(spectrum, window, b, (max_shift + 1) // 2)
    inner = (slice(_MARGIN // 2, -_MARGIN // 2), slice(_MARGIN // 2, -_MARGIN // 2))
    for _ in range(_ITERATIONS):
        moved = ndimage.shift(b, shift, order=1, mode="nearest")
        gy, gx = (g[inner] for g in np.gradient(moved))
        residual = (a - moved)[inner]
        hessian = np.array([[np.sum(gy * gy), np.sum(gy * gx)], [np.sum(gx * gy), np.sum(gx * gx)]])
        if abs(np.linalg.det(hessian)) < 1e-9:
            break  # a featureless image: keep the coarse estimate
        # moved(p) = b(p - s), so a ~ moved - grad(moved) . ds
        step = -np.linalg.solve(hessian, [np.sum(gy * residual), np.sum(gx * residual)])
        shift = shift + np.clip(step, -1.0, 1.0)
        if np.hypot(*step) < 0.01:
            break
    shift = np.clip(2 * shift, -max_shift, max_shift)
    return float(shift[0]), float(shift[1])


def _half(image: np.ndarray) -> np.ndarray:
    height, width = (n // 2 * 2 for n in image.shape)
    return image[:height, :width].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))


def _coarse_shift(spectrum: np.ndarray, window: np.ndarray, moving: np.ndarray, max_shift: int) -> np.ndarray:
    """The whole-pixel shift at the peak of the half-whitened cross-correlation, within max_shift.
    `spectrum`: the windowed reference's, from estimate_shifts."""
    height, width = moving.shape
    cross = spectrum * np.conj(fft.rfft2((moving - moving.mean()) * window))
    cross /= np.sqrt(np.maximum(np.abs(cross), 1e-12))
    surface = np.fft.fftshift(fft.irfft2(cross, s=moving.shape))
    reach = min(max_shift, height // 2 - 1, width // 2 - 1)
    cy, cx = height // 2, width // 2
    window_peak = surface[cy - reach : cy + reach + 1, cx - reach : cx + reach + 1]
    py, px = np.unravel_index(int(np.argmax(window_peak)), window_peak.shape)
    return np.array([py - reach, px - reach], dtype=np.float64)
