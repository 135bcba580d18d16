"""Starts the web server, a separate Celery worker and the simulated printers, and stops them together."""

import signal
import subprocess
import sys
import time
import urllib.request

from django.core.management.base import BaseCommand, CommandError

# How long a process has to finish what it is doing (a scoring batch) once told to stop.
STOP_GRACE_SECONDS = 15


def _wait_for(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return True
        except OSError:
            time.sleep(0.5)
    return False


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _unblock_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _start(processes: dict[str, subprocess.Popen], name: str, command: list[str]) -> None:
    """Starts `command` as processes[name]. Its own process group: the terminal's Ctrl-C reaches this
    supervisor alone, which then stops every process itself, rather than each one dying mid-start
    with a traceback of its own."""
    # A stop signal that arrives while the child is being created waits until it is recorded, so
    # the child is stopped with the others rather than left running; the child itself starts
    # with the signals unblocked.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        processes[name] = subprocess.Popen(command, process_group=0, preexec_fn=_unblock_stop_signals)
    finally:
        _unblock_stop_signals()


def _stop_all(processes: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each process still running (warm shutdown for Celery); SIGKILL after the grace or a second Ctrl-C."""
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    try:
        for process in processes.values():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
    except KeyboardInterrupt:
        pass  # a second Ctrl-C: stop waiting
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.wait()


class Command(BaseCommand):
    help = "Runs the demo: web server on :8000, a scoring worker process and three simulated printers."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--interval", type=float, default=2.0)
        parser.add_argument("--duration", type=float, default=0, help="Stop after this many seconds (0: never).")

    def handle(self, *args, port: int, interval: float, duration: float, **options):
        # A closed terminal or `kill` stops the demo as Ctrl-C does: with every process it started.
        # Ctrl-C too where whatever started the demo left SIGINT ignored, which a child inherits.
        for stop_signal in _STOP_SIGNALS:
            signal.signal(stop_signal, signal.default_int_handler)
        python = sys.executable
        url = f"http://127.0.0.1:{port}"
        commands = {
            "web": [python, "manage.py", "runserver", f"0.0.0.0:{port}", "--noreload"],
            "worker": [python, "-m", "celery", "-A", "config", "worker", "-Q", "scoring,training,default",
                       "-P", "solo", "--prefetch-multiplier", "64", "-l", "warning"],
        }
        processes: dict[str, subprocess.Popen] = {}
        interrupted = False
        try:
            for name, command in commands.items():
                _start(processes, name, command)
            if not _wait_for(f"{url}/accounts/login/", 60):
                raise CommandError("The web server did not come up; its log above says why.")
            _start(processes, "printers",
                   [python, "manage.py", "simulate_printers", "--url", url, "--interval", str(interval)])
            self.stdout.write(self.style.SUCCESS(f"\nlayerwatch is running: open {url}/ (Ctrl-C stops everything)\n"))
            started = time.monotonic()
            while all(p.poll() is None for p in processes.values()):
                if duration and time.monotonic() - started > duration:
                    break
                time.sleep(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            # Whatever stopped on its own, before the others were told to: a worker that died
            # leaves layers unscored while the printers go on, so the demo must not look fine.
            stopped = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
            _stop_all(processes)
        if interrupted:
            self.stdout.write("\nlayerwatch stopped.")
        elif stopped:
            which = ", ".join(f"the {name} (exit code {code})" for name, code in stopped.items())
            raise CommandError(f"{which} stopped, and the demo with it; the log above says why.")
