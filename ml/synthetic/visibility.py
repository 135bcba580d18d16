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
    height, width = s.shape
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    grain = (GRAIN_SCALE * machine.grain_sigma) ** 2 * np.exp(-4 * np.pi**2 * GRAIN_BLUR**2 * (fx**2 + fy**2))
    power = grain + machine.sensor_noise**2 + _ROUNDING_VARIANCE
    d_squared = float((np.abs(np.fft.fft2(s)) ** 2 / power).sum()) / (height * width)
    noise_scale = 1 / recent + (0 if references is None else 1 / references)
    return float(np.sqrt(d_squared / noise_scale))
