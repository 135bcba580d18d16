"""bench/alerts.py replays a recording and reports each defect draw beside how visible it was."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long(10)

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "alerts.py"


def replayed(tmp_path: Path, record: dict, defect_jobs: int) -> list[str]:
    """What bench/alerts.py prints, line by line, replaying `record` on 3 good jobs."""
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    command = [sys.executable, str(SCRIPT), "--scores", str(path), "--good-jobs", "3"]
    command += ["--defect-jobs", str(defect_jobs)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()


def test_a_recorded_replay_reports_each_draw_against_its_ideal_observer_visibility(tmp_path):
    clear, invisible = [3.0] * 8, [0.0] * 8  # normalised scores from the onset: over the threshold, or nothing
    record = {
        "scorer": "none",
        "judged": "change",
        "good_jobs": [[0.0] * 240],
        "defects": {"scratch": [clear, invisible]},
        "visibility": {"scratch": [45.0, 7.5]},
        "variants": {},
    }
    lines = replayed(tmp_path, record, defect_jobs=40)
    scratch = next(line for line in lines if line.strip().startswith("scratch "))
    assert "45.0: 100%" in scratch and "7.5:   0%" in scratch
    assert any(line.startswith("d' 0 to 10: 1 draws, 0.0% ") for line in lines)
    assert any(line.startswith("d' 10 to 20: 0 draws, - ") for line in lines)
    assert any(line.startswith("d' 40 to inf: 1 draws, 100.0% ") for line in lines)

    # A newer recording also holds the share of each draw's due layers that a scan finds.
    lines = replayed(tmp_path, record | {"scan_found": {"scratch": [1.0, 0.25]}}, defect_jobs=40)
    scratch = next(line for line in lines if line.strip().startswith("scratch "))
    assert "45.0 (100%): 100%" in scratch and "7.5 ( 25%):   0%" in scratch
    assert any("the scan finds 62.5% of the draws' due layers; alerted within 3: 50.0%" in line for line in lines)


def test_a_recorded_replay_counts_alerts_on_the_jobs_whose_parts_finish_one_at_a_time(tmp_path):
    quiet, fired = [0.0] * 250, [0.0] * 100 + [3.0] * 3 + [0.0] * 147  # one critical in 250 layers
    record = {
        "scorer": "none",
        "judged": "change",
        "good_jobs": [[0.0] * 240],
        "good_jobs_parts_finishing": [quiet, fired],
        "defects": {"scratch": [[3.0] * 8]},
        "variants": {},
    }
    lines = replayed(tmp_path, record, defect_jobs=5)
    line = next(line for line in lines if line.startswith("good jobs whose parts finish"))
    assert "(2 recorded jobs, 500 layers, replayed whole): false criticals per 500 layers 1.00" in line
