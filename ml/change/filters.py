"""The change channel's matched filters: spots, blobs and lines, each map in robust standard deviations of itself."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft, ndimage

from ml.change.margins import MARGIN

_LINE_ANGLES = tuple(range(0, 180, 15))  # a line 8 px long, 1 px wide, is lost at 15 degrees off
# Thin lines, half a pixel across, are lost 3 degrees off at this length: so every 6 degrees.
_THIN_LINE_ANGLES = tuple(range(0, 180, 6))
# (sigma_across, sigma_along, angle in degrees, surround): spots and blobs, then short and long
# lines, each a Gaussian; then thin lines whose profile across is a Gaussian less a wider one of
# the same area (sigma `surround`), so it sums to zero across the line. The powder grain is
# correlated over a pixel or two and a faint groove half a pixel wide is not: a plain filter
# averages as much grain as groove, the zero-sum profile cancels the grain.
FILTERS = (
    (1, 1, 0, None),
    (2, 2, 0, None),
    (4, 4, 0, None),
    (8, 8, 0, None),
    *((1, 8, angle, None) for angle in _LINE_ANGLES),
    *((1, 24, angle, None) for angle in _LINE_ANGLES),
    *((0.5, 12, angle, 1.5) for angle in _THIN_LINE_ANGLES),
)
# The thin lines are blind within GATE_REACH px of an edge whose gradient is _GATE_STRENGTH robust
# standard deviations over the bed's typical one (see beside_strong_edges): a straight part edge
# whose sharpness changed looks like a scratch to them.
_GATE_STRENGTH, GATE_REACH = 6.0, 2
_PAD = 16
_SPREAD_STRIDE = 4  # every 4th pixel each way estimates a filtered map's spread as well as all do


def beside_strong_edges(gradient: np.ndarray) -> np.ndarray:
    """Where the thin lines do not look: within GATE_REACH px of the references' strong edges.

    A photo's sharpness differs a little from layer to layer (a camera shift by a fraction of a
    pixel interpolates it, and so does lining the layers up), so along a straight part edge the
    recent layers' mean and the references' differ by a profile a pixel wide that runs the
    length of the edge: to a thin line filter, a scratch. The rest of the filters still look there.
    """
    centre = np.median(gradient)
    spread = 1.4826 * np.median(np.abs(gradient - centre))
    return ndimage.binary_dilation(gradient > centre + _GATE_STRENGTH * spread, iterations=GATE_REACH)


def filtered_peaks(maps: np.ndarray, beside_edges: np.ndarray) -> np.ndarray:
    """(n, H, W) maps -> (n, H, W): at each pixel, the highest response of any of FILTERS, each
    filtered map in robust standard deviations of itself (the grain is correlated, and each filter
    averages it differently); the thin lines' not where `beside_edges` (n, H, W) is set. One
    filter at a time: all of them at once would hold dozens of full maps per lag, which is slower
    than the filtering itself."""
    spectra = _spectra(maps)
    peaks = np.zeros(maps.shape, dtype=np.float32)
    thin_peaks = np.zeros(maps.shape, dtype=np.float32)
    for (_, _, _, surround), kernel in zip(FILTERS, _kernel_spectra(_padded_shape(maps.shape[1:])), strict=True):
        filtered = _inverse(spectra * kernel)
        sample = filtered[:, MARGIN:-MARGIN:_SPREAD_STRIDE, MARGIN:-MARGIN:_SPREAD_STRIDE].reshape(len(maps), -1)
        centre = np.median(sample, axis=1)[:, None, None]
        spread = 1.4826 * np.median(np.abs(sample - centre[:, :, 0]), axis=1)[:, None, None] + 1e-6
        filtered -= centre
        np.abs(filtered, out=filtered)
        filtered /= spread
        running = peaks if surround is None else thin_peaks
        np.maximum(running, filtered, out=running)
    thin_peaks[beside_edges] = 0
    return np.maximum(peaks, thin_peaks, out=peaks)


def _padded_shape(shape: tuple[int, int]) -> tuple[int, int]:
    return shape[0] + 2 * _PAD, shape[1] + 2 * _PAD


def _spectra(maps: np.ndarray) -> np.ndarray:
    padded = np.pad(maps, ((0, 0), (_PAD, _PAD), (_PAD, _PAD)), mode="reflect")
    return fft.rfft2(padded, workers=-1)


def _inverse(spectra: np.ndarray) -> np.ndarray:
    """Back from _spectra's frequency domain to (..., H, W) maps, padding removed."""
    height = spectra.shape[-2]
    width = 2 * (spectra.shape[-1] - 1)
    out = fft.irfft2(spectra, s=(height, width), workers=-1)
    return out[..., _PAD:-_PAD, _PAD:-_PAD].astype(np.float32)


@lru_cache(maxsize=4)
def _kernel_spectra(shape: tuple[int, int]) -> np.ndarray:
    spectra = []
    for sigma_across, sigma_along, angle, surround in FILTERS:
        radius = int(np.ceil(3 * max(sigma_across, sigma_along)))
        yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
        theta = np.radians(angle)
        along = xx * np.cos(theta) + yy * np.sin(theta)
        across = -xx * np.sin(theta) + yy * np.cos(theta)
        profile = np.exp(-0.5 * (across / sigma_across) ** 2)
        if surround is not None:
            profile -= sigma_across / surround * np.exp(-0.5 * (across / surround) ** 2)
        kernel = np.exp(-0.5 * (along / sigma_along) ** 2) * profile
        full = np.zeros(shape)
        # Each filtered map is taken in standard deviations of itself, so the kernel's scale is
        # free: unit energy, since a zero-sum kernel has no sum to divide by.
        full[: 2 * radius + 1, : 2 * radius + 1] = kernel / np.sqrt(np.sum(kernel**2))
        spectra.append(fft.rfft2(np.roll(full, (-radius, -radius), axis=(0, 1))))
    return np.stack(spectra).astype(np.complex64)
