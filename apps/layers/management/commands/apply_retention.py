from django.conf import settings
from django.core.management.base import BaseCommand

from apps.layers.files import retention_apply


def _days(value: int) -> str:
    return f"{value} days" if value else "for ever"


class Command(BaseCommand):
    help = (
        "Removes layer images, heatmaps and reconstructions older than the retention policy "
        "(LAYERWATCH_RETAIN_*_DAYS), keeping labeled layers, layers in alerts and layers kept by hand."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed; remove nothing.")

    def handle(self, *args, dry_run: bool, **options):
        self.stdout.write(
            f"Policy: images {_days(settings.LAYERWATCH_RETAIN_IMAGES_DAYS)}, heatmaps "
            f"{_days(settings.LAYERWATCH_RETAIN_HEATMAPS_DAYS)}, reconstructions "
            f"{_days(settings.LAYERWATCH_RETAIN_RECONSTRUCTIONS_DAYS)}."
        )
        report = retention_apply(dry_run=dry_run)
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(
            f"{verb} {report.images} images, {report.heatmaps} heatmaps and {report.reconstructions} "
            f"reconstructions ({report.bytes / 1e6:.1f} MB)."
        )
