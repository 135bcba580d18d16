"""What a scored layer leaves on its LayerScore for the job's next layers to compare with: small
float16 arrays, cleared once no later layer compares with them."""

import zlib
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


def traces_before(
    *,
    layer: Layer,
    version: ModelVersion,
    depth: int,
    key: str,
    trace: str,
    shape: tuple[int, ...],
    also: tuple[str, ...] = (),
) -> list[tuple]:
    """(index, key, trace, *also) of the job's layers (by this version) up to `depth` before `layer`
    that left both arrays: the `earlier` that ml.layout_runs.unbroken_run takes, with the fields named
    in `also` as they are stored."""
    rows = LayerScore.objects.filter(
        model_version=version,
        layer__job_id=layer.job_id,
        layer__index__gte=layer.index - depth,
        layer__index__lt=layer.index,
        **{f"{key}__isnull": False, f"{trace}__isnull": False},
    ).values_list("layer__index", key, trace, *also)
    return [(index, decode_array(k, (-1,)), decode_array(t, shape), *rest) for index, k, t, *rest in rows]
