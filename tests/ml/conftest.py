import numpy as np
import pytest

from ml.scorers.seed import SeedScorer
from tests.ml.helpers import synthetic_batch


@pytest.fixture(scope="session")
def good_images() -> np.ndarray:
    return synthetic_batch(seed=7, n=8)


@pytest.fixture(scope="session")
def trained_seed(good_images: np.ndarray) -> SeedScorer:
    """A seed scorer trained just enough to reconstruct something; shared by the ml tests."""
    scorer = SeedScorer()
    scorer.fit(good_images, epochs=2, batch_size=4, verbose=False)
    return scorer
