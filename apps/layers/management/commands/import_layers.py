from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.layers.importing import ImportStats, layers_import
from apps.layers.models import LabelValue
from apps.machines.selectors import machine_find

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


class Command(BaseCommand):
    help = (
        "Imports a folder of layer images (sorted by name; the n-th file is layer n) into one job. "
        "Resumable: layers already stored with the same bytes are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("machine", help="Machine slug or name.")
        parser.add_argument("directory", type=Path)
        parser.add_argument("--job", help="Job id to import into (default: the folder's name).")
        parser.add_argument("--label", choices=[LabelValue.GOOD, LabelValue.DEFECTIVE])
        parser.add_argument("--no-score", action="store_true", help="Store only; do not queue scoring.")

    def handle(
        self, *args, machine: str, directory: Path, job: str | None, label: str | None, no_score: bool, **options
    ):
        found = machine_find(slug_or_name=machine)
        if found is None:
            raise CommandError(f"No machine {machine!r}. Create it with create_machine first.")
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        files = sorted(p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise CommandError(f"No PNG, JPEG, TIFF or BMP images in {directory}.")
        job_id = job or directory.resolve().name
        stats = ImportStats()
        with tqdm(total=len(files), unit="layer", desc=f"import {job_id}") as bar:
            for event in layers_import(
                machine=found, job_id=job_id, files=files, label=label, enqueue=not no_score, stats=stats
            ):
                if isinstance(event, Exception):
                    tqdm.write(f"skipped: {event}")
                bar.update(1)
        self.stdout.write(
            f"Job {job_id}: {stats.created} imported, {stats.skipped} already there, "
            f"{stats.labeled} labeled, {stats.failed} failed."
        )
        if stats.failed:
            raise CommandError(f"{stats.failed} files could not be imported (listed above).")
