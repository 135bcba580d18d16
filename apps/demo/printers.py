"""Simulated printers: synthetic print jobs uploaded layer by layer over the printer REST API."""

import io
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import requests
from PIL import Image

from ml.synthetic import DEFECT_KINDS, generate_job

RETRYABLE = {429, 500, 502, 503, 504}
PRINTER_GROUP = 30  # layers: a simulated job's parts change this often


@dataclass(frozen=True)
class Printer:
    slug: str
    token: str


def machine_seed(slug: str) -> int:
    """Each machine has its own look (part layouts, lighting), stable across runs."""
    return zlib.crc32(slug.encode()) % 100_000


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_layer(
    *, session: requests.Session, url: str, printer: Printer, job: str, index: int, png: bytes,
    parts: bytes | None = None, retries: int = 8,
) -> requests.Response:
    """POSTs one layer, with its part-label image where given; retries connection errors and 5xx
    with backoff (the API is idempotent)."""
    files = {"image": (f"layer-{index}.png", png, "image/png")}
    if parts is not None:
        files["parts"] = (f"parts-{index}.png", parts, "image/png")
    delay = 0.5
    for attempt in range(retries + 1):
        try:
            response = session.post(
                f"{url.rstrip('/')}/api/v1/layers/",
                headers={"Authorization": f"Token {printer.token}"},
                files=files,
                data={"job": job, "layer": str(index), "captured_at": datetime.now(UTC).isoformat()},
                timeout=30,
            )
            if response.status_code not in RETRYABLE or attempt == retries:
                return response
        except requests.ConnectionError:
            if attempt == retries:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 10)
    raise AssertionError("unreachable")


def job_plan(*, seed: int, n_layers: int, defect_chance: float) -> dict[int, str]:
    """Where a job's defects start: most jobs are clean, some get one persisting defect."""
    rng = np.random.default_rng(seed)
    if n_layers < 20 or rng.random() >= defect_chance:
        return {}
    return {int(rng.integers(10, n_layers - 5)): str(rng.choice(DEFECT_KINDS))}


def run_printer(
    *, printer: Printer, url: str, interval: float, layers_per_job: int, jobs: int, size: int,
    defect_chance: float, stop: threading.Event, log=print,
) -> int:
    """Uploads `jobs` jobs (0: until stopped). Returns how many layers were accepted."""
    accepted, job_number = 0, 0
    session = requests.Session()
    base_seed = machine_seed(printer.slug)
    started = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    while not stop.is_set() and (jobs == 0 or job_number < jobs):
        seed = base_seed * 1000 + job_number + int(time.time()) % 997
        job = f"{printer.slug}-{started}-{job_number + 1}"
        defects = job_plan(seed=seed, n_layers=layers_per_job, defect_chance=defect_chance)
        layers = generate_job(
            seed=seed, machine_seed=base_seed, n_layers=layers_per_job, size=size, defects=defects,
            defect_persistence=6, group_length=PRINTER_GROUP,
        )
        for layer in layers:
            if stop.is_set():
                break
            response = upload_layer(
                session=session, url=url, printer=printer, job=job, index=layer.index, png=png_bytes(layer.image),
                parts=png_bytes(layer.parts),  # the simulated printers know their parts from the build
            )
            accepted += int(response.status_code in (200, 202))
            note = f" defect={layer.defect}" if layer.defect else ""
            log(f"[{printer.slug}] {job} layer {layer.index}: {response.status_code}{note}")
            stop.wait(interval)
        job_number += 1
    return accepted
