"""Per-pixel residuals and the pieces around them: photometric normalisation, benign
augmentation, synthetic corruption for denoising training, and local scores.

All functions take and return float32 arrays of preprocessed (n, 256, 256) images.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

# After normalisation the median sits at 0.5 and one robust standard deviation spans this much.
_SPREAD = 0.12


def normalise_photometric(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undo a global exposure change (gain and offset): robust per-image standardisation.

    Returns (normalised images in [0, 1], centre (n,), scale (n,)) so that
    image ~= centre + (normalised - 0.5) * scale / _SPREAD.
    """
    flat = images.reshape(len(images), -1)
    low, centre, high = np.percentile(flat, (25, 50, 75), axis=1)
    scale = np.maximum((high - low) / 1.349, 1e-3)
    normalised = 0.5 + _SPREAD * (images - centre[:, None, None]) / scale[:, None, None]
    return np.clip(normalised, 0.0, 1.0).astype(np.float32), centre, scale


def denormalise(normalised: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    images = centre[:, None, None] + (normalised - 0.5) * scale[:, None, None] / _SPREAD
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def augment_benign(images: np.ndarray, rng: np.random.Generator, max_shift: float = 3.0) -> np.ndarray:
    """Harmless changes a good layer may show: exposure gain/offset, sensor noise, camera shift."""
    out = np.empty_like(images)
    for i, image in enumerate(images):
        # Whole pixels: interpolating a sub-pixel shift would blur the grain, and a model that
        # learned its residual statistics on blurred layers over-reacts to sharp real ones.
        shift = np.round(rng.uniform(-max_shift, max_shift, 2))
        moved = ndimage.shift(image, shift, order=0, mode="nearest")
        gain, offset = rng.uniform(0.85, 1.15), rng.uniform(-0.05, 0.05)
        noise = rng.standard_normal(image.shape).astype(np.float32) * rng.uniform(0, 0.012)
        out[i] = np.clip(gain * moved + offset + noise, 0.0, 1.0)
    return out


def corrupt(images: np.ndarray, rng: np.random.Generator, probability: float = 0.6) -> np.ndarray:
    """Paint generic local anomalies (lines, blobs, pasted patches) on normalised images.

    Training the autoencoder to map these back to the clean image teaches it to remove local
    anomalies instead of copying them, so they stand out in the residual. The shapes are
    deliberately generic, not copies of any defect kind we test on.
    """
    out = images.copy()
    size = images.shape[1]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for image in out:
        if rng.random() > probability:
            continue
        for _ in range(int(rng.integers(1, 4))):
            kind = rng.integers(3)
            contrast = rng.choice((-1, 1)) * np.exp(rng.uniform(np.log(0.03), np.log(0.3)))
            if kind == 0:  # a line segment
                x0, y0 = rng.uniform(0, size, 2)
                angle, length = rng.uniform(0, np.pi), rng.uniform(10, size)
                dx, dy = np.cos(angle), np.sin(angle)
                along = (xx - x0) * dx + (yy - y0) * dy
                across = np.abs(-(xx - x0) * dy + (yy - y0) * dx)
                width = rng.uniform(0.5, 2.5)
                shape = np.exp(-0.5 * (across / width) ** 2) * (along > 0) * (along < length)
                image += contrast * shape
            elif kind == 1:  # a blob or a cluster of dots
                cx, cy = rng.uniform(0, size, 2)
                radius = rng.uniform(1.5, 14)
                shape = np.exp(-0.5 * ((xx - cx) ** 2 + (yy - cy) ** 2) / radius**2)
                image += contrast * shape
            else:  # a patch of the same image pasted elsewhere
                h, w = rng.integers(8, 48, 2)
                sy, sx = rng.integers(0, size - h), rng.integers(0, size - w)
                ty, tx = rng.integers(0, size - h), rng.integers(0, size - w)
                image[ty : ty + h, tx : tx + w] = image[sy : sy + h, sx : sx + w].copy()
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def shift_tolerant_residual(
    images: np.ndarray, reconstructions: np.ndarray, tolerance: int = 1
) -> np.ndarray:
    """Signed image - reconstruction, forgiving a misalignment of up to `tolerance` pixels.

    A pixel only counts as far as it lies outside the range the reconstruction takes within
    its (2 * tolerance + 1)^2 neighbourhood, so sharp edges that moved a pixel do not light up.
    The sign is kept so that smoothing averages random grain away while a defect, which is
    darker or brighter than the powder around it, survives.
    """
    if tolerance <= 0:
        return (images - reconstructions).astype(np.float32)
    size = (1, 2 * tolerance + 1, 2 * tolerance + 1)
    upper = ndimage.maximum_filter(reconstructions, size=size, mode="nearest")
    lower = ndimage.minimum_filter(reconstructions, size=size, mode="nearest")
    return (np.maximum(images - upper, 0.0) - np.maximum(lower - images, 0.0)).astype(np.float32)


def confirmed_by_median(images: np.ndarray, residual: np.ndarray, radius: float) -> np.ndarray:
    """Keep the residual only as far as the pixel also stands out from its surroundings.

    An autoencoder trained on a machine's past jobs reconstructs the parts of a new job poorly
    (it dims and blurs cross-sections it has never seen), so its residual alone lights up every
    new layout. The median of the pixels on a ring of `radius` px around each pixel keeps step
    edges and regions wider than the ring, whatever their shape, and leaves out what is smaller:
    lines, spots, pits, rims. (A ring, not a disc, so that a flat spot nearly as wide as the
    ring is not its own reference.) A pixel counts where both references agree it is off, in
    the same direction, by the smaller of the two amounts.
    """
    local = images - ring_median(images, radius)
    agree = np.sign(local) == np.sign(residual)
    confirmed = np.sign(residual) * np.minimum(np.abs(residual), np.abs(local))
    return np.where(agree, confirmed, 0.0).astype(np.float32)


def ring_median(images: np.ndarray, radius: float, max_radius: float = 6.0) -> np.ndarray:
    """The median of a ring of `radius` px around each pixel of (n, H, W) images.

    A wide ring is taken on the layer averaged down by a whole factor that brings it within
    `max_radius` px, then brought back up: the reference only has to keep what is wider than the
    ring, and a median over a ring of hundreds of pixels at full resolution is slow.
    """
    factor = max(1, int(np.ceil(radius / max_radius)))
    if factor == 1 or images.shape[-1] % factor or images.shape[-2] % factor:
        return ndimage.median_filter(images, footprint=_ring(radius)[np.newaxis], mode="nearest")
    coarse = average_down(images, factor)
    reference = ndimage.median_filter(coarse, footprint=_ring(radius / factor)[np.newaxis], mode="nearest")
    return bring_up(reference, factor)


def average_down(maps: np.ndarray, factor: int) -> np.ndarray:
    """(c, H, W) maps averaged over factor x factor blocks; H and W must be multiples of factor."""
    c, height, width = maps.shape
    return maps.reshape(c, height // factor, factor, width // factor, factor).mean(axis=(2, 4)).astype(np.float32)


def bring_up(maps: np.ndarray, factor: float) -> np.ndarray:
    """(c, h, w) smooth maps brought up `factor` times, bilinear, pixel centres aligned."""
    if factor == 1:
        return maps.astype(np.float32, copy=False)
    return ndimage.zoom(maps, (1, factor, factor), order=1, mode="nearest", grid_mode=True).astype(np.float32)


def _ring(radius: float) -> np.ndarray:
    reach = int(np.ceil(radius + 0.5))
    yy, xx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    distance = np.hypot(yy, xx)
    return (distance >= radius - 0.5) & (distance < radius + 0.5)


def multiscale_magnitude(residual: np.ndarray, scales: list[list[float]]) -> np.ndarray:
    """|Smoothed signed residual| at each (sigma_across, sigma_along, angle in degrees) scale.

    Returns (scales, n, H, W). Round scales (equal sigmas) catch spots and patches; elongated
    ones catch the faint lines a recoater or a scratch leaves, which round smoothing dilutes.
    """
    return np.stack([np.abs(oriented_smooth(residual, *scale)) for scale in scales])


def oriented_smooth(
    maps: np.ndarray, sigma_across: float, sigma_along: float, angle: float
) -> np.ndarray:
    """Smooth (n, H, W) maps with a Gaussian elongated along `angle` (0 = along x)."""
    if sigma_across == sigma_along or angle % 180 in (0, 90):
        vertical = angle % 180 == 90
        sigma_y, sigma_x = (sigma_along, sigma_across) if vertical else (sigma_across, sigma_along)
        return smooth(maps, (sigma_y, sigma_x))
    radius = int(np.ceil(3 * sigma_along))
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    theta = np.radians(angle)
    along = xx * np.cos(theta) + yy * np.sin(theta)
    across = -xx * np.sin(theta) + yy * np.cos(theta)
    kernel = np.exp(-0.5 * ((along / sigma_along) ** 2 + (across / sigma_across) ** 2))
    kernel /= kernel.sum()
    padded = np.pad(maps, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
    out = signal.fftconvolve(padded, kernel[np.newaxis].astype(np.float32), mode="valid", axes=(1, 2))
    return out.astype(np.float32)


def smooth(maps: np.ndarray, sigma: float | list[float]) -> np.ndarray:
    """Gaussian smoothing of each (H, W) map; sigma is one value or (sigma_y, sigma_x)."""
    sigma_y, sigma_x = (sigma, sigma) if np.isscalar(sigma) else sigma
    return ndimage.gaussian_filter(
        maps, sigma=(0, float(sigma_y), float(sigma_x)), mode="nearest"
    ).astype(np.float32)


def smooth_wide(maps: np.ndarray, sigma: float, min_sigma: float = 4.0) -> np.ndarray:
    """`smooth` for a wide sigma, worked out on (n, H, W) maps averaged down by a whole factor that
    leaves at least `min_sigma` px, then brought back up: the same smooth result, many times faster."""
    factor = int(sigma // min_sigma)
    if factor < 2 or maps.shape[-1] % factor or maps.shape[-2] % factor:
        return smooth(maps, sigma)
    return bring_up(smooth(average_down(maps, factor), sigma / factor), factor)


def top_mean(maps: np.ndarray, fraction: float) -> np.ndarray:
    """Mean of the highest `fraction` of each map's pixels (fraction 0 means the maximum)."""
    flat = maps.reshape(len(maps), -1)
    k = max(1, int(round(fraction * flat.shape[1])))
    return np.partition(flat, flat.shape[1] - k, axis=1)[:, -k:].mean(axis=1).astype(np.float64)
