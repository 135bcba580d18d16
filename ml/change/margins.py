"""Where the change channel compares layers: all but a margin at each side of the photo.

Near the border a shifted layer shows padding, a camera shift smears a photo's own edge, and the
bed's walls and rails catch the light differently from layer to layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

# px left out at the sides: more than a camera shakes between layers, so the walls beside the bed
# stay out.
MARGIN = 10
# The powder runs to the top and bottom of the photo (the recoater travels across, between the
# walls), and a recoater streak runs along it: there only the rows a reference was shifted across
# (padding), and _SHIFT_SLACK px beyond for the interpolation, are left out, never fewer than
# _MIN_MARGIN, so a streak near the top or bottom is still seen.
_MIN_MARGIN, _SHIFT_SLACK = 4, 2
# In that band no filter looks within BORDER_GATE_REACH px of the references' strong edges (a rail,
# a wall, the photo's own edge), one more than the thin lines' GATE_REACH: a line filter a pixel
# across still responds 3 px from an edge whose sharpness changed.
BORDER_GATE_REACH = 3


def top_bottom_margins(shifts: Sequence[tuple[float, float]]) -> tuple[int, int]:
    """Rows left out at the top and at the bottom: a reference shifted down by dy shows dy rows of
    padding at the top, one shifted up shows them at the bottom."""
    dy = np.array([0.0, *(shift[0] for shift in shifts)])
    return tuple(
        int(min(MARGIN, max(_MIN_MARGIN, np.ceil(padding) + _SHIFT_SLACK))) for padding in (dy.max(), -dy.min())
    )


@lru_cache(maxsize=64)
def inner_mask(shape: tuple[int, int], top: int, bottom: int) -> np.ndarray:
    """Where layers are compared: all but `top` and `bottom` rows and MARGIN columns at each side.
    Read-only: it is shared between calls."""
    inner = np.zeros(shape, dtype=bool)
    inner[top : shape[0] - bottom, MARGIN:-MARGIN] = True
    inner.flags.writeable = False
    return inner
