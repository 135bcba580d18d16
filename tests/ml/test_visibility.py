import numpy as np
import pytest

from ml.synthetic import Variation, machine_of, render_layer
from ml.synthetic.visibility import ideal_visibility

MACHINE = machine_of(4)


def blob(amplitude: float, sigma: float, centre: tuple[int, int] = (128, 128)) -> np.ndarray:
    yy, xx = np.mgrid[:256, :256]
    return amplitude * np.exp(-0.5 * ((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / sigma**2)


def matched_filter(signal: np.ndarray, image: np.ndarray) -> float:
    """The ideal observer's statistic: the image correlated with the signal whitened by the noise
    spectrum that ideal_visibility assumes; its mean is d'^2 on the signal and its std d' on noise."""
    grain = (2.8 * MACHINE.grain_sigma) ** 2 * np.exp(
        -4 * np.pi**2 * 0.8**2 * (np.fft.fftfreq(256)[:, None] ** 2 + np.fft.fftfreq(256)[None, :] ** 2)
    )
    power = grain + MACHINE.sensor_noise**2 + 1 / 12
    return float(np.real(np.sum(np.conj(np.fft.fft2(signal)) * np.fft.fft2(image) / power)) / signal.size)


@pytest.fixture(scope="module")
def rendered_noise() -> np.ndarray:
    """Bare powder layers of one machine that differ only in their grain and sensor noise."""
    layers = np.stack(
        [
            render_layer(
                np.random.default_rng([5, i]),
                MACHINE,
                [],
                index=0,
                gain=1.0,
                offset=0.0,
                variation=Variation(exposure=0.0, shift=0.0),
            )[0].astype(np.float64)
            for i in range(150)
        ]
    )
    return (layers - layers.mean(axis=0)) * np.sqrt(150 / 149)


def test_ideal_visibility_is_the_matched_filters_snr_on_the_renderers_own_noise(rendered_noise):
    signal = blob(6.0, 1.5)
    d = ideal_visibility(signal, MACHINE)
    spread = np.std([matched_filter(signal, noise) for noise in rendered_noise])
    assert spread / d == pytest.approx(1.0, abs=0.15)
    assert matched_filter(signal, signal) == pytest.approx(d**2, rel=1e-6)


def test_a_defect_seen_on_more_layers_is_more_visible_by_the_square_root_of_their_noise():
    single = ideal_visibility(blob(6.0, 1.5), MACHINE)
    assert ideal_visibility(blob(6.0, 1.5), MACHINE, recent=4) == pytest.approx(2 * single)
    against_references = ideal_visibility(blob(6.0, 1.5), MACHINE, recent=4, references=5)
    assert against_references == pytest.approx(single / np.sqrt(1 / 4 + 1 / 5))


def test_visibility_grows_with_contrast_and_fades_for_a_defect_finer_than_the_grain():
    assert ideal_visibility(blob(12.0, 1.5), MACHINE) == pytest.approx(2 * ideal_visibility(blob(6.0, 1.5), MACHINE))
    # Same peak contrast: a broad blob collects more signal than the grain hides.
    assert ideal_visibility(blob(6.0, 4.0), MACHINE) > 2 * ideal_visibility(blob(6.0, 1.5), MACHINE)
    assert ideal_visibility(np.zeros((256, 256)), MACHINE) == 0.0
