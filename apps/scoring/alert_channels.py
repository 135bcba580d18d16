"""What the alert rules judge for a scored layer: its alert channels, combined (ml.alert_score).

Layout memory (apps.scoring.layout_memory) works on the scorer's heatmap; the change channel
(apps.scoring.change) on the image itself, against the layout's previous layers; where the change
channel runs, powder lost compares the layer's block means with the previous layer's. Each is
judged against its own threshold and the highest, rescaled to the layer's threshold, is
`LayerScore.alert_score`; `alert_channel` says which it was. The per-layer score and its
`anomalous` flag are unchanged, and still shown.
"""

import numpy as np

from apps.layers.models import Layer
from apps.scoring.change import CHANGE_LOOKBACK, change_fields, change_prune
from apps.scoring.layout_memory import layout_memory_fields, layout_memory_prune
from apps.scoring.models import ModelVersion
from apps.scoring.traces import earlier_layers
from apps.scoring.verdicts import Verdict
from ml.alert_score import alert_score_combine
from ml.change.keys import parts_keys, powder_lost_between
from ml.layout_memory.scoring import MEMORY_DEPTH


def alert_channels_fields(*, layer: Layer, version: ModelVersion, verdict: Verdict, image: np.ndarray) -> dict:
    """LayerScore fields for a layer about to be stored: its alert score, the channel that gave
    it, and what it leaves for the layers after it. `image` is the preprocessed layer."""
    # Both channels judge the layout by the change channel's key, where it runs, and read the
    # earlier layers in one query.
    key = parts_keys(image[None])[0] if version.change_threshold else None
    depth = max(
        CHANGE_LOOKBACK if version.change_threshold else 0, MEMORY_DEPTH if verdict.top_fraction is not None else 0
    )
    earlier = earlier_layers(layer=layer, version=version, depth=depth) if depth else []
    step, memory = layout_memory_fields(layer=layer, version=version, verdict=verdict, earlier=earlier, key=key)
    change, frames = change_fields(layer=layer, version=version, image=image, key=key, earlier=earlier)
    lost = _powder_lost(layer=layer, key=key, earlier=earlier)
    fields = {**memory, **frames, "powder_lost": lost, "alert_score": None}
    if step is None and change is None and lost is None:
        return fields  # no channel but the score itself: the rules judge the score
    combined = alert_score_combine(
        verdict.threshold,
        score=verdict.score,
        memory=None if step is None else step.memory,
        change=None if change is None else change.score,
        change_threshold=version.change_threshold,
        change_baseline=version.change_baseline or 0.0,
        powder_lost=lost,
    )
    return {**fields, "alert_score": combined.value, "alert_channel": combined.channel}


def _powder_lost(*, layer: Layer, key, earlier) -> float | None:
    """The share of the bed that lost powder since the previous layer (ml.change.keys.powder_lost_share);
    None without a parts key for both (the change channel off, or the previous layer not scored yet)."""
    previous = next((e for e in earlier if e.index == layer.index - 1), None)
    if key is None or previous is None or previous.layout_key is None:
        return None
    return powder_lost_between(key, previous.layout_key)


def alert_channels_prune(*, layer: Layer, version: ModelVersion) -> None:
    """Clear what the job's older layers left once later layers no longer compare with them."""
    layout_memory_prune(layer=layer, version=version)
    change_prune(layer=layer, version=version)
