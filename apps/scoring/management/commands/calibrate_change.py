from django.core.management.base import BaseCommand, CommandError

from apps.machines.selectors import machine_find
from apps.scoring.change_calibration import CannotRecalibrate, model_version_change_recalibrate
from apps.scoring.models import ModelVersion
from apps.scoring.selectors import model_version_active


def _shown(value: float | None) -> str:
    return "off" if value is None else f"{value:.6g}"


class Command(BaseCommand):
    help = (
        "Calibrates the alert rules' change channel of a machine's model version again, on the good "
        "layers it was trained with, without retraining. Scoring reads the calibration for every batch, "
        "so workers use it from their next batch without a restart."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version names a model version here, in place of Django's option that prints its own.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("machine", help="Machine slug or name.")
        parser.add_argument("--version", type=int, default=None, help="Version number (default: the active one).")
        parser.add_argument("--dry-run", action="store_true", help="Print the new calibration; save nothing.")

    def handle(self, *args, machine, version, dry_run, **options):
        found = machine_find(slug_or_name=machine)
        if found is None:
            raise CommandError(f"No machine {machine!r}.")
        if version is None:
            target = model_version_active(machine=found)
            if target is None:
                raise CommandError(f"Machine {found.name} has no active model; run train_model first.")
        else:
            target = ModelVersion.objects.filter(machine=found, version=version).first()
            if target is None:
                raise CommandError(f"Machine {found.name} has no model version {version}.")
        try:
            result = model_version_change_recalibrate(version=target, dry_run=dry_run)
        except CannotRecalibrate as error:
            raise CommandError(str(error)) from error
        missing = f", {result.n_missing} deleted since training skipped" if result.n_missing else ""
        self.stdout.write(
            f"{found.name} v{target.version}: change threshold {_shown(result.old_threshold)} → "
            f"{_shown(result.new.threshold)}, baseline {_shown(result.old_baseline)} → "
            f"{_shown(result.new.baseline)}; {result.new.n_scores} scores from {result.n_layers} good layers{missing}."
        )
        self.stdout.write("Dry run: nothing saved." if dry_run else "Saved.")
