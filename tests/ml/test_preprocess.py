import numpy as np
import pytest
import tensorflow as tf

from ml.preprocess import IMAGE_SIZE, preprocess, preprocess_batch, to_grayscale
from tests.ml.helpers import PBLM


def test_it_scales_uint8_and_uint16_by_their_range():
    gray8 = to_grayscale(np.array([[0, 255, 51]], dtype=np.uint8))
    gray16 = to_grayscale(np.array([[0, 65535, 13107]], dtype=np.uint16))
    assert np.allclose(gray8, [[0, 1, 0.2]]) and np.allclose(gray16, [[0, 1, 0.2]])
    assert gray16.dtype == np.float32


def test_it_clips_floats_to_the_unit_range():
    gray = to_grayscale(np.array([[-0.5, 0.25, 1.7]], dtype=np.float64))
    assert np.array_equal(gray, [[0.0, 0.25, 1.0]])
    assert gray.dtype == np.float32


def test_it_uses_bt601_luma_and_drops_alpha():
    rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    expected = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255
    assert np.allclose(to_grayscale(rgb), expected, atol=1e-6)
    rgba = np.concatenate([rgb, np.zeros((2, 3, 1), dtype=np.uint8)], axis=2)
    assert np.array_equal(to_grayscale(rgba), to_grayscale(rgb))


def test_it_accepts_a_single_channel_axis():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(to_grayscale(image[..., np.newaxis]), to_grayscale(image))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 2), dtype=np.uint8),
        np.zeros((4,), dtype=np.uint8),
        np.zeros((0, 4), dtype=np.uint8),
        np.full((4, 4), np.nan),
    ],
)
def test_it_rejects_malformed_images(bad):
    with pytest.raises(ValueError):
        to_grayscale(bad)


def test_it_rejects_unsupported_dtypes():
    with pytest.raises(TypeError):
        to_grayscale(np.zeros((4, 4), dtype=np.int32))


@pytest.mark.parametrize("shape", [(1024, 1024), (300, 517), (97, 31, 3), (256, 256, 4)])
def test_it_resizes_any_size_to_256(shape):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = preprocess(image)
    assert out.shape == (IMAGE_SIZE, IMAGE_SIZE)
    assert out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_it_resizes_like_the_seed_bilinear_without_antialias():
    image = np.random.default_rng(1).integers(0, 256, (512, 384), dtype=np.uint8)
    expected = tf.image.resize(
        (image / 255.0)[..., None], (256, 256), method="bilinear", antialias=False
    ).numpy()[..., 0]
    assert np.allclose(preprocess(image), expected, atol=1e-6)


def test_it_leaves_a_256_grayscale_image_unresampled():
    image = np.random.default_rng(2).integers(0, 256, (256, 256), dtype=np.uint8)
    assert np.array_equal(preprocess(image), image.astype(np.float32) / 255)


def test_it_stacks_a_batch_and_handles_an_empty_one():
    images = [np.zeros((40, 50), dtype=np.uint8), np.ones((300, 300, 3), dtype=np.float32)]
    batch = preprocess_batch(images)
    assert batch.shape == (2, 256, 256)
    assert batch[0].max() == 0 and batch[1].min() == pytest.approx(1.0)
    assert preprocess_batch([]).shape == (0, 256, 256)


def test_it_preprocesses_a_real_layer_photo():
    Image = pytest.importorskip("PIL.Image")
    photos = sorted((PBLM / "good").glob("*.jpg"))
    if not photos:
        pytest.skip("PBLM sample images are not available")
    with Image.open(photos[0]) as photo:
        pixels = np.asarray(photo)
    assert pixels.shape == (1024, 1024)
    out = preprocess(pixels)
    assert out.shape == (256, 256)
    # The bed is mid-grey: the mean brightness survives the resize.
    assert abs(out.mean() - pixels.mean() / 255) < 0.02


def test_it_gives_the_model_frame_of_a_larger_layer_as_preprocessing_at_256_would():
    from ml.preprocess import model_frame, preprocess

    photo = (np.random.default_rng(3).random((1024, 1024)) * 255).astype(np.uint8)
    assert np.array_equal(model_frame(preprocess(photo, 1024)[None])[0], preprocess(photo))
