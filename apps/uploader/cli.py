"""layerwatch-upload FOLDER --server URL [--token T] [--job J] [--pattern RE] [--spool DIR] [--once]

Exit status: 0 all sent, 1 a file was refused or conflicted (reported), 2 bad usage or a refused
token, 3 (with --once) files still waiting for the server.
"""

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from apps.uploader.scan import DEFAULT_PATTERN, Scanner, pattern_compile
from apps.uploader.send import CONFLICT, REFUSED, RETRY, SENT, Backoff, Sender, TokenRefused
from apps.uploader.spool import Spool

log = logging.getLogger("layerwatch.upload")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layerwatch-upload",
        description="Watches a folder of layer images and uploads each new one to layerwatch, keeping a spool on "
        "disk while the server is unreachable.",
    )
    parser.add_argument("folder", type=Path, help="The folder the camera writes to (or its job subfolders).")
    parser.add_argument("--server", required=True, help="layerwatch's address, e.g. https://layerwatch.plant.local")
    parser.add_argument("--token", default=os.environ.get("LAYERWATCH_TOKEN"),
                        help="The machine's API token (default: $LAYERWATCH_TOKEN).")
    parser.add_argument("--job", help="The job id for every file; without it each subfolder's name is its job.")
    parser.add_argument("--pattern", default=DEFAULT_PATTERN,
                        help="Regular expression searched in file names, with a (?P<layer>...) group and "
                        f"optionally a (?P<job>...) group (default: {DEFAULT_PATTERN}).")
    parser.add_argument("--spool", type=Path, help="The spool folder (default: FOLDER/.layerwatch-spool).")
    parser.add_argument("--once", action="store_true", help="Upload what is there now, then exit.")
    parser.add_argument("--poll", type=float, default=1.0, help="Seconds between scans (default 1).")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="Seconds a file's size and time must stay unchanged before it is sent (default 2).")
    parser.add_argument("--max-backoff", type=float, default=300.0,
                        help="Longest wait in seconds between tries while the server is unreachable (default 300).")
    return parser


class Uploader:
    def __init__(self, *, scanner: Scanner, spool: Spool, sender: Sender, backoff: Backoff) -> None:
        self.scanner, self.spool, self.sender, self.backoff = scanner, spool, sender, backoff
        self.problems = 0
        self.stop = threading.Event()

    def collect(self) -> None:
        for found in self.scanner.ready(self.spool.known()):
            if self.spool.add(path=found.path, data=found.data, sha256=found.sha256, size=found.size,
                              mtime_ns=found.mtime_ns, job=found.job, layer=found.layer):
                log.info("found %s: job %s, layer %d", found.path, found.job, found.layer)

    def send(self) -> None:
        """Sends what is pending, oldest first, and stops at the first sign the server is not there."""
        for entry in self.spool.pending():
            if self.stop.is_set():
                return
            try:
                data = self.spool.data(entry)
            except FileNotFoundError:
                self.spool.finish(entry, status=REFUSED, error="Its copy is missing from the spool.")
                log.error("%s: its copy is missing from the spool; not sent", entry.path)
                self.problems += 1
                continue
            outcome = self.sender.upload(entry, data)
            if outcome.kind == RETRY:
                self.spool.attempt_failed(entry, outcome.message)
                delay = self.backoff.failed(outcome.retry_after)
                waiting = len(self.spool.pending())
                log.warning("server not taking uploads (%s); %d file(s) spooled, next try in %.1f s",
                            outcome.code or outcome.message, waiting, delay)
                return
            self.backoff.succeeded()
            self.spool.finish(entry, status=outcome.kind, error=outcome.message, url=outcome.url)
            if outcome.kind == SENT:
                log.info("sent %s: job %s, layer %d (%d)", entry.path, entry.job, entry.layer, outcome.code)
            else:
                self.problems += 1
                what = "conflicts with the layer stored" if outcome.kind == CONFLICT else "was refused"
                log.error("%s %s (%d): %s; not retried", entry.path, what, outcome.code, outcome.message)


def _run(args, uploader: Uploader) -> int:
    if args.once:
        uploader.collect()  # the first look: a file is sent once unchanged since then
        time.sleep(args.settle)
        uploader.collect()
        uploader.send()
        pending = len(uploader.spool.pending())
        if pending:
            log.warning("%d file(s) still spooled; run again to send them", pending)
            return 3
        return 1 if uploader.problems else 0
    log.info("watching %s, uploading to %s", args.folder, args.server)
    while not uploader.stop.is_set():
        uploader.collect()
        if uploader.backoff.due():
            uploader.send()
        uploader.stop.wait(args.poll)
    return 1 if uploader.problems else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        pattern = pattern_compile(args.pattern)
    except ValueError as error:
        log.error("%s", error)
        return 2
    if not args.token:
        log.error("No token: pass --token or set LAYERWATCH_TOKEN.")
        return 2
    if not args.folder.is_dir():
        log.error("%s is not a folder.", args.folder)
        return 2
    spool = Spool(args.spool or args.folder / ".layerwatch-spool")
    uploader = Uploader(
        scanner=Scanner(root=args.folder, pattern=pattern, job=args.job, settle=args.settle, log=log),
        spool=spool,
        sender=Sender(server=args.server, token=args.token),
        backoff=Backoff(cap=args.max_backoff),
    )
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, lambda *_: uploader.stop.set())
    try:
        return _run(args, uploader)
    except TokenRefused as error:
        log.error("%s; files stay spooled until the token is fixed.", error)
        return 2
    except KeyboardInterrupt:
        return 1 if uploader.problems else 0
    finally:
        spool.close()
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
