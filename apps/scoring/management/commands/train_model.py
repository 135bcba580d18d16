from django.core.management.base import BaseCommand, CommandError

from apps.machines.selectors import machine_find
from apps.scoring.training import (
    NotEnoughLayers,
    model_version_activate,
    model_version_create,
    model_version_train,
)
from ml.scorers import DEFAULT_SCORER, SCORERS


class Command(BaseCommand):
    help = (
        "Trains a model for a machine on its layers labeled good (or all its layers if none are "
        "labeled), calibrates its threshold, records a ModelVersion and activates it."
    )

    def add_arguments(self, parser):
        parser.add_argument("machine", help="Machine slug or name.")
        parser.add_argument("--epochs", type=int, default=20)
        parser.add_argument("--scorer", default=DEFAULT_SCORER, choices=sorted(SCORERS))
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--target-fpr", type=float, default=None,
                            help="False-positive rate to calibrate for when no defects are labeled.")
        parser.add_argument("--resolution", type=int, default=None,
                            help="Side in px the layers are scored at: 256 or a multiple of it (default: the "
                            "camera's, up to LAYERWATCH_SCORING_RESOLUTION).")
        parser.add_argument("--no-activate", action="store_true")

    def handle(self, *args, machine, epochs, scorer, seed, target_fpr, resolution, no_activate, **options):
        found = machine_find(slug_or_name=machine)
        if found is None:
            raise CommandError(f"No machine {machine!r}.")
        if epochs < 1:
            raise CommandError("--epochs must be at least 1.")
        if target_fpr is not None and not 0 < target_fpr < 1:
            raise CommandError("--target-fpr must be between 0 and 1.")
        config = {} if resolution is None else {"resolution": resolution}
        try:
            version = model_version_create(machine=found, scorer=scorer, config=config)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Training {found.name} v{version.version} ({scorer}) for {epochs} epochs…")
        try:
            version = model_version_train(version=version, epochs=epochs, seed=seed, target_fpr=target_fpr)
        except NotEnoughLayers as error:
            raise CommandError(str(error)) from error
        if not no_activate:
            model_version_activate(version=version)
        calibration = version.metrics.get("calibration", {})
        self.stdout.write(
            f"v{version.version}: threshold {version.threshold:.6g} by {version.calibration_method} "
            f"({calibration}); sha256 {version.sha256}; "
            f"{'active' if not no_activate else 'ready, not activated'}."
        )
