"""The second painter behind bench/generalisation: independent of training, and it paints."""

import ast
from pathlib import Path

import numpy as np
import pytest

from bench.generalisation.painter import KINDS, PAINTERS, camera_drift

PAINTER = Path(__file__).resolve().parent.parent / "bench" / "generalisation" / "painter.py"


def test_it_shares_no_code_with_what_the_scorers_train_with():
    imported = {node.module for node in ast.walk(ast.parse(PAINTER.read_text())) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(ast.parse(PAINTER.read_text())) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert not {name for name in imported if name and name.split(".")[0] in {"ml", "apps", "tests"}}


@pytest.mark.parametrize("kind", KINDS)
def test_it_paints_a_small_defect_of_each_kind(kind):
    rng = np.random.default_rng(0)
    frame = np.full((256, 256), 120, np.uint8) + rng.integers(0, 8, (256, 256)).astype(np.uint8)
    painted = PAINTERS[kind](frame, rng)
    changed = np.abs(painted.astype(int) - frame.astype(int)) > 4
    assert painted.shape == frame.shape and painted.dtype == np.uint8
    assert 0 < changed.mean() < 0.25  # a defect, not a new bed


def test_it_drifts_more_with_time_and_not_at_all_at_strength_zero():
    rng = np.random.default_rng(1)
    frame = np.full((128, 128), 100, np.uint8)
    early, late = camera_drift(frame, 0.0, rng), camera_drift(frame, 1.0, rng, strength=2.0)
    assert abs(float(late.mean()) - 100) > abs(float(early.mean()) - 100)
    still = camera_drift(frame, 1.0, rng, strength=0.0)
    assert abs(float(still.mean()) - 100) < 6
