"""One upload to the layerwatch printer API, and what its answer means for the spool."""

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

import requests

from apps.uploader.spool import Entry

SENT, CONFLICT, REFUSED, RETRY = "sent", "conflict", "refused", "retry"


class TokenRefused(Exception):
    """The server refused the token (401): nothing can be sent until it is fixed."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    code: int | None = None
    message: str = ""
    url: str = ""
    retry_after: float | None = None


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and set(body) == {"detail"}:
        return str(body["detail"])
    return str(body)[:300]


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


class Sender:
    def __init__(self, *, server: str, token: str, timeout: tuple[float, float] = (5.0, 60.0)) -> None:
        self.url = server.rstrip("/") + "/api/v1/layers/"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def upload(self, entry: Entry, data: bytes) -> Outcome:
        captured_at = datetime.fromtimestamp(entry.mtime_ns / 1e9, tz=UTC).isoformat()
        form = {"job": entry.job, "layer": str(entry.layer), "captured_at": captured_at}
        name = PurePosixPath(entry.path).name
        try:
            response = self.session.post(
                self.url, data=form, files={"image": (name, data)}, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            return Outcome(RETRY, message=f"{type(error).__name__}: {error}")
        code = response.status_code
        if code in (200, 202):
            try:
                url = str(response.json().get("url", ""))
            except (ValueError, AttributeError):
                url = ""  # stored all the same; only the link to the layer is missing
            return Outcome(SENT, code, url=url)
        if code == 401:
            raise TokenRefused(f"The server refused the token (401): {_message(response)}")
        if code == 409:
            return Outcome(CONFLICT, code, _message(response))
        if code == 429 or code >= 500:
            return Outcome(RETRY, code, _message(response), retry_after=_retry_after(response))
        # Any other 4xx (and a redirect: check --server) will answer the same every time.
        return Outcome(REFUSED, code, _message(response))


class Backoff:
    """Waits that double after each failure up to `cap` seconds, with jitter, and reset on success."""

    def __init__(self, *, base: float = 1.0, cap: float = 300.0) -> None:
        self.base, self.cap = base, cap
        self.failures = 0
        self.until = 0.0

    def failed(self, retry_after: float | None = None) -> float:
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** (self.failures - 1)) * random.uniform(0.8, 1.0)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap))
        self.until = time.monotonic() + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.until = 0, 0.0

    def due(self) -> bool:
        return time.monotonic() >= self.until
