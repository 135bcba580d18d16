"""Parts keys: which parts a layer shows, so the change channel compares it only with layers that show the same ones.

A layer's parts key (parts_keys) is its parts signature, then its 8 px block means. parts_keys_match
reads two consecutive layers' keys: the same parts (by their signature, or where too little of
the bed changed for new parts), none of them finished, and not too much of the bed changed; or
the same parts under a bed that lost powder (a short feed changes the signature as much as new
parts do, but it is no new layout). The measurements behind each threshold are in README.md.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# Consecutive layers whose parts signatures correlate less than this show other parts.
SAME_PARTS = 0.6
_BLOCK, _SIGNATURE_MARGIN, _SIGNATURE_HIGHPASS = 8, 16, 3.0
# Powder lost (see powder_lost): a block darker than the previous layer's darkest block within
# _FLOOR_REACH blocks (wider than most parts) by _LOST_DARKENING, on at least POWDER_LOST_SHARE of
# the blocks: good layers and new layouts never darken a block below everything near it.
# The share is an alert channel too (ml.alert_score): POWDER_LOST_SHARE counts as the layer's threshold.
_FLOOR_REACH, _LOST_DARKENING, POWDER_LOST_SHARE = 9, 6 / 255, 0.01
# A block changed: by _BLOCK_CHANGE beyond what the exposure and the camera's shift explain
# (_unexplained_change), well above the grain's block-to-block noise.
_BLOCK_CHANGE = 10 / 255
# A part that finished (see part_finished): at least _FINISH_BLOCKS connected blocks that turned
# darker by _BLOCK_CHANGE, that stood out from the blocks around them by as much and kept at most
# _FINISH_KEPT of that. Fewer blocks would let in part edges between good layers and dark spatter.
_FINISH_BLOCKS, _FINISH_KEPT = 5, 0.3
# A faint part finishes too: where _FINISH_NOISE times the robust spread of the two layers' block
# changes is less than _BLOCK_CHANGE, blocks that darkened by that much (never less than
# _FINISH_FLOOR), stood out by as much, kept at most _FINISH_KEPT of that either way, and have
# nothing beside them that still stands out (see _finished): a quiet bed shows a faint part's end.
_FINISH_NOISE, _FINISH_FLOOR = 4.0, 4 / 255
_FINISH_AROUND = 3  # blocks: what a finished part's blocks are compared with, past the one beside them
_NEW_PART_BLOCKS = 4  # blocks that turned brighter: something new came (see parts_only_finished)
# A change too small for a new layout (see little_changed): fewer than _LITTLE_CHANGE of the blocks
# changed; too large for the same one (see much_changed): _MUCH_CHANGE of them or more. New groups
# of parts change more of the bed than good layers or a defect's onset do.
_LITTLE_CHANGE, _MUCH_CHANGE = 0.02, 0.035


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


def parts_keys(images: np.ndarray) -> np.ndarray:
    """(n, H, W) square images -> (n, 2d): each layer's parts signature, then its 8 px block means
    (what parts_keys_match compares)."""
    blocks = _block_means(images)
    return np.concatenate([_signature(blocks), blocks.reshape(len(blocks), -1)], axis=1)


def same_parts(signature: np.ndarray, previous: np.ndarray) -> bool:
    return float(np.dot(np.asarray(signature, np.float32), np.asarray(previous, np.float32))) >= SAME_PARTS


def parts_keys_match(key: np.ndarray, previous: np.ndarray) -> bool:
    """Whether a layer (its parts key) shows the same part layout as the layer before it: the same parts
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
    """powder_lost_share between two consecutive layers' parts keys; 0 for keys of different lengths."""
    split = _split_keys(key, previous)
    return 0.0 if split is None else powder_lost_share(split[0][1], split[1][1])


def powder_lost_shares(keys: np.ndarray) -> np.ndarray:
    """powder_lost_between each layer's parts key and the one before, for one job's layers in
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
    """Whether, between two consecutive layers' parts keys, a part finished (part_finished) and
    nothing new came: fewer than _NEW_PART_BLOCKS blocks turned brighter by _BLOCK_CHANGE, beyond
    what the exposure and the camera's shift explain. False for keys of different lengths.

    A new group of parts also leaves the old ones' blocks as dark as the powder, so part_finished
    alone passes most new groups of parts, but new parts brighten blocks (README.md has the counts)."""
    split = _split_keys(key, previous)
    if split is None:
        return False
    levels, previous_levels = _grid(split[0][1]), _grid(split[1][1])
    change = _unexplained_change(levels, previous_levels)
    # Where a faint part can be seen to finish, a faint new part is seen to come: it may brighten
    # no 4 blocks by _BLOCK_CHANGE.
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
    """Two parts keys, each as [parts signature, block means] (float32); None for keys of
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
    that alone can darken groups of blocks as much as a finished part does. The
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
