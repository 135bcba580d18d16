import numpy as np
import pytest

from apps.records.heatmaps import heatmap_decode
from apps.scoring.rendering import SCALE_MAX, heatmap_png


@pytest.mark.parametrize("side", [256, 512])
def test_it_reads_a_stored_heatmap_back_in_the_model_frame_keeping_a_line_one_pixel_wide(side):
    heat = np.zeros((side, side), np.float32)
    heat[40:200, side // 2 + 1] = 1.5
    decoded = heatmap_decode(heatmap_png(heat, vmax=SCALE_MAX))
    assert decoded.shape == (256, 256)
    assert decoded.max() == pytest.approx(1.5, abs=0.01)
    assert decoded[30:100, :].argmax() % 256 == (side // 2 + 1) * 256 // side
