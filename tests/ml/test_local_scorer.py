import numpy as np
import pytest

from ml.artifacts import load_scorer
from ml.residuals import confirmed_by_median, normalise_photometric, shift_tolerant_residual
from ml.scorers import SCORERS, get_scorer_class
from ml.scorers.local import LocalScorer
from ml.synthetic import generate_layers
from tests.ml.helpers import synthetic_batch

pytestmark = pytest.mark.long(8)

TINY = {"min_samples": 16, "map_holdout": 0.0}


@pytest.fixture(scope="module")
def trained_local(good_images: np.ndarray) -> LocalScorer:
    scorer = LocalScorer(TINY)
    scorer.fit(good_images, epochs=1, batch_size=8, verbose=False)
    return scorer


@pytest.fixture(scope="module")
def spotted() -> tuple[np.ndarray, np.ndarray]:
    """A fresh good layer with a bright spot of radius 4 painted on, and the spot's mask."""
    image = synthetic_batch(seed=7, n=10)[9:10].copy()
    yy, xx = np.mgrid[0:256, 0:256]
    mask = (yy - 150) ** 2 + (xx - 90) ** 2 <= 16
    image[0][mask] = np.clip(image[0][mask] + 0.25, 0, 1)
    return image, mask


def test_it_is_registered_under_its_name():
    assert get_scorer_class("local") is LocalScorer
    assert SCORERS["local"].heatmap_vmax > 0


def test_it_undoes_exposure_gain_and_offset_before_scoring(good_images):
    brighter = np.clip(1.15 * good_images[:2] + 0.04, 0, 1)
    assert normalise_photometric(brighter)[0] == pytest.approx(
        normalise_photometric(good_images[:2])[0], abs=0.02
    )


def test_it_ignores_exposure_change_more_than_seed(trained_local, trained_seed, good_images):
    darker = np.clip(0.85 * good_images[:3] - 0.03, 0, 1)

    def relative_change(scorer):
        before, after = scorer.score(good_images[:3]).scores, scorer.score(darker).scores
        return np.mean(np.abs(after - before) / np.abs(before))

    assert relative_change(trained_local) < 0.2 * relative_change(trained_seed)


def test_it_forgives_a_one_pixel_misalignment_of_an_edge():
    image = np.zeros((1, 32, 32), dtype=np.float32)
    image[0, :, 16:] = 1.0
    moved = np.zeros_like(image)
    moved[0, :, 15:] = 1.0
    assert np.abs(shift_tolerant_residual(moved, image, tolerance=1)).max() == 0.0
    assert np.abs(shift_tolerant_residual(moved, image, tolerance=0)).max() == 1.0


def test_it_flags_a_spot_above_good_and_shifted_layers(trained_local, good_images, spotted):
    image, _ = spotted
    clean = synthetic_batch(seed=7, n=10)[9:10]
    shifted = np.roll(clean, 2, axis=(1, 2))
    scores = trained_local.score(np.concatenate([clean, shifted, image])).scores
    assert scores[2] > max(scores[0], scores[1], trained_local.score(good_images).scores.max())


def test_it_puts_the_heatmap_peak_inside_the_defect(trained_local, spotted):
    image, mask = spotted
    heatmap = trained_local.score(image).heatmaps[0]
    peak = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    near = np.zeros_like(mask)
    near[max(peak[0] - 3, 0) : peak[0] + 4, max(peak[1] - 3, 0) : peak[1] + 4] = True
    assert (near & mask).any()
    assert heatmap.dtype == np.float32 and heatmap.min() >= 0


def test_it_scores_identically_after_an_artifact_round_trip(trained_local, good_images, tmp_path):
    path = tmp_path / "local.keras"
    trained_local.save(path)
    loaded = load_scorer(path)
    assert isinstance(loaded, LocalScorer)
    for key, value in trained_local.get_state().items():
        assert np.array_equal(loaded.get_state()[key], value)
    np.testing.assert_allclose(
        loaded.score(good_images[:2]).scores, trained_local.score(good_images[:2]).scores, rtol=1e-6
    )


def test_it_rejects_foreign_state():
    with pytest.raises(ValueError, match="expects state"):
        LocalScorer().set_state({"something": np.zeros(3)})


def test_it_refuses_to_score_without_residual_statistics(trained_local, good_images):
    bare = LocalScorer.from_artifact(model=trained_local.keras_model, config=TINY, state={})
    with pytest.raises(RuntimeError, match="residual statistics"):
        bare.score(good_images[:1])


def test_it_exposes_bottleneck_features(trained_local, good_images):
    assert trained_local.features(good_images[:2]).shape == (2, 32, 32, 16)


def test_it_scores_uneven_lighting_far_below_a_spot_of_the_same_contrast(trained_local, good_images, spotted):
    yy, xx = np.mgrid[0:256, 0:256] / 255.0
    # A gentle light fall-off across the bed, 0.25 grey (as strong as the spot) from corner to corner.
    lit = np.clip(good_images[:3] + 0.25 * (xx + yy) / 2, 0, 1)
    spot_score = trained_local.score(spotted[0]).scores[0]
    # Without removing the residual's smooth part, the lit layers score about as high as the spot.
    assert trained_local.score(lit).scores.max() < 0.5 * spot_score


def test_it_keeps_options_off_for_artifacts_saved_before_they_existed(trained_local):
    new_options = ("highpass", "local_energy", "median_ring")
    config = {k: v for k, v in trained_local.config.items() if k not in new_options}
    old = LocalScorer.from_artifact(model=trained_local.keras_model, config=config, state=trained_local.get_state())
    assert old.config["highpass"] == 0.0 and old.config["local_energy"] == 0.0
    assert old.config["median_ring"] == 0
    assert trained_local.config["highpass"] > 0 and trained_local.config["median_ring"] > 0


def test_it_scores_a_part_layout_it_never_saw_below_a_spot(trained_local, spotted):
    # Same machine and job as the training layers (group 0), but other groups' parts.
    new_layouts = np.stack(
        [layer.image for g in (1, 2, 3) for layer in generate_layers(seed=7, n=1, group=g, first=50)]
    ).astype(np.float32) / 255.0
    assert trained_local.score(new_layouts).scores.max() < 0.5 * trained_local.score(spotted[0]).scores[0]


def test_median_confirmation_drops_a_missing_region_and_keeps_a_thin_line():
    image = np.full((1, 64, 64), 0.5, dtype=np.float32)
    image[0, 10:40, 10:40] = 0.8  # a part the reconstruction lacks
    image[0, 50, 5:60] = 0.8  # a one-pixel line the reconstruction lacks too
    reconstruction = np.full_like(image, 0.5)
    residual = confirmed_by_median(image, image - reconstruction, radius=5)
    # Everywhere along its straight edges, a pixel inside too; only its corners get rounded off.
    assert np.abs(residual[0, 10:40, 18:32]).max() == 0.0
    assert np.abs(residual[0, 18:32, 10:40]).max() == 0.0
    assert residual[0, 50, 10:55].min() == pytest.approx(0.3)


def test_median_confirmation_drops_pixels_where_the_two_references_disagree_in_sign():
    image = np.full((1, 16, 16), 0.5, dtype=np.float32)
    image[0, 8, 8] = 0.7  # brighter than its neighbourhood...
    reconstruction = np.full_like(image, 0.9)  # ...but darker than the reconstruction
    assert confirmed_by_median(image, image - reconstruction, radius=3)[0, 8, 8] == 0.0
