import numpy as np
import pytest
from scipy import ndimage

from ml.registration import estimate_shift
from ml.synthetic import Variation, generate_job


@pytest.fixture(scope="module")
def two_layers() -> tuple[np.ndarray, np.ndarray]:
    """Two layers of one layout, each with its own fresh powder grain, from an unshaken camera."""
    job = generate_job(seed=11, n_layers=2, machine_seed=4, variation=Variation(shift=0.0))
    return tuple(layer.image.astype(np.float32) / 255.0 for layer in job)


def test_it_recovers_a_sub_pixel_camera_shift_between_layers_with_fresh_grain(two_layers):
    earlier, later = two_layers
    moved = ndimage.shift(later, (1.6, -2.3), order=1, mode="nearest")
    dy, dx = estimate_shift(moved, earlier)
    assert dy == pytest.approx(1.6, abs=0.35) and dx == pytest.approx(-2.3, abs=0.35)


def test_it_finds_no_shift_between_two_layers_from_the_same_camera_position(two_layers):
    dy, dx = estimate_shift(*two_layers)
    assert abs(dy) < 0.35 and abs(dx) < 0.35


def test_it_never_reports_more_than_the_largest_shift_it_searches(two_layers):
    earlier, _ = two_layers
    moved = ndimage.shift(earlier, (0, 12), order=1, mode="nearest")
    dy, dx = estimate_shift(moved, earlier, max_shift=4)
    assert abs(dy) <= 4 and abs(dx) <= 4
