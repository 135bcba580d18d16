import numpy as np
import pytest

from ml.scorers.seed import SeedScorer

pytestmark = pytest.mark.long(15)


def test_it_lowers_the_loss_and_reports_every_epoch(good_images):
    calls = []
    history = SeedScorer().fit(
        good_images,
        epochs=6,
        batch_size=4,
        seed=3,
        progress=lambda done, total, loss: calls.append((done, total, loss)),
        verbose=False,
    )
    assert [(done, total) for done, total, _ in calls] == [(i, 6) for i in range(1, 7)]
    assert [loss for _, _, loss in calls] == history["loss"]
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["n_images"] == 8 and history["epochs"] == 6


def test_it_trains_reproducibly_for_a_seed(good_images):
    first = SeedScorer().fit(good_images[:4], epochs=2, batch_size=2, seed=11, verbose=False)
    again = SeedScorer().fit(good_images[:4], epochs=2, batch_size=2, seed=11, verbose=False)
    other = SeedScorer().fit(good_images[:4], epochs=2, batch_size=2, seed=12, verbose=False)
    assert np.allclose(first["loss"], again["loss"], rtol=1e-5)
    assert not np.allclose(first["loss"], other["loss"], rtol=1e-5)
