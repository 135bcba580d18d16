"""Layers with part labels and scored regions, made without running a model (fast)."""

import io
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image

from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring.models import LayerScore, ModelVersion
from tests.images import image_bytes

SIZE = 128  # photo size; the model frame is 256, so frame px = 2 × image px


def labels_png(labels: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(labels, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def two_parts(size: int = SIZE) -> np.ndarray:
    """Part 1 on the left, part 2 on the right, powder between."""
    labels = np.zeros((size, size), dtype=np.uint8)
    labels[20:60, 10:50] = 1
    labels[20:60, 80:120] = 2
    return labels


def region(x: int, y: int, width: int, height: int, *, peak: float = 2.0) -> dict:
    """A stored region, given in the 256 frame."""
    box = {"x": x, "y": y, "width": width, "height": height}
    return {"box": box, "box_fraction": {k: v / 256 for k, v in box.items()}, "area": width * height // 2,
            "area_fraction": width * height / 2 / 65536, "peak": peak}


def media_files() -> set[Path]:
    return {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}


@pytest.fixture
def version(printer):
    return ModelVersion.objects.create(machine=printer.machine, version=1, scorer="seed",
                                       status=ModelVersion.Status.ACTIVE, threshold=1.0)


@pytest.fixture
def add_layer(printer, version):
    """Stores a layer (with part labels unless None) and, given regions, a score with them."""

    def add(index: int, *, labels: np.ndarray | None = None, regions: list[dict] | None = None,
            anomalous: bool = True, job: str = "job-1") -> Layer:
        layer = layer_ingest(machine=printer.machine, job_id=job, index=index,
                             data=image_bytes(seed=index, size=SIZE), enqueue=False,
                             parts=None if labels is None else labels_png(labels)).layer
        if regions is not None:
            row = LayerScore(layer=layer, model_version=version, scorer="seed", score=2.0 if anomalous else 0.5,
                             threshold=1.0, anomalous=anomalous, regions=regions)
            row.heatmap.save("heatmap.png", ContentFile(b"png"), save=False)
            row.save()
            Layer.objects.filter(pk=layer.pk).update(status=Layer.Status.SCORED, current_score=row)
            layer.refresh_from_db()
        return layer

    return add
