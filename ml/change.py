"""The alert rules' change channel: what a layer shows that the same part layout's previous layers did not.

The autoencoder judges a layer by what the machine's earlier jobs looked like, and a part it
never saw (a new job's layout) can look as odd to it as a faint defect. Within one layout a
layer should match the layers just before it, up to fresh powder grain, a camera shift and the
parts growing a little. So each layer is lined up with the layout's previous layers
(ml.registration), and the difference is measured:

1. less what a part edge moving EDGE_SHIFT px could explain (growth, registration error);
2. in standard deviations of what the reference layers varied by among themselves at that pixel,
   so edges that jitter and rotating hatch inside the parts set their own noise;
3. smoothed by matched filters: spots and blobs, short and long lines every 15 degrees, and thin
   lines every 6 degrees whose profile sums to zero across, so the correlated grain cancels
   (not beside the references' strong edges, where a change of sharpness looks like one);
4. each filtered map in robust standard deviations of itself (the grain is correlated, and each
   filter averages it differently); the score is the mean of the top TOP_FRACTION of the highest
   filter response at each pixel.

A defect that appears on layer t and persists is seen best by averaging the layers since t: the
score is the highest over lags j of the last j layers' mean against the MAX_REFERENCES layers
before them, so it grows over a defect's first layers. A layout change (the parts changed, see
same_layout, or a new layout the printer stated) starts over: the channel then waits MIN_REFERENCES
layers. Powder that no longer covers part of the bed (a wide short feed) changes the parts
signature as much as new parts do, but it is no new layout (see powder_lost). A part that
finishes while the others go on leaves the signature matching, but it is a new layout
(see part_finished).

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
from ml.layout_runs import unbroken_run
from ml.registration import estimate_shifts
from ml.residuals import top_mean

LAGS = (1, 2, 3, 4)
MIN_REFERENCES = 2  # fewer previous layers of the layout than this and a lag is not scored
MAX_REFERENCES = 5
DEPTH = max(LAGS) - 1 + MAX_REFERENCES  # previous layers a layer is compared with
_LINE_ANGLES = tuple(range(0, 180, 15))  # a line 8 px long, 1 px wide, is lost at 15 degrees off
# Thin lines, half a pixel across, are lost 3 degrees off at this length: so every 6 degrees.
_THIN_LINE_ANGLES = tuple(range(0, 180, 6))
# (sigma_across, sigma_along, angle in degrees, surround): spots and blobs, then short and long
# lines, each a Gaussian; then thin lines whose profile across is a Gaussian less a wider one of
# the same area (sigma `surround`), so it sums to zero across the line. The powder grain is
# correlated over a pixel or two and a faint groove half a pixel wide is not: a plain filter
# averages as much grain as groove, the zero-sum profile cancels the grain. On synthetic machine
# 1's faint scratches (8-15 grey levels, 0.5-0.8 px) the filtered maps' z at the scratch went
# from 6-8 to 10-12 at a 3-degree miss.
FILTERS = (
    (1, 1, 0, None),
    (2, 2, 0, None),
    (4, 4, 0, None),
    (8, 8, 0, None),
    *((1, 8, angle, None) for angle in _LINE_ANGLES),
    *((1, 24, angle, None) for angle in _LINE_ANGLES),
    *((0.5, 12, angle, 1.5) for angle in _THIN_LINE_ANGLES),
)
# About 6.5 px of a 256x256 layer: a small pit's peak in the filtered map covers fewer pixels than
# the 20 px of 0.0003, which diluted it. With 0.0001 synthetic machine 2's pits went from 47.7% to
# 65% found within 3 layers, other kinds and false criticals unchanged on machines 1, 2 and 7
# (bench/alerts.py --change-only).
TOP_FRACTION = 0.0001
# The thin lines are blind within _GATE_REACH px of an edge whose gradient is _GATE_STRENGTH robust
# standard deviations over the bed's typical one (see _beside_strong_edges). On synthetic machine 1,
# without it, straight part edges put 0.4-4.6% of later good jobs' layers over a threshold that
# had risen from 7.3 to 9.9; with it the threshold is back at 7.3.
_GATE_STRENGTH, _GATE_REACH = 6.0, 2
# px an edge may move between the reference layers and the recent ones: parts grow by up to a
# quarter of a pixel per layer on synthetic machines, and registration is good to about 0.3 px.
EDGE_SHIFT = 1.5
# px at the sides left out: more than a camera shakes between layers. On the real PBLM frames, 4 px
# beyond the largest shift let the walls beside the bed raise good frames' scores from 7-9 to 25.
_MARGIN = 10
# The powder runs to the top and bottom of the photo (the recoater travels across, between the
# walls), and a recoater streak runs along it: there only the rows a reference was shifted across
# (padding), and _SHIFT_SLACK px beyond for the interpolation, are left out, never fewer than
# _MIN_MARGIN. A 10 px margin there lost every streak within 10 px of the top or bottom. Within
# 10 px of them, a rail or a wall's edge is left out as the thin lines leave out strong edges: on
# synthetic machine 1 a good layer scored 9.3 on the rail's edge, against a threshold of 7.3.
_MIN_MARGIN, _SHIFT_SLACK = 4, 2
# There no filter looks within _BORDER_GATE_REACH px of such an edge, one more than the thin lines'
# _GATE_REACH: a line filter a pixel across still responds 3 px from an edge whose sharpness
# changed. On printer B's look in make demo (machine seed 20561: the camera shakes by up to 4.6 px
# and the photo's top edge falls in that band) a good layer scored 14.4 against a threshold of 8.77
# on the first row compared, 3 px from the edge.
_BORDER_GATE_REACH = 3
_PAD = 16
_VARIANCE_FLOOR = 0.25  # of the median variance: a pixel quiet by chance must not explode
_MATCH_SMOOTHING, _MATCH_STRIDE, _MIN_MATCH_GAIN = 2.0, 7, 0.2  # see _photometric_fit
# Gone from the newest layer (see _returned_to_surroundings): a spot that stood out from the median
# of its _RETURN_BACKGROUND px neighbourhood by _RETURN_STANDOUT robust standard deviations on the
# references, smoothed over _RETURN_SMOOTHING px, and keeps _RETURN_KEPT of that or less.
_RETURN_BACKGROUND, _RETURN_SMOOTHING, _RETURN_STANDOUT, _RETURN_KEPT = 44, 3.0, 4.0, 0.3
_SPREAD_STRIDE = 4  # every 4th pixel each way estimates a filtered map's spread as well as all do
# Consecutive layers whose parts signatures correlate less than this show other parts. Measured on
# synthetic machines: 0.63 and more within a layout, 0.53 and less where the parts changed; a
# defect lowers it too (short feed most, to 0.33): see powder_lost.
SAME_PARTS = 0.6
_BLOCK, _SIGNATURE_MARGIN, _SIGNATURE_HIGHPASS = 8, 16, 3.0
# Powder lost (see powder_lost): a block darker than the previous layer's darkest block within
# _FLOOR_REACH blocks (72 px: wider than most parts) by _LOST_DARKENING (6 grey levels), on at least
# POWDER_LOST_SHARE of the blocks. Measured on synthetic machines 1, 2 and 7 (720 good layers each, 21
# layout changes among them): at most 0.13% of blocks between consecutive layers, and none at a
# layout change; short feeds 4-31%. On the real PBLM frames: none between consecutive good frames,
# 2% between a good frame and an uneven powder one.
# The share is an alert channel too (ml.alert_score): POWDER_LOST_SHARE counts as the layer's threshold.
_FLOOR_REACH, _LOST_DARKENING, POWDER_LOST_SHARE = 9, 6 / 255, 0.01
# A block changed: by _BLOCK_CHANGE (10 grey levels) beyond what the exposure and the camera's shift
# explain (_unexplained_change).
_BLOCK_CHANGE = 10 / 255
# A part that finished (see part_finished): at least _FINISH_BLOCKS connected blocks that turned
# darker by _BLOCK_CHANGE, that stood out from the blocks around them by as much and kept at most
# _FINISH_KEPT of that. bench/layouts.py counts, on synthetic machines 1, 2 and 7: 59 of 63 parts
# that finished pass, with the faint ones below (the 4 missed cover 1-3 blocks), 1 of 2088 pairs
# of consecutive good layers of a layout (the channel then waits MIN_REFERENCES layers) and none of
# 108 defect onsets. Fewer blocks let in more pairs of good layers on the edges of parts, and a dark
# spatter's onset at 4.
_FINISH_BLOCKS, _FINISH_KEPT = 5, 0.3
# A faint part finishes too: where _FINISH_NOISE times the robust spread of the two layers' block
# changes is less than _BLOCK_CHANGE, blocks that darkened by that much (never less than
# _FINISH_FLOOR, 4 grey levels), stood out by as much, kept at most _FINISH_KEPT of that either way,
# and have nothing beside them that still stands out (see _finished). In make demo (512 px photos,
# block changes spread over 1.3-1.5 grey levels), a new layout taken for the same one raised a false
# critical on printer A (layers 90-96 of a job). On 40 of printer A's jobs, 2 of the 160 new layouts
# were taken for the same one: one small, faint part (a ring 5-12 grey levels over the powder) gave
# way to another, only 1.0-1.4% of the blocks changed, and the ring's blocks darkened by 4-14; now
# none is. bench/layouts.py, synthetic machines 1, 2 and 7 and the demo printers' looks: one more
# finish passes (machine 2), and no pair of good layers of a layout nor any defect onset that did
# not before.
_FINISH_NOISE, _FINISH_FLOOR = 4.0, 4 / 255
_FINISH_AROUND = 3  # blocks: what a finished part's blocks are compared with, past the one beside them
_NEW_PART_BLOCKS = 4  # blocks that turned brighter: something new came (see parts_only_finished)
# A change too small for a new layout (see little_changed): fewer than _LITTLE_CHANGE of the blocks
# changed; too large for the same one (see much_changed): _MUCH_CHANGE of them or more. Measured by
# bench/layouts.py on synthetic machines 1, 2 and 7: 3.4-44% at the 126 new groups of parts of
# their later jobs; at most 2.9% between consecutive good layers of a layout and 3.1% at a defect's
# onset (a spatter on machine 7), short feeds aside (powder_lost). 0.5% at the spatter (d' 95)
# whose onset broke machine 7's parts signature, and 1.3-1.5% at a super-elevation's second layer
# that broke it on machines 1 and 7. In make demo, printer A's second job changed layout with 4.7%
# of its blocks while the signatures still correlated at 0.67, and its next 7 layers raised a false
# critical.
_LITTLE_CHANGE, _MUCH_CHANGE = 0.02, 0.035
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
    return _signature(_block_means(images))


def _signature(blocks: np.ndarray) -> np.ndarray:
    """parts_signature from the images' (n, h, w) _block_means."""
    n = len(blocks)
    blocks = ndimage.gaussian_filter(blocks, (0, 1, 1), mode="nearest")
    detail = blocks - ndimage.gaussian_filter(blocks, (0, _SIGNATURE_HIGHPASS, _SIGNATURE_HIGHPASS), mode="nearest")
    flat = detail.reshape(n, -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    return (flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def layout_key(images: np.ndarray) -> np.ndarray:
    """(n, H, W) square images -> (n, 2d): each layer's parts signature, then its 8 px block means
    (what same_layout compares)."""
    blocks = _block_means(images)
    return np.concatenate([_signature(blocks), blocks.reshape(len(blocks), -1)], axis=1)


def same_parts(signature: np.ndarray, previous: np.ndarray) -> bool:
    return float(np.dot(np.asarray(signature, np.float32), np.asarray(previous, np.float32))) >= SAME_PARTS


def same_layout(key: np.ndarray, previous: np.ndarray) -> bool:
    """Whether a layer (its layout_key) shows the same layout as the layer before it: the same parts
    (by their signature, or where too little of the bed changed for new parts: little_changed),
    none of them finished (part_finished), and not too much of the bed changed for the same parts
    (much_changed); or the same ones under a bed that lost powder
    (powder_lost), which a short feed changes as much as new parts do. Keys of different lengths
    (one stored before keys held block means) never match: the channel then starts over, as at a
    new layout."""
    split = _split_keys(key, previous)
    if split is None:
        return False
    (signature, levels), (previous_signature, previous_levels) = split
    if powder_lost(levels, previous_levels):
        return True
    # part_finished, much_changed and little_changed all read one fit of the change between the layers.
    levels, previous_levels = _grid(levels), _grid(previous_levels)
    change = _unexplained_change(levels, previous_levels)
    if _finished(change, levels, previous_levels) or _changed_share(change) >= _MUCH_CHANGE:
        return False
    return same_parts(signature, previous_signature) or _changed_share(change) < _LITTLE_CHANGE


def powder_lost(levels: np.ndarray, previous: np.ndarray) -> bool:
    """Whether a layer's block means (flat, of a square grid) show a bare bed where the previous
    layer's showed powder: enough blocks darker than the darkest the previous layer had near them.

    New parts make a block brighter, and parts that ended leave powder as dark as the powder next
    to them; only powder that no longer covers the bed leaves it darker than anything near it was.
    The layers' difference in exposure (the median block's) is taken out first.
    """
    return powder_lost_share(levels, previous) >= POWDER_LOST_SHARE


def powder_lost_share(levels: np.ndarray, previous: np.ndarray) -> float:
    """The share of blocks (block means, flat, of a square grid) darker than the darkest block near
    them on the previous layer: what powder_lost compares with POWDER_LOST_SHARE."""
    levels, previous = _grid(levels), _grid(previous)
    floor = ndimage.minimum_filter(previous, size=_FLOOR_REACH, mode="nearest") + np.median(levels - previous)
    return float(np.mean(levels < floor - _LOST_DARKENING))


def powder_lost_between(key: np.ndarray, previous: np.ndarray) -> float:
    """powder_lost_share between two consecutive layers' layout_keys; 0 for keys of different lengths."""
    split = _split_keys(key, previous)
    return 0.0 if split is None else powder_lost_share(split[0][1], split[1][1])


def powder_lost_shares(keys: np.ndarray) -> np.ndarray:
    """powder_lost_between each layer's layout_key and the one before, for one job's layers in
    order; NaN for the first."""
    return np.array([np.nan, *(powder_lost_between(keys[t], keys[t - 1]) for t in range(1, len(keys)))])


def part_finished(levels: np.ndarray, previous: np.ndarray) -> bool:
    """Whether a part the previous layer showed (block means, flat, of a square grid) is gone from
    this one, while the other parts stay: the parts signature still matches, but the bare powder
    where the part was would look like a change against layers that showed it.

    A finished part leaves a group of blocks that turned darker, beyond what the camera's shift
    explains (_unexplained_change), and that no longer stand out from the blocks around them as
    they did on the layer before. A defect darkens too (a pit, a scratch, dark spatter), but over
    powder, which stood out from nothing before, or over a few blocks of a part only.
    """
    levels, previous = _grid(levels), _grid(previous)
    return _finished(_unexplained_change(levels, previous), levels, previous)


def parts_only_finished(key: np.ndarray, previous: np.ndarray) -> bool:
    """Whether, between two consecutive layers' layout_keys, a part finished (part_finished) and
    nothing new came: fewer than _NEW_PART_BLOCKS blocks turned brighter by _BLOCK_CHANGE, beyond
    what the exposure and the camera's shift explain. False for keys of different lengths.

    A new group of parts also leaves the old ones' blocks as dark as the powder, so part_finished
    alone passes 122 of the 126 new groups of synthetic machines 1, 2 and 7, but new parts brighten
    blocks: this passes 1 of them, and 57 of the 63 parts that finished (bench/layouts.py)."""
    split = _split_keys(key, previous)
    if split is None:
        return False
    levels, previous_levels = _grid(split[0][1]), _grid(split[1][1])
    change = _unexplained_change(levels, previous_levels)
    # Where a faint part can be seen to finish, a faint new part is seen to come: in make demo,
    # printer A's faint ring gave way to a faint part that brightened no 4 blocks by _BLOCK_CHANGE.
    brightened = int(np.sum(change > min(_BLOCK_CHANGE, _faint_darkening(change))))
    return brightened < _NEW_PART_BLOCKS and _finished(change, levels, previous_levels)


def little_changed(levels: np.ndarray, previous: np.ndarray) -> bool:
    """Whether too few blocks (flat block means of a square grid) changed for other parts: where a
    layout has few or small parts, a local defect (a cluster of spatter) can move the parts
    signature as much as new parts do, while new parts change many blocks."""
    return changed_share(levels, previous) < _LITTLE_CHANGE


def much_changed(levels: np.ndarray, previous: np.ndarray) -> bool:
    """Whether too many blocks changed for the same parts, however alike the parts signatures are:
    two layouts whose parts lie in similar places can keep their signatures correlated."""
    return changed_share(levels, previous) >= _MUCH_CHANGE


def changed_share(levels: np.ndarray, previous: np.ndarray) -> float:
    """The share of blocks (flat block means of a square grid) that changed by _BLOCK_CHANGE beyond
    what the exposure and a camera shift explain (_unexplained_change)."""
    return _changed_share(_unexplained_change(_grid(levels), _grid(previous)))


def _split_keys(key: np.ndarray, previous: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """Two layout_keys, each as [parts signature, block means] (float32); None for keys of
    different lengths (one stored before keys held block means), which match nothing."""
    key, previous = np.asarray(key, np.float32), np.asarray(previous, np.float32)
    if key.shape != previous.shape:
        return None
    return np.split(key, 2), np.split(previous, 2)


def _grid(levels: np.ndarray) -> np.ndarray:
    """Flat block means back on their square grid."""
    side = int(np.sqrt(len(levels)))
    return levels.reshape(side, side)


def _finished(change: np.ndarray, levels: np.ndarray, previous: np.ndarray) -> bool:
    """part_finished, given the (h, w) grids and their _unexplained_change: a part's blocks
    darkened by _BLOCK_CHANGE, or a faint part's by less where the bed is quiet enough
    (_faint_darkening)."""
    if _gone(change < -_BLOCK_CHANGE, levels, previous, _BLOCK_CHANGE):
        return True
    faint = _faint_darkening(change)
    if faint >= _BLOCK_CHANGE:
        return False
    # Blocks that stood out by as little can also darken where a dark defect covers a part's corner,
    # which leaves them darker than their surroundings (a finished part leaves them as dark), or
    # where the camera's shift moved a part's edge further than the fit explains, which leaves the
    # rest of the part beside them.
    return _gone(change < -faint, levels, previous, faint, faint=True)


def _gone(
    darkened: np.ndarray,
    levels: np.ndarray,
    previous: np.ndarray,
    standout: float,
    *,
    faint: bool = False,
) -> bool:
    """Whether _FINISH_BLOCKS or more connected `darkened` blocks stood out from the blocks around
    them by `standout` on the previous layer and keep _FINISH_KEPT of that or less. For a `faint`
    part, they keep as little either way, and no block within _FINISH_AROUND of them stands out by
    `standout` on this layer."""
    labels, count = ndimage.label(darkened, structure=np.ones((3, 3)))
    for label in range(1, count + 1):
        blocks = labels == label
        if blocks.sum() < _FINISH_BLOCKS:
            continue
        near = ndimage.binary_dilation(blocks, iterations=_FINISH_AROUND)
        around = near & ~ndimage.binary_dilation(blocks)
        if not around.any():
            continue
        before = np.median(previous[blocks]) - np.median(previous[around])
        now = np.median(levels[blocks]) - np.median(levels[around])
        if faint and np.max(levels[near]) - np.median(levels[around]) >= standout:
            continue
        kept = abs(now) if faint else now
        if before >= standout and kept <= _FINISH_KEPT * before:
            return True
    return False


def _faint_darkening(change: np.ndarray) -> float:
    """How much a faint part's blocks darkened, and stood out before, at least: _FINISH_NOISE times
    the robust spread of the layers' block changes (_unexplained_change), and _FINISH_FLOOR."""
    spread = 1.4826 * float(np.median(np.abs(change - np.median(change))))
    return max(_FINISH_FLOOR, _FINISH_NOISE * spread)


def _changed_share(change: np.ndarray) -> float:
    """The share of blocks whose _unexplained_change is _BLOCK_CHANGE or more either way."""
    return float(np.mean(np.abs(change) > _BLOCK_CHANGE))


def _unexplained_change(levels: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """(h, w) block means less the previous layer's, less what a change of exposure and a camera
    shift explain.

    A shift by a fraction of a block changes each block by about the shift times the previous
    layer's gradient there, so every part's edge darkens on one side and brightens on the other:
    on synthetic machines that alone darkened groups of up to 10 blocks by 10 grey levels. The
    offset and shift are fitted to all blocks, three times over leaving out those more than 3
    robust standard deviations off, so a part that finished does not bend the fit.
    """
    change = (levels - previous).ravel().astype(np.float64)
    gradient_y, gradient_x = np.gradient(previous.astype(np.float64))
    design = np.stack([gradient_y.ravel(), gradient_x.ravel(), np.ones(change.size)], axis=1)
    kept = np.ones(change.size, dtype=bool)
    for _ in range(3):
        coefficients = np.linalg.lstsq(design[kept], change[kept], rcond=None)[0]
        residual = change - design @ coefficients
        spread = 1.4826 * np.median(np.abs(residual[kept])) + 1e-9
        kept = np.abs(residual) < 3 * spread
    return residual.reshape(levels.shape)


def _block_means(images: np.ndarray) -> np.ndarray:
    """(n, H, W) -> (n, h, w): _BLOCK px block means of the images less _SIGNATURE_MARGIN px at each side."""
    inner = slice(_SIGNATURE_MARGIN, -_SIGNATURE_MARGIN)
    x = np.asarray(images, dtype=np.float32)[:, inner, inner]
    n, height, width = x.shape
    h, w = height // _BLOCK, width // _BLOCK
    return x[:, : h * _BLOCK, : w * _BLOCK].reshape(n, h, _BLOCK, w, _BLOCK).mean(axis=(2, 4))


def change_chain(
    index: int,
    key: np.ndarray,
    earlier: list[tuple[int, np.ndarray, object]],
    *,
    layout: str = "",
    layouts: Mapping[int, str] | None = None,
) -> list:
    """What the unbroken run of layers just before `index` with the same layout left, newest first.

    `key`: this layer's layout_key. `earlier`: (index, layout key, what the layer left: its change
    frame, and whether it was flagged, for change_score) of previous layers of the job, in any
    order. Where the printer stated the layouts (`layout` of this layer, `layouts` of earlier ones
    by index), those decide instead of the keys (ml.layout_runs.unbroken_run).
    """
    return unbroken_run(index, key, earlier, depth=DEPTH, match=same_layout, layout=layout, layouts=layouts)


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
    inner = _inner_mask(frame.shape, *_top_bottom_margins(shifts))
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
        beside_edges.append(_beside_strong_edges(gradient))
    whitened = np.stack(whitened)
    whitened[:, ~inner] = 0
    beside_edges = np.stack(beside_edges)
    peaks = _filtered_peaks(whitened, beside_edges)
    # In the rows at the top and bottom that only a shift-sized margin leaves out, the photo may
    # end on a rail or a wall: there nothing looks beside the references' strong edges.
    border_band = inner & ~_inner_mask(frame.shape, _MARGIN, _MARGIN)
    best = None
    for peak, near_edges, (j, _) in zip(peaks, beside_edges, plans, strict=True):
        peak[~inner] = 0
        peak[border_band & ndimage.binary_dilation(near_edges, iterations=_BORDER_GATE_REACH - _GATE_REACH)] = 0
        score = float(top_mean(peak[None], TOP_FRACTION)[0])
        if best is None or score > best.score:
            best = ChangeResult(score=score, lag=j, map=peak)
    return best


def _returned_to_surroundings(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """(H, W) bool: where the newest layer looks like what lies around it, and the references'
    mean did not, given their _local_deviation()s: the newest layer keeps _RETURN_KEPT or less of
    the references' deviation, which stood out by _RETURN_STANDOUT robust standard deviations.

    Something the references showed is gone: a small part that finished (one too small for
    part_finished to see in the block means, so the layout goes on), or a defect that ended whose
    layers stayed under the threshold, and so became references. Nothing appeared there, and
    without this the bare powder scored as a change for as long as any reference showed what was
    gone: on synthetic machine 2, parts 20 px across that finished raised false criticals at 13-52
    against a threshold of 8. A defect there shows: the newest layer stands out from what lies
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


def _beside_strong_edges(gradient: np.ndarray) -> np.ndarray:
    """Where the thin lines do not look: within _GATE_REACH px of the references' strong edges.

    A photo's sharpness differs a little from layer to layer (a camera shift by a fraction of a
    pixel interpolates it, and so does lining the layers up), so along a straight part edge the
    recent layers' mean and the references' differ by a profile a pixel wide that runs the
    length of the edge: to a thin line filter, a scratch. The rest of the filters still look there.
    """
    centre = np.median(gradient)
    spread = 1.4826 * np.median(np.abs(gradient - centre))
    return ndimage.binary_dilation(gradient > centre + _GATE_STRENGTH * spread, iterations=_GATE_REACH)


def _filtered_peaks(maps: np.ndarray, beside_edges: np.ndarray) -> np.ndarray:
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
        sample = filtered[:, _MARGIN:-_MARGIN:_SPREAD_STRIDE, _MARGIN:-_MARGIN:_SPREAD_STRIDE].reshape(len(maps), -1)
        centre = np.median(sample, axis=1)[:, None, None]
        spread = 1.4826 * np.median(np.abs(sample - centre[:, :, 0]), axis=1)[:, None, None] + 1e-6
        filtered -= centre
        np.abs(filtered, out=filtered)
        filtered /= spread
        running = peaks if surround is None else thin_peaks
        np.maximum(running, filtered, out=running)
    thin_peaks[beside_edges] = 0
    return np.maximum(peaks, thin_peaks, out=peaks)


def _lag_plans(n_previous: int, flagged: list[bool]) -> list[tuple[int, list[int]]]:
    """(lag j, the previous frames that are its references) for each lag with enough of them: the
    recent layers are the frame and the j - 1 before it, the references the next unflagged ones."""
    plans = []
    for j in LAGS:
        references = [i for i in range(j - 1, n_previous) if not flagged[i]][:MAX_REFERENCES]
        if len(references) >= MIN_REFERENCES:
            plans.append((j, references))
    return plans


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


def _top_bottom_margins(shifts: Sequence[tuple[float, float]]) -> tuple[int, int]:
    """Rows left out at the top and at the bottom: a reference shifted down by dy shows dy rows of
    padding at the top, one shifted up shows them at the bottom."""
    dy = np.array([0.0, *(shift[0] for shift in shifts)])
    return tuple(
        int(min(_MARGIN, max(_MIN_MARGIN, np.ceil(padding) + _SHIFT_SLACK))) for padding in (dy.max(), -dy.min())
    )


@lru_cache(maxsize=64)
def _inner_mask(shape: tuple[int, int], top: int, bottom: int) -> np.ndarray:
    """Where layers are compared: all but `top` and `bottom` rows and _MARGIN columns at each side.
    Read-only: it is shared between calls."""
    inner = np.zeros(shape, dtype=bool)
    inner[top : shape[0] - bottom, _MARGIN:-_MARGIN] = True
    inner.flags.writeable = False
    return inner


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


def change_scores(
    images: np.ndarray, threshold: float | None = None, layouts: Sequence[str] | None = None
) -> np.ndarray:
    """change_score() of each layer of one job in order, each against the ones before; NaN where
    none. With the channel's `threshold`, layers over it are not references (see change_score);
    `layouts` are the layers' stated layouts, where the printer states them (change_chain)."""
    images = np.asarray(images, dtype=np.float32)
    keys = layout_key(images)
    frames = [change_frame(image) for image in images]
    stated = dict(enumerate(layouts or ()))
    scores = np.full(len(images), np.nan)
    limit = np.inf if threshold is None else threshold
    for t in range(len(images)):
        within = {i: scores[i] for i in range(max(0, t - DEPTH - MIN_REFERENCES), t)}
        earlier = [(i, keys[i], (frames[i], change_flagged(i, within, limit))) for i in range(max(0, t - DEPTH), t)]
        chain = change_chain(t, keys[t], earlier, layout=stated.get(t, ""), layouts=stated)
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
    change: on the demo's printer B, a pit across a layout change added 7 clean layers to its alert.
    """
    for i in range(index, index - 1 - MIN_REFERENCES, -1):  # the layer itself first
        score = scores.get(i)
        if score is not None and not np.isnan(score):
            return bool(score > threshold)
    return False


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
