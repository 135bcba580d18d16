"""A whole private layerwatch stack that a test may break: its own PostgreSQL cluster and Redis
server (restarted at will), a gunicorn web server, a scoring worker and beat.

PostgreSQL is a throw-away cluster made with initdb (as tests/services.sh makes one), so
restarting it disturbs nobody else's tests; Redis runs without persistence, so a restart loses
every queue, as a crashed Redis does.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent.parent
# Environment a test process passes on that would point a child at the test run's own services.
_INHERITED = ("PYTEST_XDIST_WORKER", "LAYERWATCH_TEST_DB_NAME", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what} did not happen within {timeout}s\n{tail}")


def _as_postgres_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    def __init__(self, folder: Path) -> None:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not candidates:
            raise RuntimeError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        self.bin = candidates[-1]
        # Its own folder outside pytest's (which the postgres user may not enter when we are root).
        self.folder = Path(tempfile.mkdtemp(prefix="layerwatch-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/layerwatch"
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.data, "postgres")
        subprocess.run(_as_postgres_user([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                                          "-A", "trust"]), check=True, capture_output=True)

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(_as_postgres_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                                          str(self.data / "server.log"), "-w", "-o", options, *args]),
                       check=True, capture_output=True)

    def start(self) -> None:
        self._ctl("start")
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
            if not connection.execute("SELECT 1 FROM pg_database WHERE datname='layerwatch'").fetchone():
                connection.execute("CREATE DATABASE layerwatch")

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")

    def query(self, sql: str, *params):
        with psycopg.connect(self.url, connect_timeout=3) as connection:
            return connection.execute(sql, params).fetchall()


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder / "redis"
        self.folder.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, what="Redis start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


class Stack:
    """The services and processes; `env` is what every layerwatch process of the stack runs with."""

    def __init__(self, folder: Path, **settings: str) -> None:
        self.folder = folder
        self.postgres = PrivatePostgres(folder)
        self.redis = PrivateRedis(folder)
        self.media = folder / "media"
        self.media.mkdir()
        self.web_port = free_port()
        self.processes: dict[str, subprocess.Popen] = {}
        base = {k: v for k, v in os.environ.items() if k not in _INHERITED}
        self.env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "MEDIA_ROOT": str(self.media),
            "PYTHONUNBUFFERED": "1",
            **settings,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def python(self, code: str) -> str:
        """Runs Python with Django set up against the stack; returns its last line of output."""
        script = "import django; django.setup()\n" + code
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=180)
        if done.returncode:
            raise AssertionError(f"Setting up the stack failed:\n{done.stderr[-4000:]}")
        return done.stdout.strip().splitlines()[-1]

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def spawn(self, name: str, command: list[str], ready: str | None = None) -> subprocess.Popen:
        log = self.log(name)
        with log.open("a") as handle:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes[name] = process
        if ready:
            self.wait_ready(name, ready)
        return process

    def wait_ready(self, name: str, ready: str) -> None:
        process, log = self.processes[name], self.log(name)
        wait_for(lambda: ready in log.read_text() or process.poll() is not None, timeout=120,
                 what=f"{name} start", log=log)
        if process.poll() is not None:
            raise AssertionError(f"{name} exited:\n{log.read_text()[-3000:]}")

    def start_web(self, wait: bool = True) -> None:
        self.spawn("web", [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                           f"127.0.0.1:{self.web_port}", "--workers", "1", "--threads", "4", "--timeout", "60"])
        if wait:
            self.wait_web()

    def wait_web(self) -> None:
        self.wait_ready("web", "Booting worker")
        wait_for(self._web_answers, timeout=120, what="web start", log=self.log("web"))

    def _web_answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.web_port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def start_worker(self, name: str = "scoring", ready: bool = True) -> subprocess.Popen:
        # As platform/entrypoint.sh runs it: solo pool, a prefetch above the batch size.
        return self.spawn(name, [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "scoring",
                                 "-P", "solo", "--prefetch-multiplier", "64", "-l", "info", "-n", f"{name}@%h"],
                          ready="ready." if ready else None)

    def start_default_worker(self, ready: bool = True) -> subprocess.Popen:
        return self.spawn("default", [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default",
                                      "-P", "threads", "-c", "4", "-l", "info", "-n", "default@%h"],
                          ready="ready." if ready else None)

    def start_beat(self, wait: bool = True) -> None:
        self.spawn("beat", [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info", "--schedule",
                            str(self.folder / "beat-schedule")], ready="beat: Starting" if wait else None)

    def start_all(self) -> None:
        """Web, a scoring worker, a default-queue worker and beat, started together (each takes
        seconds to import): returns once every one of them is ready."""
        self.start_web(wait=False)
        self.start_worker(ready=False)
        self.start_default_worker(ready=False)
        self.start_beat(wait=False)
        self.wait_web()
        for name, ready in (("scoring", "ready."), ("default", "ready."), ("beat", "beat: Starting")):
            self.wait_ready(name, ready)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def close(self) -> None:
        running = [p for p in self.processes.values() if p.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in running:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        self.redis.kill()
        try:
            self.postgres.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.postgres.folder, ignore_errors=True)
