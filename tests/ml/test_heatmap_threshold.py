"""Which heatmap value means "at threshold", per scorer."""

import numpy as np
import pytest

from ml.scorers.local import LocalScorer
from ml.scorers.seed import SeedScorer


def test_it_maps_a_threshold_to_the_same_heatmap_value_by_default():
    # The local score is the mean of its top heatmap pixels: the units are the same.
    assert LocalScorer().heatmap_threshold(4.5) == 4.5


def test_it_maps_a_seed_threshold_to_the_rms_pixel_error_of_a_layer_scoring_it():
    images = np.full((1, 256, 256), 0.6, dtype=np.float32)
    reconstructions = images - np.float32(0.02)  # every pixel missed by 0.02
    scores, heatmaps = SeedScorer().score_reconstructions(images, reconstructions)
    assert SeedScorer().heatmap_threshold(float(scores[0])) == pytest.approx(0.02, rel=1e-5)
    assert heatmaps[0] == pytest.approx(np.full((256, 256), 0.02), rel=1e-4)
    assert SeedScorer().heatmap_threshold(255 * 256) == pytest.approx(1.0)
