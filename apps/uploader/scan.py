"""Finding layer files that the camera has finished writing."""

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATTERN = r"(?i)(?P<layer>\d+)\.(?:png|jpe?g|tiff?|bmp)$"
# A file that never looks complete is sent after this long anyway; the server then says what is wrong.
INCOMPLETE_GIVE_UP_S = 60.0


@dataclass(frozen=True)
class Found:
    path: str
    data: bytes
    sha256: str
    size: int
    mtime_ns: int
    job: str
    layer: int


def pattern_compile(pattern: str) -> re.Pattern:
    """The file-name pattern; it must name a `layer` group and may name a `job` group."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ValueError(f"--pattern {pattern!r} is not a regular expression: {error}") from error
    if "layer" not in compiled.groupindex:
        raise ValueError(f"--pattern {pattern!r} needs a (?P<layer>...) group for the layer number.")
    return compiled


def looks_complete(data: bytes) -> bool:
    """Whether a PNG, JPEG or BMP has its end; other formats count on a stable size alone."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data.endswith(b"IEND\xaeB`\x82")
    if data.startswith(b"\xff\xd8"):
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")  # some cameras pad after the end marker
    if data.startswith(b"BM") and len(data) >= 6:
        return len(data) >= int.from_bytes(data[2:6], "little")
    return True


class Scanner:
    """Watches `root` and its job subfolders. A file is ready once its size and modification time
    have not changed for `settle` seconds (seen on two scans at least) and its image is whole."""

    def __init__(self, *, root: Path, pattern: re.Pattern, job: str | None, settle: float, log) -> None:
        self.root, self.pattern, self.job, self.settle, self.log = root, pattern, job, settle, log
        self.seen: dict[str, tuple[int, int, float]] = {}
        self.warned: set[str] = set()

    def ready(self, known: dict[str, tuple[int, int]]) -> Iterator[Found]:
        now = time.monotonic()
        for path, folder_job in self._files():
            match = self.pattern.search(path.name)
            if match is None:
                continue
            relative = path.relative_to(self.root).as_posix()
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            state = (stat.st_size, stat.st_mtime_ns)
            if known.get(relative) == state:
                continue  # recorded as it is now
            previous = self.seen.get(relative)
            if previous is None or previous[:2] != state:
                self.seen[relative] = (*state, now)
                continue
            if now - previous[2] < self.settle:
                continue
            job = self.job or match.groupdict().get("job") or folder_job
            if not job:
                self._warn_once(relative, f"{relative}: no job for it; pass --job, put it in a job's folder "
                                          "or name a (?P<job>...) group in --pattern.")
                continue
            found = self._read(path, relative, state, now - previous[2])
            if found is not None:
                yield Found(**found, job=job, layer=int(match.group("layer")))

    def _read(self, path: Path, relative: str, state: tuple[int, int], stable_for: float) -> dict | None:
        try:
            data = path.read_bytes()
            after = path.stat()
        except FileNotFoundError:
            return None
        if (after.st_size, after.st_mtime_ns) != state or len(data) != state[0]:
            self.seen.pop(relative, None)  # written to while being read: look again later
            return None
        if not looks_complete(data) and stable_for < max(INCOMPLETE_GIVE_UP_S, self.settle):
            self._warn_once(relative, f"{relative}: the image has no end yet; waiting for the camera to finish it.")
            return None
        self.seen.pop(relative, None)
        return {"path": relative, "data": data, "sha256": hashlib.sha256(data).hexdigest(),
                "size": state[0], "mtime_ns": state[1]}

    def _files(self) -> Iterator[tuple[Path, str | None]]:
        for entry in sorted(self.root.iterdir()):
            if entry.name.startswith("."):
                continue  # the spool, and the camera's hidden temporary files
            if entry.is_file():
                yield entry, None
            elif entry.is_dir():
                for child in sorted(entry.iterdir()):
                    if child.is_file() and not child.name.startswith("."):
                        yield child, entry.name

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.log.warning(message)
