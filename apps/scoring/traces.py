"""What a scored layer leaves on its LayerScore for the job's next layers to compare with: small
float16 arrays, cleared once no later layer compares with them."""

import zlib
from dataclasses import dataclass
from functools import reduce
from operator import or_

import numpy as np
from django.db.models import Q

from apps.layers.models import Layer
from apps.scoring.models import LayerScore, ModelVersion


def encode_array(array: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(array, dtype=np.float16).tobytes(), 1)


def decode_array(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(zlib.decompress(bytes(data)), dtype=np.float16).reshape(shape).astype(np.float32)


def traces_clear(*, layer: Layer, version: ModelVersion, keep: int, fields: tuple[str, ...]) -> None:
    """Clear `fields` on the job's scores (by this version) more than `keep` layers behind `layer`."""
    LayerScore.objects.filter(
        model_version=version,
        layer__job_id=layer.job_id,
        layer__index__lt=layer.index - keep,
    ).filter(reduce(or_, (Q(**{f"{field}__isnull": False}) for field in fields))).update(
        **dict.fromkeys(fields)
    )


@dataclass(frozen=True)
class EarlierLayer:
    """One of the job's earlier layers as its LayerScore (by the same version) left it for the
    alert channels: the layout key decoded, since both channels read it, the other arrays as stored
    (None where pruned or never left), for the channel that reads them to decode."""

    index: int
    layout: str  # the printer's stated layout, "" where it states none
    layout_key: np.ndarray | None  # the parts key, ml.change.keys.parts_keys
    change_score: float | None
    change_frame: bytes | None
    layout_embedding: bytes | None
    layout_trace: bytes | None


def earlier_layers(*, layer: Layer, version: ModelVersion, depth: int) -> list[EarlierLayer]:
    """The job's layers (scored by this version) up to `depth` before `layer`, oldest first: what
    both alert channels compare the layer with, read in one query."""
    rows = (
        LayerScore.objects.filter(
            model_version=version,
            layer__job_id=layer.job_id,
            layer__index__gte=layer.index - depth,
            layer__index__lt=layer.index,
        )
        .order_by("layer__index")
        .values_list(
            "layer__index", "layer__layout", "layout_key", "change_score", "change_frame", "layout_embedding",
            "layout_trace",
        )
    )
    return [
        EarlierLayer(index, layout, None if key is None else decode_array(key, (-1,)), *rest)
        for index, layout, key, *rest in rows
    ]
