"""Shared by the fuzz tests: the example budget, the request count, and what a good refusal looks like."""

import json
import os
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction

# Examples per fuzzed target. Small by default so the suite stays fast; set it to thousands once.
EXAMPLES = int(os.environ.get("LAYERWATCH_FUZZ_EXAMPLES", "5"))
TALLY: Counter = Counter()  # requests sent and server errors met, over the whole run


def refusal_problem(status: int, body: bytes) -> str | None:
    """None when a response is acceptable: below 500, and a 4xx that says why."""
    if status >= 500:
        return f"server error {status}: {body[:300]!r}"
    if 400 <= status < 500:
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = body.decode(errors="replace").strip()
        if not payload:
            return f"{status} without a message"
    return None


def tally(status: int) -> None:
    TALLY["requests"] += 1
    TALLY["server_errors"] += status >= 500
    report = os.environ.get("LAYERWATCH_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps(TALLY))


@contextmanager
def rolled_back():
    """Each example starts from the same data: its writes are undone."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextmanager
def in_process_wsgi():
    """Keeps the test's database connection open across WSGI calls, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
