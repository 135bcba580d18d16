"""make demo's last step (run_demo) stops everything and fails when one of its processes stops on
its own: a worker that died must not leave the printers uploading into a demo that looks fine."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.long(30)
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


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _demo(tmp_path: Path, *, sigint_ignored: bool = False) -> subprocess.Popen:
    """run_demo in a session of its own, as a terminal runs it, with printers the server turns away;
    `sigint_ignored`: started by something that ignores SIGINT, which the demo inherits."""
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "printers.json").write_text(json.dumps({"ghost": "not-a-token"}))
    environment = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    environment |= {"DJANGO_SETTINGS_MODULE": "config.settings.local", "LAYERWATCH_VAR_DIR": str(tmp_path)}
    command = [sys.executable, "manage.py", "run_demo", "--port", str(free_port()), "--duration", "120"]
    # One pipe for both: a full stderr pipe nobody reads would stall the demo.
    return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, preexec_fn=_ignore_sigint if sigint_ignored else None)


def _children(pid: int) -> set[int]:
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line) for line in listed.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _started(demo: subprocess.Popen) -> set[int]:
    """The web server and the worker, once both run in process groups of their own (still loading)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        children = _children(demo.pid)
        if len(children) == 2 and all(_group(pid) == pid for pid in children):
            return children
        time.sleep(0.1)
    raise AssertionError(f"run_demo did not start its processes: {children}")


@pytest.mark.long(10)
@pytest.mark.parametrize("stop", ["ctrl-c", "ctrl-c, SIGINT ignored by what started it", "kill"])
def test_ctrl_c_or_kill_stops_every_process_and_the_demo_exits_cleanly(tmp_path, stop):
    demo = _demo(tmp_path, sigint_ignored="ignored" in stop)
    try:
        # While they load: what Ctrl-C hit before was each process dying mid-import with its own traceback.
        children = _started(demo)
        if stop.startswith("ctrl-c"):
            os.killpg(demo.pid, signal.SIGINT)  # what the terminal does: the whole foreground process group
        else:
            demo.send_signal(signal.SIGTERM)
        output = demo.communicate(timeout=60)[0]
    finally:
        demo.kill()
    assert demo.returncode == 0, output
    assert "stopped, and the demo with it" not in output and "Traceback" not in output, output
    assert "layerwatch stopped." in output
    assert not [pid for pid in children if _alive(pid)]
