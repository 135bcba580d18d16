"""The change channel in scoring: each layer against the same parts' previous layers of its job (ml.change).

Every scored layer leaves its standardised frame and layout key on its LayerScore, so the
layers after it can be lined up with it; they are cleared once no later layer compares with them.
A layer whose previous layers are not scored yet (out of order, or in another worker's batch)
finds a shorter chain, or none, and is judged by the other channels. Where the printer states each
layer's part layout (Layer.layout), that, not the layout key, says which layers show the same
parts. A layer whose change passed the threshold is not a reference for the layers after it, nor
are a new layout's first layers after one that passed it (see ml.change.scoring.change_flagged).
"""

from apps.layers.models import Layer
from apps.scoring.models import ModelVersion
from apps.scoring.traces import EarlierLayer, decode_array, encode_array, traces_clear
from ml.change.scoring import (
    DEPTH,
    MIN_REFERENCES,
    ChangeResult,
    change_chain,
    change_flagged,
    change_frame,
    change_score,
)
from ml.preprocess import IMAGE_SIZE

_FRAME_SHAPE = (IMAGE_SIZE, IMAGE_SIZE)
_KEEP_LAYERS = 2 * DEPTH  # frames kept behind the newest scored layer, for late arrivals
# Earlier layers the channel reads: the oldest reference's own flag may depend on MIN_REFERENCES
# layers before it (ml.change.scoring.change_flagged).
CHANGE_LOOKBACK = DEPTH + MIN_REFERENCES


def change_fields(
    *, layer: Layer, version: ModelVersion, image, key, earlier: list[EarlierLayer]
) -> tuple[ChangeResult | None, dict]:
    """The layer's change against its layout's previous layers (None where the version has no
    change threshold, or the layout too few layers yet), and what it leaves for the next layers.
    `key`: the image's parts key (ml.change.keys.parts_keys) (None where the version has no change threshold);
    `earlier`: the job's layers up to CHANGE_LOOKBACK before it (apps.scoring.traces.earlier_layers)."""
    if not version.change_threshold:
        return None, {}
    frame = change_frame(image)
    earlier = [e for e in earlier if e.layout_key is not None and e.change_frame is not None]
    # A layer whose change passed the threshold is not a reference (ml.change.scoring.change_flagged).
    scores = {e.index: e.change_score for e in earlier}
    flagged = [
        (e.index, e.layout_key, (e.change_frame, change_flagged(e.index, scores, version.change_threshold)))
        for e in earlier
    ]
    chain = change_chain(
        layer.index, key, flagged, stated_layout=layer.layout, stated_layouts={e.index: e.layout for e in earlier}
    )
    # Only the chain's frames are decoded: the layers before it are read for their flags.
    frames = [decode_array(stored, _FRAME_SHAPE) for stored, _ in chain]
    result = change_score(frame, frames, [flag for _, flag in chain])
    fields = {
        "change_frame": encode_array(frame),
        "layout_key": encode_array(key),
        "change_score": None if result is None else result.score,
    }
    return result, fields


def change_prune(*, layer: Layer, version: ModelVersion) -> None:
    """Clear the frames of the job's layers that later layers will no longer compare with."""
    traces_clear(layer=layer, version=version, keep=_KEEP_LAYERS, fields=("change_frame", "layout_key"))
