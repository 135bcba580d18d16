"""make demo's last step (run_demo) stops everything and fails when one of its processes stops on
its own: a worker that died must not leave the printers uploading into a demo that looks fine."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_worker_that_stops_stops_the_demo_with_an_error_naming_it(tmp_path):
    (tmp_path / "demo").mkdir()
    # A printer the server turns away: the printers go on running, so only the worker stops.
    (tmp_path / "demo" / "printers.json").write_text(json.dumps({"ghost": "not-a-token"}))
    environment = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "LAYERWATCH_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "no-such-transport://",  # the worker cannot start
    }
    command = [sys.executable, "manage.py", "run_demo", "--port", str(free_port()), "--duration", "90"]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=180)
    assert result.returncode == 1
    assert "CommandError: the worker (exit code 1) stopped, and the demo with it" in result.stderr
    assert "printers" not in result.stderr.splitlines()[-1]
