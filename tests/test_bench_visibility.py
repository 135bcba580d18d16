import numpy as np
import pytest

from bench.research.visibility import ideal_search_detection, ideal_visibility, scan_threshold
from ml.synthetic import Variation, machine_of, render_layer

MACHINE = machine_of(4)


def blob(amplitude: float, sigma: float, centre: tuple[int, int] = (128, 128)) -> np.ndarray:
    yy, xx = np.mgrid[:256, :256]
    return amplitude * np.exp(-0.5 * ((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / sigma**2)


def noise_power() -> np.ndarray:
    """The noise spectrum that ideal_visibility assumes, written out again from the renderer's constants."""
    grain = (2.8 * MACHINE.grain_sigma) ** 2 * np.exp(
        -4 * np.pi**2 * 0.8**2 * (np.fft.fftfreq(256)[:, None] ** 2 + np.fft.fftfreq(256)[None, :] ** 2)
    )
    return grain + MACHINE.sensor_noise**2 + 1 / 12


def matched_filter(signal: np.ndarray, image: np.ndarray) -> float:
    """The ideal observer's statistic: the image correlated with the signal whitened by the noise
    spectrum that ideal_visibility assumes; its mean is d'^2 on the signal and its std d' on noise."""
    return float(np.real(np.sum(np.conj(np.fft.fft2(signal)) * np.fft.fft2(image) / noise_power())) / signal.size)


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


def test_the_scan_threshold_is_passed_by_the_renderers_own_noise_as_often_as_asked(rendered_noise):
    signal = blob(6.0, 1.5)
    threshold = scan_threshold(signal, MACHINE, false_alarm_rate=0.2)
    # The filter scanned at every shift of the renderer's noise layers (the matched filter's field,
    # taken with np.fft like the test's own matched_filter).
    whitened = np.conj(np.fft.fft2(signal)) / noise_power()
    d = ideal_visibility(signal, MACHINE)
    peaks = [np.real(np.fft.ifft2(whitened * np.fft.fft2(noise))).max() / d for noise in rendered_noise]
    assert np.mean(np.array(peaks) > threshold) == pytest.approx(0.2, abs=0.1)
    # Rarer false alarms need a higher threshold: many times the noise's std for one in 10,000 layers.
    assert scan_threshold(signal, MACHINE, false_alarm_rate=1e-4) > threshold + 1.0 > 4.0


def test_a_defect_is_found_in_a_scan_only_once_its_d_prime_passes_the_noises_highest_peaks():
    # d' 2.3, 5.1, 6.5 and 10.5 on one layer.
    amplitudes = (10, 22, 28, 45)
    shares = [ideal_search_detection(blob(a, 1.5), MACHINE, false_alarm_rate=1e-3, trials=200) for a in amplitudes]
    assert shares[0] == 0.0 and shares[3] == 1.0
    # At d' 5.1 a detector told where to look would find it on 98% of layers at this false alarm
    # rate; scanning the whole bed for it, the noise's highest peaks hide it on most.
    assert 0.05 < shares[1] < 0.5 < shares[2] < 0.95
    assert ideal_search_detection(np.zeros((256, 256)), MACHINE, false_alarm_rate=1e-3) == 0.0
