"""The spool: a SQLite record of every layer file seen, and a copy of each one not yet sent.

A file is copied into the spool when it is found, so it is sent even if the printer's PC
deletes it while the server is unreachable. The copy goes once the server has stored it.
"""

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

PENDING, SENT, CONFLICT, REFUSED = "pending", "sent", "conflict", "refused"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS layer_file (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    job TEXT NOT NULL,
    layer INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    found_at REAL NOT NULL,
    done_at REAL,
    UNIQUE (path, sha256)
);
"""


@dataclass(frozen=True)
class Entry:
    id: int
    path: str
    sha256: str
    mtime_ns: int
    job: str
    layer: int
    attempts: int


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.copies = folder / "files"
        self.copies.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / "spool.sqlite3", isolation_level=None)
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.executescript(_SCHEMA)
        rows = self.db.execute("SELECT path, size, mtime_ns FROM layer_file ORDER BY id")
        self._known = {path: (size, mtime_ns) for path, size, mtime_ns in rows}

    def close(self) -> None:
        self.db.close()

    def known(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of each path as last recorded: what need not be read again."""
        return self._known

    def add(self, *, path: str, data: bytes, sha256: str, size: int, mtime_ns: int, job: str, layer: int) -> bool:
        """Records a found file and keeps a copy of it; False where this path had these bytes before."""
        self._known[path] = (size, mtime_ns)
        row = self.db.execute("SELECT id FROM layer_file WHERE path = ? AND sha256 = ?", (path, sha256)).fetchone()
        if row is not None:
            self.db.execute("UPDATE layer_file SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, row[0]))
            return False
        copy = self.copies / sha256
        if not copy.exists():
            # Written whole before it is recorded: a crash leaves at worst a copy nobody needs.
            partial = copy.with_suffix(".part")
            with partial.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(copy)
        self.db.execute(
            "INSERT INTO layer_file (path, sha256, size, mtime_ns, job, layer, status, found_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (path, sha256, size, mtime_ns, job, layer, PENDING, time.time()),
        )
        return True

    def pending(self) -> list[Entry]:
        rows = self.db.execute(
            "SELECT id, path, sha256, mtime_ns, job, layer, attempts FROM layer_file WHERE status = ? ORDER BY id",
            (PENDING,),
        )
        return [Entry(*row) for row in rows]

    def data(self, entry: Entry) -> bytes:
        return (self.copies / entry.sha256).read_bytes()

    def attempt_failed(self, entry: Entry, error: str) -> None:
        self.db.execute(
            "UPDATE layer_file SET attempts = attempts + 1, error = ? WHERE id = ?", (error, entry.id)
        )

    def finish(self, entry: Entry, *, status: str, error: str = "", url: str = "") -> None:
        """Records the file's outcome; its copy goes once no pending record needs those bytes."""
        self.db.execute(
            "UPDATE layer_file SET status = ?, error = ?, url = ?, attempts = attempts + 1, done_at = ? WHERE id = ?",
            (status, error, url, time.time(), entry.id),
        )
        (still_needed,) = self.db.execute(
            "SELECT COUNT(*) FROM layer_file WHERE sha256 = ? AND status = ?", (entry.sha256, PENDING)
        ).fetchone()
        if not still_needed:
            (self.copies / entry.sha256).unlink(missing_ok=True)

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM layer_file GROUP BY status")
        return {PENDING: 0, SENT: 0, CONFLICT: 0, REFUSED: 0, **dict(rows)}
