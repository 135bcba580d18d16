"""Scored layers with real synthetic defects and the heatmaps an ideal detector would draw."""

import numpy as np
from django.core.files.base import ContentFile
from scipy import ndimage

from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring.models import LayerScore, ModelVersion
from apps.scoring.rendering import SCALE_MAX, heatmap_png
from ml.kinds.synthetic import DETECTION_GREY
from ml.regions import top_regions
from ml.synthetic import generate_layers
from tests.images import image_bytes


def synthetic_layer_add(machine, version: ModelVersion, *, kind: str | None, index: int, job: str = "job-1",
                        sample: int | None = None, seed: int = 7) -> Layer:
    """Stores synthetic layer `sample` (default: index) with a `kind` defect, scored as a worker would."""
    number = index if sample is None else sample
    layer = generate_layers(seed=seed, n=1, defect_kind=kind, first=number)[0]
    twin = generate_layers(seed=seed, n=1, first=number)[0]
    heat = ndimage.gaussian_filter(np.abs(layer.image.astype(np.float32) - twin.image), 1.0) / DETECTION_GREY
    stored = layer_ingest(machine=machine, job_id=job, index=index, data=image_bytes(layer.image),
                          enqueue=False).layer
    regions = top_regions(heat)
    row = LayerScore(layer=stored, model_version=version, scorer=version.scorer, threshold=version.threshold,
                     score=version.threshold * (1.5 if regions else 0.5), anomalous=bool(regions), regions=regions)
    row.heatmap.save("heatmap.png", ContentFile(heatmap_png(heat, vmax=SCALE_MAX)), save=False)
    row.save()
    Layer.objects.filter(pk=stored.pk).update(status=Layer.Status.SCORED, current_score=row)
    stored.refresh_from_db()
    return stored
