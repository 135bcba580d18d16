"""The alert rules' change channel: what a layer shows that the same part layout's previous layers did not.

The autoencoder judges a layer by what the machine's earlier jobs looked like, and a part it
never saw (a new job's layout) can look as odd to it as a faint defect. Within one layout a
layer should match the layers just before it, up to fresh powder grain, a camera shift and the
parts growing a little. So each layer is lined up with the layout's previous layers
(ml.registration), and the difference is measured:

1. less what a part edge moving EDGE_SHIFT px could explain (growth, registration error);
2. in standard deviations of what the reference layers varied by among themselves at that pixel,
   so edges that jitter and rotating hatch inside the parts set their own noise;
3. smoothed by matched filters: spots and blobs, and short and long lines every 15 degrees;
4. each filtered map in robust standard deviations of itself (the grain is correlated, and each
   filter averages it differently); the score is the mean of the top TOP_FRACTION of the highest
   filter response at each pixel.

A defect that appears on layer t and persists is seen best by averaging the layers since t: the
score is the highest over lags j of the last j layers' mean against the MAX_REFERENCES layers
before them, so it grows over a defect's first layers. A layout change (the parts changed, see
same_parts, or a new layout the printer stated) starts over: the channel then waits MIN_REFERENCES
layers.

numpy and scipy only; images are preprocessed (H, W) float32 layers of one job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

import numpy as np
from scipy import fft, ndimage

from ml.calibration import calibrate_gumbel_tail
from ml.registration import estimate_shifts
from ml.residuals import top_mean
from ml.sequence import unbroken_run

LAGS = (1, 2, 3, 4)
MIN_REFERENCES = 2  # fewer previous layers of the layout than this and a lag is not scored
MAX_REFERENCES = 5
DEPTH = max(LAGS) - 1 + MAX_REFERENCES  # previous layers a layer is compared with
_LINE_ANGLES = tuple(range(0, 180, 15))  # a line 8 px long, 1 px wide, is lost at 15 degrees off
# (sigma_across, sigma_along, angle in degrees): spots and blobs, then short and long lines.
FILTERS = (
    (1, 1, 0),
    (2, 2, 0),
    (4, 4, 0),
    (8, 8, 0),
    *((1, 8, angle) for angle in _LINE_ANGLES),
    *((1, 24, angle) for angle in _LINE_ANGLES),
)
TOP_FRACTION = 0.0003
# px an edge may move between the reference layers and the recent ones: parts grow by up to a
# quarter of a pixel per layer on synthetic machines, and registration is good to about 0.3 px.
EDGE_SHIFT = 1.5
# px at the border left out: more than a camera shakes between layers. On the real PBLM frames, 4 px
# beyond the largest shift let the walls beside the bed raise good frames' scores from 7-9 to 25.
_MARGIN = 10
_PAD = 16
_VARIANCE_FLOOR = 0.25  # of the median variance: a pixel quiet by chance must not explode
_MATCH_SMOOTHING, _MATCH_STRIDE, _MIN_MATCH_GAIN = 2.0, 7, 0.2  # see _photometric_match
_SPREAD_STRIDE = 4  # every 4th pixel each way estimates a filtered map's spread as well as all do
# Consecutive layers whose parts signatures correlate less than this show other parts. Measured on
# synthetic machines: 0.63 and more within a layout, 0.53 and less where the parts changed; a
# defect lowers it too (short feed most, to 0.33), and then the channel starts over.
SAME_PARTS = 0.6
_BLOCK, _SIGNATURE_MARGIN, _SIGNATURE_HIGHPASS = 8, 16, 3.0
# The channel's per-layer false-positive target. The Gumbel tail fitted to good layers' scores sits
# below what several of them reach on some machines (synthetic machine 7: heavier tails, from the
# parts' surface), so the threshold is never below the CHANGE_FLOOR_RANK-th highest good score
# either: one that three good layers passed is too low, and a defect or two among the calibration
# layers does not move it.
CHANGE_TARGET_FPR = 0.001
CHANGE_FLOOR_RANK = 3
MIN_CHANGE_SCORES = 30


def change_frame(image: np.ndarray) -> np.ndarray:
    """What a layer leaves for the layers after it: the image, robustly standardised (exposure removed)."""
    image = np.asarray(image, dtype=np.float32)
    low, centre, high = np.percentile(image, (25, 50, 75))
    return ((image - centre) / max((high - low) / 1.349, 1e-4)).astype(np.float32)


def parts_signature(images: np.ndarray) -> np.ndarray:
    """(n, H, W) images -> (n, d) unit vectors of where the parts are, lighting removed.

    8 px block means of the centre, less their own 3-block blur, so the fixed uneven lighting that
    dominates a plain thumbnail drops out and a change of small parts still shows.
    """
    inner = slice(_SIGNATURE_MARGIN, -_SIGNATURE_MARGIN)
    x = np.asarray(images, dtype=np.float32)[:, inner, inner]
    n, height, width = x.shape
    h, w = height // _BLOCK, width // _BLOCK
    blocks = x[:, : h * _BLOCK, : w * _BLOCK].reshape(n, h, _BLOCK, w, _BLOCK).mean(axis=(2, 4))
    blocks = ndimage.gaussian_filter(blocks, (0, 1, 1), mode="nearest")
    detail = blocks - ndimage.gaussian_filter(blocks, (0, _SIGNATURE_HIGHPASS, _SIGNATURE_HIGHPASS), mode="nearest")
    flat = detail.reshape(n, -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return (flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def same_parts(signature: np.ndarray, previous: np.ndarray) -> bool:
    return float(np.dot(np.asarray(signature, np.float32), np.asarray(previous, np.float32))) >= SAME_PARTS


def change_chain(
    index: int,
    signature: np.ndarray,
    earlier: list[tuple[int, np.ndarray, object]],
    *,
    layout: str = "",
    layouts: Mapping[int, str] | None = None,
) -> list:
    """What the unbroken run of layers just before `index` with the same parts left, newest first.

    `earlier`: (index, parts signature, what the layer left: its change frame, and whether it was
    flagged, for change_score) of previous layers of the job, in any order. Where the printer
    stated the layouts (`layout` of this layer, `layouts` of earlier ones by index), those decide
    instead of the signatures (ml.sequence.unbroken_run).
    """
    return unbroken_run(index, signature, earlier, depth=DEPTH, match=same_parts, layout=layout, layouts=layouts)


@dataclass
class ChangeResult:
    score: float
    lag: int  # the lag j that scored highest: the change is about j layers old
    map: np.ndarray  # (H, W) float32: the highest filter response at each pixel, for that lag


def change_score(frame: np.ndarray, previous: list[np.ndarray], flagged: list[bool] = ()) -> ChangeResult | None:
    """The change of `frame` against its layout's previous frames (change_chain, newest first), or
    None where there are too few of them for any lag.

    `flagged` says of each previous frame whether it showed a change itself (its score over the
    channel's threshold). Such a frame is never a reference: once a defect ends, references that
    still show it would make the clean powder after it look like a change.
    """
    plans = _lag_plans(len(previous), list(flagged) + [False] * (len(previous) - len(flagged)))
    if not plans:
        return None
    frame = np.asarray(frame, dtype=np.float32)
    used = sorted({i for j, references in plans for i in (*range(j - 1), *references)})
    moving = [np.asarray(previous[i], dtype=np.float32) for i in used]
    shifts = estimate_shifts(frame, moving)
    aligned = {i: ndimage.shift(f, s, order=3, mode="nearest") for i, f, s in zip(used, moving, shifts, strict=True)}
    # Near the border a shifted frame shows padding, a camera shift smears a photo's own edge, and
    # on real frames the bed's walls and rails catch the light differently from layer to layer: no
    # layer is compared there.
    inner = _inner_mask(frame.shape)
    for shifted in aligned.values():
        shifted[~inner] = frame[~inner]

    whitened = []
    for j, references in plans:
        reference = np.stack([aligned[i] for i in references])
        target = reference.mean(axis=0)
        recent = np.stack([_photometric_match(f, target, inner) for f in (frame, *(aligned[i] for i in range(j - 1)))])
        whitened.append(_whitened_difference(recent, reference))
    whitened = np.stack(whitened)
    whitened[:, ~inner] = 0
    filtered = _inverse(_spectra(whitened)[None] * _kernel_spectra(_padded_shape(frame.shape))[:, None])
    sample = filtered[:, :, _MARGIN:-_MARGIN:_SPREAD_STRIDE, _MARGIN:-_MARGIN:_SPREAD_STRIDE]
    sample = sample.reshape(*filtered.shape[:2], -1)
    centre = np.median(sample, axis=2)
    spread = 1.4826 * np.median(np.abs(sample - centre[..., None]), axis=2) + 1e-6
    best = None
    for position, (j, _) in enumerate(plans):
        z = np.abs(filtered[:, position] - centre[:, position, None, None]) / spread[:, position, None, None]
        peak = z.max(axis=0)
        peak[~inner] = 0
        score = float(top_mean(peak[None], TOP_FRACTION)[0])
        if best is None or score > best.score:
            best = ChangeResult(score=score, lag=j, map=peak)
    return best


def _lag_plans(n_previous: int, flagged: list[bool]) -> list[tuple[int, list[int]]]:
    """(lag j, the previous frames that are its references) for each lag with enough of them: the
    recent layers are the frame and the j - 1 before it, the references the next unflagged ones."""
    plans = []
    for j in LAGS:
        references = [i for i in range(j - 1, n_previous) if not flagged[i]][:MAX_REFERENCES]
        if len(references) >= MIN_REFERENCES:
            plans.append((j, references))
    return plans


def _photometric_match(image: np.ndarray, target: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """`image` with the gain and offset that match it to `target` where the two agree.

    change_frame standardises each layer by its own percentiles, and a defect that covers much of
    the bed (a wide short feed) moves them: the rest of the layer then differs from the references
    everywhere, that difference sets the filtered maps' spread, and the defect itself no longer
    stands out. So the fit starts from the frames as they are (the same exposure, after
    change_frame) and leaves out, three times over, what the fit does not explain: a defect on up to
    half of the bed. The images are smoothed first so that the grain does not flatten the gain.
    """
    y = ndimage.gaussian_filter(image, _MATCH_SMOOTHING)[inner][::_MATCH_STRIDE].astype(np.float64)
    x = ndimage.gaussian_filter(target, _MATCH_SMOOTHING)[inner][::_MATCH_STRIDE].astype(np.float64)
    gain, offset = 1.0, 0.0
    for _ in range(3):
        residual = y - (gain * x + offset)
        centre = np.median(residual)
        spread = 1.4826 * np.median(np.abs(residual - centre)) + 1e-6
        kept = np.abs(residual - centre) < 3 * spread
        gain, offset = np.polyfit(x[kept], y[kept], 1)
    if not np.isfinite(gain) or gain < _MIN_MATCH_GAIN:
        return image
    return ((image - offset) / gain).astype(np.float32)


def _whitened_difference(recent: np.ndarray, references: np.ndarray) -> np.ndarray:
    """The recent layers' mean less the references', less what moving edges explain, in standard
    deviations of that difference as the references varied among themselves."""
    mean = references.mean(axis=0)
    difference = recent.mean(axis=0) - mean
    difference -= _edge_explained(difference, mean)
    variance = _spread_variance(references.var(axis=0, ddof=1))
    variance = np.maximum(variance, _VARIANCE_FLOOR * np.median(variance))
    return difference / np.sqrt(variance * (1 / len(recent) + 1 / len(references)))


def _edge_explained(difference: np.ndarray, references: np.ndarray) -> np.ndarray:
    """The part of `difference` that an edge of `references` moving EDGE_SHIFT px could account for."""
    smooth = ndimage.gaussian_filter(references, 1.0)
    gradient = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1)) / 8
    return np.clip(difference, -EDGE_SHIFT * gradient, EDGE_SHIFT * gradient)


def _spread_variance(variance: np.ndarray) -> np.ndarray:
    """Each pixel's variance raised to the highest within about 2 px and smoothed over about 2 px:
    an edge that jitters shows its variance on a line a pixel wide, and the estimate from a few
    layers is rough. Done at half resolution (the 2x2 maximum first), which is 4x cheaper."""
    height, width = variance.shape
    half = variance.reshape(height // 2, 2, width // 2, 2).max(axis=(1, 3))
    half = ndimage.gaussian_filter(ndimage.maximum_filter(half, size=3), 1.0)
    return np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)


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
def _inner_mask(shape: tuple[int, int]) -> np.ndarray:
    inner = np.zeros(shape, dtype=bool)
    inner[_MARGIN:-_MARGIN, _MARGIN:-_MARGIN] = True
    return inner


@lru_cache(maxsize=4)
def _kernel_spectra(shape: tuple[int, int]) -> np.ndarray:
    spectra = []
    for sigma_across, sigma_along, angle in FILTERS:
        radius = int(np.ceil(3 * max(sigma_across, sigma_along)))
        yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
        theta = np.radians(angle)
        along = xx * np.cos(theta) + yy * np.sin(theta)
        across = -xx * np.sin(theta) + yy * np.cos(theta)
        kernel = np.exp(-0.5 * ((along / sigma_along) ** 2 + (across / sigma_across) ** 2))
        full = np.zeros(shape)
        full[: 2 * radius + 1, : 2 * radius + 1] = kernel / kernel.sum()
        spectra.append(fft.rfft2(np.roll(full, (-radius, -radius), axis=(0, 1))))
    return np.stack(spectra).astype(np.complex64)


def change_scores(
    images: np.ndarray, threshold: float | None = None, layouts: Sequence[str] | None = None
) -> np.ndarray:
    """change_score() of each layer of one job in order, each against the ones before; NaN where
    none. With the channel's `threshold`, layers over it are not references (see change_score);
    `layouts` are the layers' stated layouts, where the printer states them (change_chain)."""
    images = np.asarray(images, dtype=np.float32)
    signatures = parts_signature(images)
    frames = [change_frame(image) for image in images]
    stated = dict(enumerate(layouts or ()))
    scores = np.full(len(images), np.nan)
    limit = np.inf if threshold is None else threshold
    for t in range(len(images)):
        earlier = [(i, signatures[i], (frames[i], bool(scores[i] > limit))) for i in range(max(0, t - DEPTH), t)]
        chain = change_chain(t, signatures[t], earlier, layout=stated.get(t, ""), layouts=stated)
        result = change_score(frames[t], [f for f, _ in chain], [flag for _, flag in chain])
        if result is not None:
            scores[t] = result.score
    return scores


@dataclass(frozen=True)
class ChangeCalibration:
    """Where the change score of good layers sits (`baseline`, their median), the threshold, and
    how many scores they were fitted to."""

    baseline: float
    threshold: float
    n_scores: int


def change_calibrate_jobs(jobs, layouts=None) -> ChangeCalibration | None:
    """change_calibrate() on good jobs' images, each (n, H, W) stack of one job's consecutive
    layers scored in order (change_scores), with each job's stated `layouts` where given."""
    layouts = repeat(None) if layouts is None else layouts
    # zip, not strict: `jobs` may be a generator (one job's images in memory at a time).
    scores = [change_scores(images, layouts=stated) for images, stated in zip(jobs, layouts)]  # noqa: B905
    return change_calibrate(np.concatenate(scores or [np.empty(0)]))


def change_calibrate(scores: np.ndarray) -> ChangeCalibration | None:
    """The channel's calibration from good jobs' change scores, each job scored in order (NaNs
    ignored): a Gumbel tail at CHANGE_TARGET_FPR, never below the CHANGE_FLOOR_RANK-th highest
    score. None where there are too few scores to fit the tail.

    The channel learns nothing from the layers it is calibrated on, so every good job serves,
    not only the ones held out from the scorer's training."""
    values = np.asarray(scores, dtype=np.float64)
    values = values[~np.isnan(values)]
    if len(values) < MIN_CHANGE_SCORES:
        return None
    gumbel = calibrate_gumbel_tail(values, target_fpr=CHANGE_TARGET_FPR).threshold
    threshold = max(gumbel, float(np.sort(values)[-CHANGE_FLOOR_RANK]))
    return ChangeCalibration(baseline=float(np.median(values)), threshold=float(threshold), n_scores=len(values))
