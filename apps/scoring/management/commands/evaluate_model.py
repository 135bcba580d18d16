import json
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from apps.layers.imaging import image_to_array
from apps.machines.selectors import machine_find
from apps.scoring import model_cache
from apps.scoring.selectors import model_version_active
from ml.evaluation import evaluate, format_report
from ml.preprocess import preprocess

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder.")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise CommandError(f"No images in {folder}.")
    return files


class Command(BaseCommand):
    help = "Scores folders of good and defective images with a machine's active model and prints metrics."

    def add_arguments(self, parser):
        parser.add_argument("machine")
        parser.add_argument("--good", type=Path, required=True)
        parser.add_argument("--defective", type=Path, required=True)
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the metrics as JSON.")

    def handle(self, *args, machine, good, defective, as_json: bool, **options):
        found = machine_find(slug_or_name=machine)
        if found is None:
            raise CommandError(f"No machine {machine!r}.")
        version = model_version_active(machine=found)
        if version is None:
            raise CommandError(f"Machine {found.name} has no active model; run train_model first.")
        good_files, defective_files = _images(good), _images(defective)
        files = good_files + defective_files
        labels = np.array([0] * len(good_files) + [1] * len(defective_files))
        scorer = model_cache.scorer_for(version)
        arrays = np.stack([preprocess(image_to_array(p.read_bytes()), scorer.input_size) for p in files])
        scores = scorer.score(arrays).scores
        metrics = evaluate(scores, labels, version.threshold)
        if as_json:
            self.stdout.write(json.dumps({"machine": found.slug, "model_version": version.version,
                                          "scorer": version.scorer, **metrics.as_dict()}, indent=2, default=float))
        else:
            self.stdout.write(f"{found.name} v{version.version} ({version.scorer}), threshold {version.threshold:.6g}")
            self.stdout.write(format_report(metrics))
