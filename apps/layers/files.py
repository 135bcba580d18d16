"""The files behind layers: deleting a job with its files, the retention policy, and disk use.

Retention removes old layers' images, heatmaps and reconstructions (the rows, their scores and
sha256 stay) after the number of days set for each kind, never touching a protected layer:
one kept by hand (`Layer.keep`), labeled, or in an alert. Other apps add their own protection
(a build record's layers, say) with `@retention_protection`, a function returning a Q on Layer.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import Storage, default_storage
from django.db import router, transaction
from django.db.models import FileField, Model, Q, QuerySet
from django.db.models.deletion import Collector
from django.utils import timezone

from apps.layers.models import Layer, PrintJob
from apps.machines.models import Machine
from apps.scoring.models import LayerScore

logger = logging.getLogger(__name__)

_CHUNK = 500
_protections: list[Callable[[], Q]] = []


def retention_protection(build: Callable[[], Q]) -> Callable[[], Q]:
    """Registers a function returning a Q on Layer whose layers retention must keep."""
    if build not in _protections:
        _protections.append(build)
    return build


def layers_protected_from_retention() -> QuerySet[Layer]:
    """Layers whose files retention keeps: kept by hand, labeled, in an alert, or registered by an app."""
    protected = Q(keep=True) | ~Q(label="") | Q(alerts__isnull=False)
    for build in _protections:
        protected |= build()
    return Layer.objects.filter(protected)


def _stored_files(model: type[Model], rows: Iterable) -> list[tuple[Storage, str]]:
    fields = [f for f in model._meta.concrete_fields if isinstance(f, FileField)]
    if not fields:
        return []
    if isinstance(rows, QuerySet):
        rows = rows.values_list(*[f.attname for f in fields])
    else:
        rows = [[getattr(row, f.attname) for f in fields] for row in rows]
    return [(f.storage, str(name)) for names in rows for f, name in zip(fields, names, strict=True) if name]


def _files_delete(files: list[tuple[Storage, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("Could not delete %s", name)


def job_delete(*, job: PrintJob) -> int:
    """Deletes the job, its layers and whatever else goes with them, and then their files.

    Every file field of every row the deletion cascades to is collected first, so files of other
    apps' rows (part labels, say) go too. Files are deleted once the rows are gone for good.
    """
    collector = Collector(using=router.db_for_write(PrintJob), origin=job)
    collector.collect([job])
    files = [file for model, rows in collector.data.items() for file in _stored_files(model, rows)]
    files += [file for rows in collector.fast_deletes for file in _stored_files(rows.model, rows)]
    with transaction.atomic():
        job.delete()
        transaction.on_commit(lambda: _files_delete(files))
    return len(files)


@dataclass
class RetentionReport:
    images: int = 0
    heatmaps: int = 0
    reconstructions: int = 0
    bytes: int = 0
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)


def _cutoff(days: int | None, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days else None


def retention_apply(*, dry_run: bool = False, now: datetime | None = None) -> RetentionReport:
    """Removes the files the policy (LAYERWATCH_RETAIN_*_DAYS; 0 keeps them for ever) says are too old."""
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    protected = layers_protected_from_retention().values("pk")
    images_cutoff = _cutoff(settings.LAYERWATCH_RETAIN_IMAGES_DAYS, now)
    if images_cutoff:
        old = Layer.objects.filter(received_at__lt=images_cutoff).exclude(image="").exclude(pk__in=protected)
        report.images = _remove(old, "image", report, dry_run, stamp={"files_removed_at": now})
    for kind in ("heatmap", "reconstruction"):
        cutoff = _cutoff(getattr(settings, f"LAYERWATCH_RETAIN_{kind.upper()}S_DAYS"), now)
        if cutoff:
            old = LayerScore.objects.filter(scored_at__lt=cutoff).exclude(**{kind: ""}).exclude(layer__in=protected)
            setattr(report, f"{kind}s", _remove(old, kind, report, dry_run))
    return report


def _remove(rows: QuerySet, field_name: str, report: RetentionReport, dry_run: bool, stamp: dict | None = None) -> int:
    storage = rows.model._meta.get_field(field_name).storage
    removed = 0
    while True:
        chunk = list(rows.order_by("pk").values_list("pk", field_name)[removed if dry_run else 0:][:_CHUNK])
        if not chunk:
            return removed
        for _, name in chunk:
            try:
                report.bytes += storage.size(name)
            except OSError:
                pass  # already gone: the row is cleared all the same
            if not dry_run:
                _files_delete([(storage, name)])
        if not dry_run:
            rows.model.objects.filter(pk__in=[pk for pk, _ in chunk]).update(**{field_name: ""}, **(stamp or {}))
        removed += len(chunk)


def machine_disk_usage(*, machine: Machine) -> int:
    """Bytes stored for the machine (layer images, heatmaps, models), counted at most every few minutes."""
    key = f"layerwatch:disk-usage:{machine.slug}"
    usage = cache.get(key)
    if usage is None:
        folders = [f"{kind}/{machine.slug}" for kind in ("layers", "heatmaps", "models")]
        usage = sum(_folder_size(default_storage, folder) for folder in folders)
        cache.set(key, usage, settings.LAYERWATCH_DISK_USAGE_CACHE_SECONDS)
    return usage


def _folder_size(storage: Storage, folder: str) -> int:
    try:
        folders, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    total = sum(storage.size(f"{folder}/{name}") for name in files)
    return total + sum(_folder_size(storage, f"{folder}/{name}") for name in folders)
