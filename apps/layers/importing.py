"""Bulk import of an archive of layer images, resumable: what is already stored is skipped."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from apps.layers.imaging import ImageRejected, ImageTooLarge
from apps.layers.models import Label, Layer
from apps.layers.services import JobEnded, LayerConflict, label_submit, layer_ingest
from apps.machines.models import Machine


class ImportFailed(Exception):
    """One file that could not be imported, and why."""


@dataclass
class ImportStats:
    created: int = 0
    skipped: int = 0
    labeled: int = 0
    failed: int = 0


def layers_import(
    *,
    machine: Machine,
    job_id: str,
    files: list[Path],
    label: str | None,
    enqueue: bool,
    stats: ImportStats,
) -> Iterator[object]:
    """Imports files[i] as layer i; yields once per file (an ImportFailed if it failed)."""
    # One query up front, so a resumed import of 45k layers skips stored ones without a query each.
    stored = dict(
        Layer.objects.filter(machine=machine, job__job_id=job_id).values_list("index", "sha256")
    )
    labeled = set(
        Layer.objects.filter(machine=machine, job__job_id=job_id).exclude(label="").values_list("index", flat=True)
    )
    for index, path in enumerate(files):
        data = path.read_bytes()
        if stored.get(index) == hashlib.sha256(data).hexdigest() and (label is None or index in labeled):
            stats.skipped += 1
            yield None
            continue
        try:
            result = layer_ingest(machine=machine, job_id=job_id, index=index, data=data, enqueue=enqueue)
        except (ImageRejected, ImageTooLarge, LayerConflict, JobEnded) as error:
            stats.failed += 1
            yield ImportFailed(f"{path}: {error}")
            continue
        stats.created += int(result.created)
        stats.skipped += int(not result.created)
        if label and index not in labeled:
            label_submit(layer=result.layer, value=label, source=Label.Source.IMPORT)
            stats.labeled += 1
        yield result
