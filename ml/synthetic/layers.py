"""Synthetic powder-bed layer photos for demos and tests, deterministic for a given seed.

A layer seen from above: grey granular powder under a fixed, uneven illumination, dark machine
rails at the sides, faint lines left by the recoater (which travels left to right, +x), and
brighter melted part cross-sections. The parts change from one group of layers to the next and
barely change within a group; with `parts_finish_early`, one part of a group finishes partway
through it while the others go on, as a shorter part in a build does. Benign variation (exposure
drift, sensor noise, camera shift of up to about 3 px) is always on; defects from
`ml.synthetic.defects` come with their true masks.

Every random draw comes from a `np.random.Generator` seeded from (seed, purpose, index), so a
layer does not depend on how many layers are generated or on which other layers have defects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from ml.synthetic.defects import DEFECT_KINDS, DefectSpec, paint_defect, sample_defect
from ml.synthetic.painters import Canvas
from ml.synthetic.parts import Part, part_labels, render_parts, sample_parts

# Purposes that seed independent random streams.
_MACHINE, _GROUP, _JOB_LAYER, _JOB_DEFECT, _LAYER, _LAYER_DEFECT, _FINISH = range(7)
_FINISH_WITHIN = (8, 23)  # the layers of a group within which a part that finishes early does
_HATCH_ROTATION = np.radians(67.0)  # a common scan-rotation strategy
# The powder's grain: white noise blurred by GRAIN_BLUR px, which divides its std by about
# GRAIN_SCALE; scaled back by it, a machine's grain_sigma is the grain's std on bare powder.
GRAIN_BLUR, GRAIN_SCALE = 0.8, 2.8


@dataclass
class SyntheticLayer:
    image: np.ndarray  # uint8 (H, W)
    mask: np.ndarray  # bool (H, W): true defect pixels, all False on a good layer
    defect: str | None
    group: int
    index: int
    layout: str = ""  # what a printer that states its layouts would send: which parts it exposes
    # What a printer that knows its slices sends: 0 for powder, k for part k (ids unique within
    # the job), where the camera sees it. None from generate_layers.
    parts: np.ndarray | None = None


@dataclass(frozen=True)
class Variation:
    """Scales of the benign changes between layers; 1.0 is typical, 0.0 turns one off."""

    exposure: float = 1.0
    noise: float = 1.0
    shift: float = 1.0


@dataclass(frozen=True)
class Machine:
    """What stays fixed for one machine and camera: the bed, the lighting, the powder."""

    size: int
    bed: tuple[int, int, int, int]
    illumination: np.ndarray  # grey level of bare powder (and rails) at each pixel
    grain_sigma: float
    part_level: float
    hatch_amplitude: float
    hatch_period: float
    sensor_noise: float
    gain_drift: tuple[float, float, float]  # amplitude, period in layers, phase
    offset_drift: tuple[float, float, float]


def sample_machine(rng: np.random.Generator, size: int) -> Machine:
    k = size / 256
    rail = int(rng.uniform(0.02, 0.05) * size)
    top = int(rng.uniform(0.0, 0.02) * size)
    bed = (rail, top, size - rail, size - top)
    yy, xx = _unit_grid(size)
    direction = rng.uniform(0, 2 * np.pi)
    gradient = (xx * np.cos(direction) + yy * np.sin(direction)) * rng.uniform(8, 22)
    vignette = 1 - rng.uniform(0.1, 0.25) * (xx**2 + yy**2) / 2
    illumination = (rng.uniform(85, 105) + gradient) * vignette
    rails = np.ones((size, size), dtype=bool)
    rails[bed[1] : bed[3], bed[0] : bed[2]] = False
    illumination[rails] = rng.uniform(20, 40) + 6 * np.sin(yy[rails] * 40)
    return Machine(
        size=size,
        bed=bed,
        illumination=illumination.astype(np.float32),
        grain_sigma=float(rng.uniform(4, 8)),
        part_level=float(rng.uniform(15, 35)),
        hatch_amplitude=float(rng.uniform(1.5, 4)),
        hatch_period=float(rng.uniform(3, 5) * max(k, 1)),
        sensor_noise=float(rng.uniform(1.5, 3)),
        gain_drift=(
            float(rng.uniform(0.03, 0.08)),
            float(rng.uniform(60, 200)),
            float(rng.uniform(0, 2 * np.pi)),
        ),
        offset_drift=(
            float(rng.uniform(2, 5)),
            float(rng.uniform(60, 200)),
            float(rng.uniform(0, 2 * np.pi)),
        ),
    )


def machine_of(seed: int, size: int = 256) -> Machine:
    """The machine that `generate_job(seed=seed)` or `machine_seed=seed` renders with."""
    return sample_machine(np.random.default_rng([seed, _MACHINE]), size)


@lru_cache(maxsize=4)
def _unit_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in [-1, 1], shared read-only between layers of the same size."""
    axis = np.linspace(-1, 1, size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


def _group_parts(seed: int, group: int, machine: Machine) -> tuple[list[Part], float]:
    """The parts of one group of layers and how much they grow or shrink across the group."""
    rng = np.random.default_rng([seed, _GROUP, group])
    return sample_parts(rng, machine.bed), float(rng.uniform(-0.12, 0.12))


def _group_finish(seed: int, group: int, n_parts: int) -> int | None:
    """The layer of a group from which its first part is finished, or None where it has one part.
    A stream of its own, so the layers of jobs without early finishes stay as they were."""
    if n_parts < 2:
        return None
    return int(np.random.default_rng([seed, _FINISH, group]).integers(*_FINISH_WITHIN))


def render_layer(
    rng: np.random.Generator,
    machine: Machine,
    parts: Sequence[Part],
    *,
    index: int,
    gain: float,
    offset: float,
    defects: Sequence[DefectSpec] = (),
    variation: Variation = Variation(),
) -> tuple[np.ndarray, np.ndarray]:
    """Render one layer: (uint8 image, bool defect mask)."""
    image, mask, _ = _render_layer(
        rng, machine, parts, index=index, gain=gain, offset=offset, defects=defects, variation=variation
    )
    return image, mask


def _render_layer(
    rng: np.random.Generator,
    machine: Machine,
    parts: Sequence[Part],
    *,
    index: int,
    gain: float,
    offset: float,
    defects: Sequence[DefectSpec],
    variation: Variation,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`render_layer`, with the camera's shift (rows, columns) for what must move with the image."""
    size, (x0, y0, x1, y1) = machine.size, machine.bed
    grain = ndimage.gaussian_filter(rng.standard_normal((size, size), dtype=np.float32), GRAIN_BLUR)
    grain *= machine.grain_sigma * GRAIN_SCALE
    coverage, hatch = render_parts(
        list(parts), size, hatch_angle=index * _HATCH_ROTATION, hatch_period=machine.hatch_period
    )
    scene = machine.illumination + grain * (1 - 0.6 * coverage)
    scene += coverage * (machine.part_level + machine.hatch_amplitude * hatch)
    # Faint lines along the recoater's travel, different on every layer.
    lines = np.zeros(size, dtype=np.float32)
    n_lines = int(rng.integers(3, 9))
    lines[rng.integers(y0, y1, n_lines)] = rng.uniform(-3, 3, n_lines)
    scene[y0:y1, x0:x1] += lines[y0:y1, np.newaxis]

    canvas = Canvas(scene, grain, coverage, machine.bed, machine.part_level)
    mask = np.zeros((size, size), dtype=bool)
    for spec in defects:
        mask |= paint_defect(canvas, spec)

    shift = np.clip(rng.normal(0, 1.2, 2), -3, 3) * (size / 256) * variation.shift
    if rng.random() < 0.3:
        shift = np.round(shift)  # a remounted or bumped camera moves by whole pixels
    if np.any(shift != 0):
        scene = ndimage.shift(scene, shift, order=1, mode="nearest")
        if mask.any():
            mask = ndimage.shift(mask.astype(np.float32), shift, order=1) > 0.2
    noise = rng.standard_normal((size, size), dtype=np.float32)
    scene = gain * scene + offset + noise * (machine.sensor_noise * variation.noise)
    return np.clip(np.rint(scene), 0, 255).astype(np.uint8), mask, shift


def _shifted_labels(labels: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The part labels where the camera saw them: moved by the same shift, nearest neighbour."""
    if not np.any(shift != 0):
        return labels
    return ndimage.shift(labels, shift, order=0, mode="constant", cval=0)


def _check_kind(kind: str) -> None:
    if kind not in DEFECT_KINDS:
        raise ValueError(f"unknown defect kind {kind!r}; known: {', '.join(DEFECT_KINDS)}")


def generate_job(
    *,
    seed: int,
    n_layers: int,
    size: int = 256,
    group_length: int = 30,
    defects: dict[int, str] | None = None,
    defect_persistence: int = 1,
    variation: Variation = Variation(),
    machine_seed: int | None = None,
    parts_finish_early: bool = False,
    growth_layers: int | None = None,
) -> list[SyntheticLayer]:
    """Consecutive layers of one build on one machine (the seed picks the machine's look).

    `machine_seed`, when given, picks the look instead, so one machine's jobs share it while
    their parts differ, as on a real printer.

    `defects` maps the layer index where a defect appears to its kind; it stays at the same
    place on the bed for `defect_persistence` layers. Where defects overlap, the layer's
    `defect` is the most recent one and its mask the union.

    `parts_finish_early`: in each group of more than one part, the first part is finished from a
    layer drawn among the group's layers 8-22 on; each layer's `layout` says which parts it shows.

    `growth_layers`: the layers over which a group's parts change size by its whole growth (default
    `group_length`). Shorter groups with the same `growth_layers` grow as fast from layer to layer,
    and less in all.
    """
    defects = dict(defects or {})
    for onset, kind in defects.items():
        _check_kind(kind)
        if not 0 <= onset < n_layers:
            raise ValueError(f"defect onset {onset} is outside the job's {n_layers} layers")
    growth_layers = group_length if growth_layers is None else growth_layers
    if defect_persistence < 1 or group_length < 1 or growth_layers < 1:
        raise ValueError("defect_persistence, group_length and growth_layers must be at least 1")
    machine = machine_of(seed if machine_seed is None else machine_seed, size)
    gain_amp, gain_period, gain_phase = machine.gain_drift
    offset_amp, offset_period, offset_phase = machine.offset_drift
    layers, active, groups = [], [], {}
    first_id, next_id = {}, 1  # each group's parts are new parts, numbered on through the job
    for index in range(n_layers):
        group, position = divmod(index, group_length)
        if group not in groups:
            groups[group] = _group_parts(seed, group, machine)
            first_id[group] = next_id
            next_id += len(groups[group][0])
        base_parts, growth = groups[group]
        ids = list(range(first_id[group], first_id[group] + len(base_parts)))
        size_change = growth * (position / group_length - 0.5) * group_length / growth_layers
        parts = [p.scaled(1 + size_change) for p in base_parts]
        layout = f"group {group}"
        finish = _group_finish(seed, group, len(parts)) if parts_finish_early else None
        if finish is not None and position >= finish:
            parts, layout = parts[1:], f"group {group}, its first part finished"
            ids = ids[1:]
        if index in defects:
            rng = np.random.default_rng([seed, _JOB_DEFECT, index])
            spec = sample_defect(rng, defects[index], size=size, bed=machine.bed, parts=parts)
            active.append((index + defect_persistence, spec))
        active = [(end, spec) for end, spec in active if index < end]
        rng = np.random.default_rng([seed, _JOB_LAYER, index])
        exposure = variation.exposure
        gain = 1 + exposure * (
            gain_amp * np.sin(2 * np.pi * index / gain_period + gain_phase) + rng.normal(0, 0.005)
        )
        offset = exposure * offset_amp * np.sin(2 * np.pi * index / offset_period + offset_phase)
        specs = [spec for _, spec in active]
        image, mask, shift = _render_layer(
            rng,
            machine,
            parts,
            index=index,
            gain=gain,
            offset=offset,
            defects=specs,
            variation=variation,
        )
        kind = specs[-1].kind if specs else None
        labels = _shifted_labels(part_labels(parts, ids, size), shift)
        layers.append(SyntheticLayer(image, mask, kind, group, index, layout, labels))
    return layers


def generate_layers(
    *,
    seed: int,
    n: int,
    size: int = 256,
    defect_kind: str | None = None,
    group: int | None = None,
    variation: Variation = Variation(),
    group_length: int = 30,
    machine_seed: int | None = None,
    first: int = 0,
) -> list[SyntheticLayer]:
    """Independent layers from the seed's machine, each with `defect_kind` (or none).

    Layer i is the same whatever `n` is; `first` starts the numbering elsewhere, so that sets
    drawn with different `first` share no layer (nor its noise, exposure or defect).

    With `group` set every layer shows that group's parts (as `generate_job` would with the
    same seed); otherwise layer i shows group i. Exposure and camera shift are drawn at random
    within the machine's range, not as a slow drift. `machine_seed` works as in `generate_job`.
    """
    if defect_kind is not None:
        _check_kind(defect_kind)
    machine = machine_of(seed if machine_seed is None else machine_seed, size)
    gain_amp, offset_amp = machine.gain_drift[0], machine.offset_drift[0]
    layers = []
    for i in range(first, first + n):
        layer_group = i if group is None else group
        base_parts, growth = _group_parts(seed, layer_group, machine)
        rng = np.random.default_rng([seed, _LAYER, i])
        position = int(rng.integers(group_length))
        parts = [p.scaled(1 + growth * (position / group_length - 0.5)) for p in base_parts]
        specs = []
        if defect_kind is not None:
            defect_rng = np.random.default_rng([seed, _LAYER_DEFECT, i])
            specs = [
                sample_defect(defect_rng, defect_kind, size=size, bed=machine.bed, parts=parts)
            ]
        gain = 1 + variation.exposure * gain_amp * rng.uniform(-1, 1)
        offset = variation.exposure * offset_amp * rng.uniform(-1, 1)
        image, mask = render_layer(
            rng,
            machine,
            parts,
            index=layer_group * group_length + position,
            gain=gain,
            offset=offset,
            defects=specs,
            variation=variation,
        )
        layers.append(SyntheticLayer(image, mask, defect_kind, layer_group, i, f"group {layer_group}"))
    return layers
