import numpy as np
import pytest

from ml.synthetic import DEFECT_KINDS
from ml.synthetic.on_frames import frame_bed, paint_on_frame
from tests.ml.helpers import synthetic_batch


@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_it_paints_each_defect_kind_inside_the_bed_and_marks_its_pixels(kind):
    frame = synthetic_batch(seed=2, n=1)[0]
    painted, mask = paint_on_frame(frame, kind, np.random.default_rng(4))
    x0, y0, x1, y1 = frame_bed(256)
    assert mask.any() and not mask[:y0].any() and not mask[:, :x0].any()
    changed = np.abs(painted - frame) > 1 / 255
    # What changed is the defect: almost every changed pixel lies in or next to the mask.
    near = np.zeros_like(mask)
    ys, xs = np.nonzero(mask)
    near[max(ys.min() - 8, 0) : ys.max() + 9, max(xs.min() - 8, 0) : xs.max() + 9] = True
    assert changed.any() and (changed & ~near).sum() <= 0.01 * changed.sum() + 5
