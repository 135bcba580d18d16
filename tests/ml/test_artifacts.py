import hashlib
import json
import zipfile

import keras
import numpy as np
import pytest

from ml.artifacts import SCORER_ENTRY, file_sha256, load_scorer, read_artifact_metadata
from ml.scorers import SCORERS, register
from ml.scorers.seed import SeedScorer

# Keras's own weight loading trips numpy 2's __array__(copy=...) deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_it_round_trips_a_scorer_with_identical_scores(trained_seed, good_images, tmp_path):
    path = tmp_path / "machines" / "seed.keras"
    trained_seed.save(path)
    loaded = SeedScorer.load(path)
    assert isinstance(loaded, SeedScorer)
    assert loaded.config == trained_seed.config
    before = trained_seed.score(good_images[:3])
    after = loaded.score(good_images[:3])
    assert np.array_equal(before.scores, after.scores)
    assert np.array_equal(before.heatmaps, after.heatmaps)


def test_it_stays_loadable_by_plain_keras(trained_seed, good_images, tmp_path):
    path = tmp_path / "seed.keras"
    trained_seed.save(path)
    model = keras.models.load_model(path)
    expected = trained_seed.keras_model.predict_on_batch(good_images[:1, ..., None])
    assert np.array_equal(model.predict_on_batch(good_images[:1, ..., None]), expected)


def test_it_records_the_scorer_name_and_config(trained_seed, tmp_path):
    path = tmp_path / "seed.keras"
    trained_seed.save(path)
    with zipfile.ZipFile(path) as archive:
        stored = json.loads(archive.read(SCORER_ENTRY))
    assert stored["scorer"] == "seed"
    assert stored["config"] == trained_seed.config
    assert read_artifact_metadata(path)["format"] == 1


def test_it_hashes_the_file(trained_seed, tmp_path):
    path = tmp_path / "seed.keras"
    trained_seed.save(path)
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_it_refuses_a_keras_file_without_layerwatch_metadata(trained_seed, tmp_path):
    path = tmp_path / "bare.keras"
    trained_seed.keras_model.save(path)
    with pytest.raises(ValueError, match="not a layerwatch artifact"):
        load_scorer(path)


def test_it_round_trips_scorer_state_arrays(trained_seed, tmp_path, monkeypatch):
    # The placeholder makes monkeypatch remove the registration after the test.
    monkeypatch.setitem(SCORERS, "seed_with_state", None)

    @register
    class StatefulSeed(SeedScorer):
        name = "seed_with_state"

        def get_state(self):
            return {"pixel_mean": self.pixel_mean}

        def set_state(self, state):
            self.pixel_mean = state["pixel_mean"]

    scorer = StatefulSeed.from_artifact(
        model=trained_seed.keras_model, config={}, state={"pixel_mean": np.eye(3)}
    )
    path = tmp_path / "stateful.keras"
    scorer.save(path)
    loaded = load_scorer(path)
    assert type(loaded) is StatefulSeed
    assert np.array_equal(loaded.pixel_mean, np.eye(3))


def test_it_rejects_a_path_without_the_keras_suffix(trained_seed, tmp_path):
    with pytest.raises(ValueError, match=".keras"):
        trained_seed.save(tmp_path / "seed.h5")
