"""How visible a synthetic defect is to the best possible detector: the ideal observer's d'.

A detector that knew a defect's exact signal and where it is could do no better than a matched
filter against the layers' noise. On a synthetic machine that noise is known exactly: the fresh
powder grain of every layer (white noise blurred by GRAIN_BLUR px) and the sensor's white noise.
The filter's signal-to-noise ratio d' bounds what any detector can see. One that searches the
whole bed for a defect of unknown shape, and may raise a false alarm on one good layer in a
thousand, needs a d' well above the largest of many noise peaks: a defect at d' 4 is lost in the
grain whatever the detector.

A detector that compares the mean of the last `recent` layers with the mean of `references`
layers before them (as ml.change does) sees that difference's noise, the layers' noise times
sqrt(1/recent + 1/references). The defect is taken to stay put on the bed and the layers to be
lined up perfectly, the grain at its bare-powder strength (on a part it is weaker), and the faint
recoater lines, which differ on every layer, are left out of the noise: no detector reaches a
higher d' than this on bare powder.

numpy only.
"""

from __future__ import annotations

import numpy as np

from ml.synthetic.layers import GRAIN_BLUR, GRAIN_SCALE, Machine

_ROUNDING_VARIANCE = 1 / 12  # the photo is rounded to whole grey levels


def ideal_visibility(signal: np.ndarray, machine: Machine, *, recent: int = 1, references: int | None = None) -> float:
    """d' of a defect's `signal` (H, W grey levels: a layer with the defect less the same layer
    rendered without it), in one layer or, with `references`, in the mean of `recent` layers
    less the mean of `references` layers without the defect."""
    s = np.asarray(signal, dtype=np.float64)
    d_squared = float((np.abs(np.fft.fft2(s)) ** 2 / _noise_power(s.shape, machine)).sum()) / s.size
    return float(np.sqrt(d_squared / _noise_scale(recent, references)))


def _noise_power(shape: tuple[int, int], machine: Machine) -> np.ndarray:
    """(H, W) the noise's power at each frequency of np.fft.fft2: the grain, the sensor, the rounding."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    grain = (GRAIN_SCALE * machine.grain_sigma) ** 2 * np.exp(-4 * np.pi**2 * GRAIN_BLUR**2 * (fx**2 + fy**2))
    return grain + machine.sensor_noise**2 + _ROUNDING_VARIANCE


def _noise_scale(recent: int, references: int | None) -> float:
    """The noise of the mean of `recent` layers less the mean of `references`, against one layer's."""
    return 1 / recent + (0 if references is None else 1 / references)


def ideal_search_detection(
    signal: np.ndarray,
    machine: Machine,
    *,
    recent: int = 1,
    references: int | None = None,
    false_alarm_rate: float,
    trials: int = 400,
    seed: int = 0,
) -> float:
    """The share of layers on which a detector that knows the defect's exact shape, but not where
    on the bed it lies, finds it while raising false alarms on `false_alarm_rate` of good layers.

    That detector scans the bed with the matched filter of ideal_visibility and alerts where the
    highest response anywhere passes scan_threshold(). A known-shape scan is still better than any
    real detector, which knows neither where nor what, so this bounds the share any detector can
    reach at that false alarm rate. The scan covers the whole frame, a little more than a bed.
    """
    whitened, d = _whitened_filter(signal, machine, recent, references)
    if d == 0:
        return 0.0
    threshold = _scan_threshold(whitened, d, false_alarm_rate, trials, seed)
    shape = np.shape(signal)
    # The mean response to the defect, in the noise's standard deviations: d' where it lies.
    defect_response = np.fft.irfft2(np.abs(whitened) ** 2, s=shape) / d
    rng = np.random.default_rng([seed, 12])
    found = [(_noise_response(whitened, d, rng) + defect_response).max() > threshold for _ in range(trials)]
    return float(np.mean(found))


def scan_threshold(
    signal: np.ndarray,
    machine: Machine,
    *,
    recent: int = 1,
    references: int | None = None,
    false_alarm_rate: float,
    trials: int = 400,
    seed: int = 0,
) -> float:
    """What the highest response of `signal`'s matched filter, scanned over a layer of noise alone,
    passes on `false_alarm_rate` of layers, in the response's standard deviations. The highest
    responses are drawn `trials` times and their Gumbel tail (ml.calibration) gives the threshold:
    the rates that matter are far rarer than the draws can show.
    """
    whitened, d = _whitened_filter(signal, machine, recent, references)
    return _scan_threshold(whitened, d, false_alarm_rate, trials, seed)


def _scan_threshold(whitened: np.ndarray, d: float, false_alarm_rate: float, trials: int, seed: int) -> float:
    """scan_threshold() for the filter _whitened_filter() gave."""
    from ml.calibration import calibrate_gumbel_tail

    rng = np.random.default_rng([seed, 11])
    peaks = [_noise_response(whitened, d, rng).max() for _ in range(trials)]
    return calibrate_gumbel_tail(np.array(peaks), target_fpr=false_alarm_rate).threshold


def _whitened_filter(
    signal: np.ndarray, machine: Machine, recent: int, references: int | None
) -> tuple[np.ndarray, float]:
    """The signal's spectrum (np.fft.rfft2) over the noise's amplitude, and its d'. Noise whitened
    the same way is white, so correlating that with this filter is the matched filter."""
    s = np.asarray(signal, dtype=np.float64)
    power = _noise_power(s.shape, machine)[:, : s.shape[1] // 2 + 1]  # even in each frequency
    whitened = np.fft.rfft2(s) / np.sqrt(power * _noise_scale(recent, references))
    return whitened, ideal_visibility(s, machine, recent=recent, references=references)


def _noise_response(whitened: np.ndarray, d: float, rng: np.random.Generator) -> np.ndarray:
    """The matched filter's response at every shift to one draw of the noise, whitened: unit
    variance, since the filter's energy is d'^2."""
    shape = (whitened.shape[0], 2 * (whitened.shape[1] - 1))
    white = np.fft.rfft2(rng.standard_normal(shape))
    return np.fft.irfft2(white * np.conj(whitened), s=shape) / d
