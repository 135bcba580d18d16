"""Synthetic powder-bed layers with known defects, for demos, tests and measuring detection.

from ml.synthetic import generate_job, generate_layers, DEFECT_KINDS
job = generate_job(seed=1, n_layers=120, defects={40: "streak"}, defect_persistence=5)
"""

from ml.synthetic.defects import DEFECT_KINDS, DefectSpec, sample_defect
from ml.synthetic.layers import (
    Machine,
    SyntheticLayer,
    Variation,
    generate_job,
    generate_layers,
    machine_of,
    render_layer,
    sample_machine,
)

__all__ = [
    "DEFECT_KINDS",
    "DefectSpec",
    "Machine",
    "SyntheticLayer",
    "Variation",
    "generate_job",
    "generate_layers",
    "machine_of",
    "render_layer",
    "sample_defect",
    "sample_machine",
]
