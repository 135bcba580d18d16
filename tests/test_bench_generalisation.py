"""The second painter behind bench/generalisation: independent of training, and it paints."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.generalisation.painter import KINDS, PAINTERS, camera_drift

PAINTER = Path(__file__).resolve().parent.parent / "bench" / "generalisation" / "painter.py"
JOIN = PAINTER.with_name("join.py")


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


def _dump(path: Path, kinds: list[str], scores: list[float]) -> Path:
    rows = ["layer,kind,score,alert_score,threshold,trained_threshold,anomalous"]
    rows += [f"{i},{kind},{score},,1.0,1.0,False" for i, (kind, score) in enumerate(zip(kinds, scores, strict=True))]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_joining_two_dumps_keeps_what_each_scorer_finds(tmp_path):
    kinds = ["good"] * 6 + ["pit", "short_feed"]
    # The first scorer finds the pit, the second the short feed; their sum ranks both over every good layer.
    first = _dump(tmp_path / "a.csv", kinds, [1, 2, 1, 2, 1, 2, 5, 1])
    second = _dump(tmp_path / "b.csv", kinds, [1, 2, 2, 1, 1, 2, 1, 5])
    out = subprocess.run([sys.executable, str(JOIN), str(first), str(second)], capture_output=True, text=True,
                         check=True).stdout
    rows = {line[:34].strip(): line[34:].split() for line in out.splitlines()[1:]}
    assert rows["first alone"][1:] == ["1.000", "0.250"]  # pit; short feed ties three good layers, under three
    assert rows["sum, second weighted 1.0"] == ["1.000", "1.000", "1.000"]


def test_joining_refuses_dumps_of_different_streams(tmp_path):
    first = _dump(tmp_path / "a.csv", ["good", "pit"], [1, 2])
    second = _dump(tmp_path / "b.csv", ["pit", "good"], [1, 2])
    done = subprocess.run([sys.executable, str(JOIN), str(first), str(second)], capture_output=True, text=True)
    assert done.returncode != 0 and "not the same stream" in done.stderr
