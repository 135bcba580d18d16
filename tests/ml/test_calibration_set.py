import numpy as np

from ml.calibration_set import calibration_set
from tests.ml.helpers import synthetic_batch


def test_it_pads_few_held_out_layers_with_benign_variants_of_them():
    held_out = synthetic_batch(seed=3, n=3)
    padded = calibration_set(held_out, seed=1, minimum=20)
    assert padded.shape == (20, 256, 256)
    assert np.array_equal(padded[:3], held_out)
    # Variants differ from every original, but only by exposure, noise and a small shift.
    for variant in padded[3:]:
        assert min(np.abs(variant - original).mean() for original in held_out) > 0
        assert abs(variant.mean() - held_out.mean()) < 0.2


def test_it_leaves_enough_held_out_layers_alone():
    held_out = synthetic_batch(seed=3, n=4)
    assert calibration_set(held_out, minimum=4) is held_out


def test_it_is_reproducible_for_a_seed():
    held_out = synthetic_batch(seed=3, n=2)
    assert np.array_equal(calibration_set(held_out, seed=5, minimum=6), calibration_set(held_out, seed=5, minimum=6))
