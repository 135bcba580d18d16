"""The score the alert rules judge: the highest of a layer's alert channels, each over its own threshold.

- the layer's own score or, for scorers that have it, its layout-memory score (ml.layout_memory),
  judged against the layer's threshold;
- the change channel (ml.change), judged against the change threshold;
- powder lost since the previous layer (ml.change.keys.powder_lost_share), judged against
  ml.change.keys.POWDER_LOST_SHARE: a short feed's first layer. The change channel sees a short feed
  too, but it grows over the defect's first layers, and a new layout soon after the onset starts
  its comparison over, so a short feed's first layer must count on its own (ml/README.md has the
  measurement).

The change score is a maximum over many pixels and filters and never falls to zero: good layers
sit at its baseline, most of the way up to its threshold. So it is rescaled from its baseline:
the baseline maps to 0 and its threshold to the layer's threshold. A good layer then adds nothing
to the alert rules' weighted mean, and a change past the threshold counts more steeply.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from ml.change.keys import POWDER_LOST_SHARE

SCORE, LAYOUT_MEMORY, CHANGE, POWDER_LOST = "score", "layout memory", "change", "powder lost"
_VALUE = attrgetter("value")  # max() keeps the first of equals: on a tie the channel chosen first stays


@dataclass(frozen=True)
class AlertScore:
    value: float
    channel: str  # the channel that gave the value: SCORE, LAYOUT_MEMORY, CHANGE or POWDER_LOST


def alert_score_combine(
    threshold: float,
    *,
    score: float,
    memory: float | None = None,
    change: float | None = None,
    change_threshold: float | None = None,
    change_baseline: float = 0.0,
    powder_lost: float | None = None,
) -> AlertScore:
    """The highest channel, on the scale of `threshold`. Without a layout-memory score the layer's own
    score stands in; without a change score (None or NaN) or threshold the change channel does not
    count; `powder_lost`, the share of the bed that lost powder since the previous layer, counts
    where given (not None or NaN), POWDER_LOST_SHARE at the layer's threshold."""
    best = AlertScore(float(score), SCORE) if memory is None else AlertScore(float(memory), LAYOUT_MEMORY)
    if change is not None and not np.isnan(change) and change_threshold:
        rescaled = threshold * (float(change) - change_baseline) / (change_threshold - change_baseline)
        best = max(best, AlertScore(rescaled, CHANGE), key=_VALUE)
    if powder_lost is not None and not np.isnan(powder_lost):
        best = max(best, AlertScore(threshold * float(powder_lost) / POWDER_LOST_SHARE, POWDER_LOST), key=_VALUE)
    return best
