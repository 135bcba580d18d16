"""A machine whose model scores at the camera's resolution: the stored heatmap and the regions'
boxes are in the photo's own pixels, and the alert channels still see the model frame."""

import io

import numpy as np
import pytest
from django.core.files import File
from PIL import Image

from apps.demo.printers import png_bytes
from apps.layers.services import layer_ingest
from apps.scoring.models import ModelVersion
from apps.scoring.services import layers_score
from ml.artifacts import file_sha256
from ml.synthetic import generate_layers
from tests.conftest import FULL_RES_SIDE as SIDE

pytestmark = pytest.mark.django_db


def install(machine, artifact, threshold):
    version = ModelVersion(machine=machine, version=1, scorer="local", status=ModelVersion.Status.ACTIVE,
                           threshold=threshold, calibration_method="fpr_target", sha256=file_sha256(artifact))
    with artifact.open("rb") as handle:
        version.artifact.save("model.keras", File(handle), save=False)
    version.save()
    return version


def test_it_stores_the_heatmap_and_boxes_in_the_photos_own_pixels(printer, full_res_artifact):
    install(printer.machine, full_res_artifact, threshold=1.0)
    [synthetic] = generate_layers(seed=9, n=1, size=SIDE)
    image = synthetic.image.copy()
    image[150:350, 260:263] = np.clip(image[150:350, 260:263].astype(int) + 80, 0, 255)
    layer = layer_ingest(machine=printer.machine, job_id="J", index=0, data=png_bytes(image), enqueue=False).layer
    [score] = layers_score(layer_ids=[layer.pk])
    assert Image.open(io.BytesIO(score.heatmap.read())).size == (SIDE, SIDE)
    assert score.regions, "a bright streak three pixels wide is above a threshold of 1"
    top = score.regions[0]
    assert top["box_image"] == top["box"]  # the scored frame is the photo's own
    assert top["box"]["x"] <= 262 and top["box"]["x"] + top["box"]["width"] >= 260
