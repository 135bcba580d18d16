"""The change channel in scoring: each layer against the same parts' previous layers of its job (ml.change).

Every scored layer leaves its standardised frame and layout key on its LayerScore, so the
layers after it can be lined up with it; they are cleared once no later layer compares with them.
A layer whose previous layers are not scored yet (out of order, or in another worker's batch)
finds a shorter chain, or none, and is judged by the other channels. Where the printer states each
layer's part layout (Layer.layout), that, not the layout key, says which layers show the same
parts. A layer whose change passed the threshold is not a reference for the layers after it, nor
are a new layout's first layers after one that passed it (see ml.change.change_flagged).
"""

from apps.layers.models import Layer
from apps.scoring.models import ModelVersion
from apps.scoring.traces import encode_array, traces_before, traces_clear
from ml.change import (
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


def change_fields(*, layer: Layer, version: ModelVersion, image, key) -> tuple[ChangeResult | None, dict]:
    """The layer's change against its layout's previous layers (None where the version has no
    change threshold, or the layout too few layers yet), and what it leaves for the next layers.
    `key`: the image's ml.change.layout_key (None where the version has no change threshold)."""
    if not version.change_threshold:
        return None, {}
    frame = change_frame(image)
    earlier = traces_before(
        layer=layer,
        version=version,
        # The oldest layer's own flag may depend on MIN_REFERENCES layers before it (change_flagged).
        depth=DEPTH + MIN_REFERENCES,
        key="layout_key",
        trace="change_frame",
        shape=_FRAME_SHAPE,
        also=("change_score", "layer__layout"),
    )
    # A layer whose change passed the threshold is not a reference (ml.change.change_flagged).
    scores = {i: s for i, _, _, s, _ in earlier}
    flagged = [(i, k, (f, change_flagged(i, scores, version.change_threshold))) for i, k, f, _, _ in earlier]
    stated = {i: layout for i, *_, layout in earlier}
    chain = change_chain(layer.index, key, flagged, layout=layer.layout, layouts=stated)
    result = change_score(frame, [f for f, _ in chain], [flag for _, flag in chain])
    fields = {
        "change_frame": encode_array(frame),
        "layout_key": encode_array(key),
        "change_score": None if result is None else result.score,
    }
    return result, fields


def change_prune(*, layer: Layer, version: ModelVersion) -> None:
    """Clear the frames of the job's layers that later layers will no longer compare with."""
    traces_clear(layer=layer, version=version, keep=_KEEP_LAYERS, fields=("change_frame", "layout_key"))
