"""The score the alert rules judge: the higher of a layer's two alert channels, each over its own threshold.

- the layer's own score or, for scorers that have it, its layout-memory score (ml.sequence),
  judged against the layer's threshold;
- the change channel (ml.change), judged against the change threshold.

The change score is a maximum over many pixels and filters and never falls to zero: good layers
sit at its baseline, most of the way up to its threshold. So it is rescaled from its baseline:
the baseline maps to 0 and its threshold to the layer's threshold. A good layer then adds nothing
to the alert rules' weighted mean, and a change past the threshold counts more steeply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCORE, LAYOUT_MEMORY, CHANGE = "score", "layout memory", "change"


@dataclass(frozen=True)
class AlertScore:
    value: float
    channel: str  # the channel that gave the value: SCORE, LAYOUT_MEMORY or CHANGE


def alert_score_combine(
    threshold: float,
    *,
    score: float,
    memory: float | None = None,
    change: float | None = None,
    change_threshold: float | None = None,
    change_baseline: float = 0.0,
) -> AlertScore:
    """The higher channel, on the scale of `threshold`. Without a layout-memory score the layer's own
    score stands in; without a change score (None or NaN) or threshold the change channel does not count."""
    best = AlertScore(float(score), SCORE) if memory is None else AlertScore(float(memory), LAYOUT_MEMORY)
    if change is None or np.isnan(change) or not change_threshold:
        return best
    rescaled = threshold * (float(change) - change_baseline) / (change_threshold - change_baseline)
    return AlertScore(rescaled, CHANGE) if rescaled > best.value else best
