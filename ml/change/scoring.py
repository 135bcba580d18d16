"""The change score: what a layer shows that the same part layout's previous layers did not.

The autoencoder judges a layer by what the machine's earlier jobs looked like, and a part it
never saw (a new job's layout) can look as odd to it as a faint defect. Within one layout a
layer should match the layers just before it, up to fresh powder grain, a camera shift and the
parts growing a little. So each layer is lined up with the layout's previous layers
(ml.registration), and the difference is measured:

1. less what a part edge moving EDGE_SHIFT px could explain (growth, registration error);
2. in standard deviations of what the reference layers varied by among themselves at that pixel,
   so edges that jitter and rotating hatch inside the parts set their own noise;
3. smoothed by matched filters (ml.change.filters): spots and blobs, short and long lines every
   15 degrees, and thin lines every 6 degrees whose profile sums to zero across, so the
   correlated grain cancels (not beside the references' strong edges, where a change of
   sharpness looks like one);
4. each filtered map in robust standard deviations of itself (the grain is correlated, and each
   filter averages it differently); the score is the mean of the top TOP_FRACTION of the highest
   filter response at each pixel.

A defect that appears on layer t and persists is seen best by averaging the layers since t: the
score is the highest over lags j of the last j layers' mean against the MAX_REFERENCES layers
before them, so it grows over a defect's first layers. A layout change (the parts changed, see
ml.change.keys.parts_keys_match, or a new layout the printer stated) starts over: the channel then
waits MIN_REFERENCES layers.

numpy and scipy only; images are preprocessed (H, W) float32 layers of one job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ml.change.filters import GATE_REACH, beside_strong_edges, filtered_peaks
from ml.change.keys import parts_keys, parts_keys_match
from ml.change.margins import BORDER_GATE_REACH, MARGIN, inner_mask, top_bottom_margins
from ml.layout_runs import unbroken_run
from ml.registration import estimate_shifts
from ml.residuals import top_mean

LAGS = (1, 2, 3, 4)
MIN_REFERENCES = 2  # fewer previous layers of the layout than this and a lag is not scored
MAX_REFERENCES = 5
DEPTH = max(LAGS) - 1 + MAX_REFERENCES  # previous layers a layer is compared with
# The share of pixels the score averages: about the size of a small pit's peak in the filtered
# map, so a larger share does not dilute it.
TOP_FRACTION = 0.0001
# px an edge may move between the reference layers and the recent ones: parts grow by up to a
# quarter of a pixel per layer, and registration is good to about 0.3 px.
EDGE_SHIFT = 1.5
_VARIANCE_FLOOR = 0.25  # of the median variance: a pixel quiet by chance must not explode
_MATCH_SMOOTHING, _MATCH_STRIDE, _MIN_MATCH_GAIN = 2.0, 7, 0.2  # see _photometric_fit
# Gone from the newest layer (see _returned_to_surroundings): a spot that stood out from the median
# of its _RETURN_BACKGROUND px neighbourhood by _RETURN_STANDOUT robust standard deviations on the
# references, smoothed over _RETURN_SMOOTHING px, and keeps _RETURN_KEPT of that or less.
_RETURN_BACKGROUND, _RETURN_SMOOTHING, _RETURN_STANDOUT, _RETURN_KEPT = 44, 3.0, 4.0, 0.3


def change_frame(image: np.ndarray) -> np.ndarray:
    """What a layer leaves for the layers after it: the image, robustly standardised (exposure removed)."""
    image = np.asarray(image, dtype=np.float32)
    low, centre, high = np.percentile(image, (25, 50, 75))
    return ((image - centre) / max((high - low) / 1.349, 1e-4)).astype(np.float32)


def change_scores(
    images: np.ndarray, threshold: float | None = None, stated_layouts: Sequence[str] | None = None
) -> np.ndarray:
    """change_score() of each layer of one job in order, each against the ones before; NaN where
    none. With the channel's `threshold`, layers over it are not references (see change_score);
    `stated_layouts` are the layers' stated layouts, where the printer states them (change_chain)."""
    images = np.asarray(images, dtype=np.float32)
    keys = parts_keys(images)
    frames = [change_frame(image) for image in images]
    stated = dict(enumerate(stated_layouts or ()))
    scores = np.full(len(images), np.nan)
    limit = np.inf if threshold is None else threshold
    for t in range(len(images)):
        within = {i: scores[i] for i in range(max(0, t - DEPTH - MIN_REFERENCES), t)}
        earlier = [(i, keys[i], (frames[i], change_flagged(i, within, limit))) for i in range(max(0, t - DEPTH), t)]
        chain = change_chain(t, keys[t], earlier, stated_layout=stated.get(t, ""), stated_layouts=stated)
        result = change_score(frames[t], [f for f, _ in chain], [flag for _, flag in chain])
        if result is not None:
            scores[t] = result.score
    return scores


def change_flagged(index: int, scores: Mapping[int, float | None], threshold: float) -> bool:
    """Whether layer `index` is no reference for the layers after it (change_score's `flagged`):
    its change score (`scores` by index: None or NaN where a layer has none) passed the threshold,
    or it has none and the nearest layer with one, within MIN_REFERENCES layers before it, passed it.

    A new layout's first MIN_REFERENCES layers have no score. Where a defect runs across the layout
    change they show it, and as references they would make the clean powder after it look like a
    change, and the clean layers after it would join the defect's alert.
    """
    for i in range(index, index - 1 - MIN_REFERENCES, -1):  # the layer itself first
        score = scores.get(i)
        if score is not None and not np.isnan(score):
            return bool(score > threshold)
    return False


def change_chain(
    index: int,
    key: np.ndarray,
    earlier: list[tuple[int, np.ndarray, object]],
    *,
    stated_layout: str = "",
    stated_layouts: Mapping[int, str] | None = None,
) -> list:
    """What the unbroken run of layers just before `index` with the same layout left, newest first.

    `key`: this layer's parts key (parts_keys). `earlier`: (index, parts key, what the layer left: its change
    frame, and whether it was flagged, for change_score) of previous layers of the job, in any
    order. Where the printer stated the layouts (`stated_layout` of this layer, `stated_layouts` of
    earlier ones by index), those decide instead of the keys (ml.layout_runs.unbroken_run).
    """
    return unbroken_run(
        index,
        key,
        earlier,
        depth=DEPTH,
        match=parts_keys_match,
        stated_layout=stated_layout,
        stated_layouts=stated_layouts,
    )


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
    # the bed's walls and rails catch the light differently from layer to layer: no
    # layer is compared there.
    inner = inner_mask(frame.shape, *top_bottom_margins(shifts))
    for shifted in aligned.values():
        shifted[~inner] = frame[~inner]

    # The gain and offset fit compares smoothed frames; the mean of smoothed references is the
    # smoothed mean (the filter is linear), so each frame is smoothed once for every lag.
    smoothed = {i: _match_smoothed(f) for i, f in aligned.items()} | {-1: _match_smoothed(frame)}
    # How far the frame stands out locally; the photometric match only divides it by the gain.
    frame_deviation = _local_deviation(frame)
    whitened, beside_edges = [], []
    for j, references in plans:
        reference = np.stack([aligned[i] for i in references])
        target = np.mean([smoothed[i] for i in references], axis=0)
        recent = [(frame, smoothed[-1]), *((aligned[i], smoothed[i]) for i in range(j - 1))]
        fits = [_photometric_fit(s, target, inner) for _, s in recent]
        recent = np.stack([_rescaled(f, *fit) for (f, _), fit in zip(recent, fits, strict=True)])
        mean = reference.mean(axis=0)
        gradient = _edge_gradient(mean)
        difference = _whitened_difference(recent, reference, mean, gradient)
        frame_gain = fits[0][0]
        difference[_returned_to_surroundings(frame_deviation / frame_gain, _local_deviation(mean))] = 0
        whitened.append(difference)
        beside_edges.append(beside_strong_edges(gradient))
    whitened = np.stack(whitened)
    whitened[:, ~inner] = 0
    beside_edges = np.stack(beside_edges)
    peaks = filtered_peaks(whitened, beside_edges)
    # In the rows at the top and bottom that only a shift-sized margin leaves out, the photo may
    # end on a rail or a wall: there nothing looks beside the references' strong edges.
    border_band = inner & ~inner_mask(frame.shape, MARGIN, MARGIN)
    best = None
    for peak, near_edges, (j, _) in zip(peaks, beside_edges, plans, strict=True):
        peak[~inner] = 0
        peak[border_band & ndimage.binary_dilation(near_edges, iterations=BORDER_GATE_REACH - GATE_REACH)] = 0
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


def _returned_to_surroundings(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """(H, W) bool: where the newest layer looks like what lies around it, and the references'
    mean did not, given their _local_deviation()s: the newest layer keeps _RETURN_KEPT or less of
    the references' deviation, which stood out by _RETURN_STANDOUT robust standard deviations.

    Something the references showed is gone: a small part that finished (one too small for
    part_finished to see in the block means, so the layout goes on), or a defect that ended whose
    layers stayed under the threshold, and so became references. Nothing appeared there, and
    without this the bare powder would score as a change for as long as any reference showed what
    was gone. A defect there shows: the newest layer stands out from what lies
    around it. Only things smaller than the background's reach (_RETURN_BACKGROUND) are seen: the
    inside of a wide short feed is its own surroundings.
    """
    spread = 1.4826 * np.median(np.abs(before - np.median(before))) + 1e-6
    return (np.abs(before) > _RETURN_STANDOUT * spread) & (np.abs(now) <= _RETURN_KEPT * np.abs(before))


def _local_deviation(image: np.ndarray) -> np.ndarray:
    """How far each pixel stands out from what lies around it: the image less the median of its
    _RETURN_BACKGROUND px neighbourhood (taken on 4 x 4 block means, 16 times cheaper), smoothed
    over _RETURN_SMOOTHING px so that the grain counts little."""
    height, width = image.shape
    blocks = image.reshape(height // 4, 4, width // 4, 4).mean(axis=(1, 3))
    background = ndimage.median_filter(blocks, size=_RETURN_BACKGROUND // 4, mode="nearest")
    background = np.repeat(np.repeat(background, 4, axis=0), 4, axis=1)
    return ndimage.gaussian_filter(image - background, _RETURN_SMOOTHING)


def _rescaled(image: np.ndarray, gain: float, offset: float) -> np.ndarray:
    """`image` with the gain and offset _photometric_fit found taken out."""
    return ((image - offset) / gain).astype(np.float32)


def _photometric_fit(smoothed: np.ndarray, smoothed_target: np.ndarray, inner: np.ndarray) -> tuple[float, float]:
    """The gain and offset that match an image to the target where the two agree, fitted on the
    image's and the target's smoothed copies (_match_smoothed), so that the grain does not flatten
    the gain; (1, 0) where no gain fits.

    change_frame standardises each layer by its own percentiles, and a defect that covers much of
    the bed (a wide short feed) moves them: the rest of the layer then differs from the references
    everywhere, that difference sets the filtered maps' spread, and the defect itself no longer
    stands out. So the fit starts from the frames as they are (the same exposure, after
    change_frame) and leaves out, three times over, what the fit does not explain: a defect on up to
    half of the bed.
    """
    y = smoothed[inner][::_MATCH_STRIDE].astype(np.float64)
    x = smoothed_target[inner][::_MATCH_STRIDE].astype(np.float64)
    gain, offset = 1.0, 0.0
    for _ in range(3):
        residual = y - (gain * x + offset)
        centre = np.median(residual)
        spread = 1.4826 * np.median(np.abs(residual - centre)) + 1e-6
        kept = np.abs(residual - centre) < 3 * spread
        gain, offset = np.polyfit(x[kept], y[kept], 1)
    if not np.isfinite(gain) or gain < _MIN_MATCH_GAIN:
        return 1.0, 0.0
    return float(gain), float(offset)


def _match_smoothed(image: np.ndarray) -> np.ndarray:
    return ndimage.gaussian_filter(image, _MATCH_SMOOTHING)


def _whitened_difference(
    recent: np.ndarray, references: np.ndarray, mean: np.ndarray, gradient: np.ndarray
) -> np.ndarray:
    """The recent layers' mean less the references' (`mean`), less what moving edges explain, in
    standard deviations of that difference as the references varied among themselves.
    `gradient`: the references' mean's (_edge_gradient)."""
    difference = recent.mean(axis=0) - mean
    # What an edge of the references moving EDGE_SHIFT px could account for.
    difference -= np.clip(difference, -EDGE_SHIFT * gradient, EDGE_SHIFT * gradient)
    variance = _spread_variance(references.var(axis=0, ddof=1))
    variance = np.maximum(variance, _VARIANCE_FLOOR * np.median(variance))
    return difference / np.sqrt(variance * (1 / len(recent) + 1 / len(references)))


def _edge_gradient(mean: np.ndarray) -> np.ndarray:
    """The gradient's magnitude per pixel, smoothed over a pixel so that the grain counts little."""
    smooth = ndimage.gaussian_filter(mean, 1.0)
    return np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1)) / 8


def _spread_variance(variance: np.ndarray) -> np.ndarray:
    """Each pixel's variance raised to the highest within about 2 px and smoothed over about 2 px:
    an edge that jitters shows its variance on a line a pixel wide, and the estimate from a few
    layers is rough. Done at half resolution (the 2x2 maximum first), which is 4x cheaper."""
    height, width = variance.shape
    half = variance.reshape(height // 2, 2, width // 2, 2).max(axis=(1, 3))
    half = ndimage.gaussian_filter(ndimage.maximum_filter(half, size=3), 1.0)
    return np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)
