"""POST /api/v1/layers/ with a part-label image: kept when it fits, 400 and nothing stored when not."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.layers.models import Layer, PrintJob
from apps.parts.models import LayerParts
from apps.parts.services import frame_unpack
from tests.images import image_bytes
from tests.parts.conftest import SIZE, labels_png, media_files, two_parts

pytestmark = pytest.mark.django_db
URL = "/api/v1/layers/"


def upload(client, parts: bytes, *, image: bytes | None = None, job="J1", layer=0):
    form = {"job": job, "layer": layer, "image": SimpleUploadedFile("layer.png", image or image_bytes(size=SIZE)),
            "parts": SimpleUploadedFile("parts.png", parts)}
    return client.post(URL, form, format="multipart")


def test_it_keeps_an_8_bit_label_image_with_each_parts_box(printer_client):
    response = upload(printer_client, labels_png(two_parts()))
    assert response.status_code == 202, response.json()
    parts = LayerParts.objects.get(layer_id=response.json()["id"])
    assert not parts.estimated and parts.labels.name.endswith(".png")
    assert parts.extents == {
        "1": {"bbox": [10, 20, 50, 60], "area": 1600},
        "2": {"bbox": [80, 20, 120, 60], "area": 1600},
    }
    frame = frame_unpack(parts.frame)
    assert frame.shape == (256, 256) and frame[80, 60] == 1 and frame[80, 200] == 2 and frame[200, 128] == 0


def test_it_keeps_16_bit_part_numbers(printer_client):
    labels = two_parts().astype(np.uint16) * 1000  # parts 1000 and 2000
    response = upload(printer_client, labels_png(labels))
    assert response.status_code == 202, response.json()
    assert set(LayerParts.objects.get().extents) == {"1000", "2000"}


def test_it_stores_no_parts_for_a_layer_sent_without_them(printer_client):
    form = {"job": "J1", "layer": 0, "image": SimpleUploadedFile("layer.png", image_bytes(size=SIZE))}
    assert printer_client.post(URL, form, format="multipart").status_code == 202
    assert not LayerParts.objects.exists()


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: labels_png(two_parts(SIZE // 2)), "the photo is 128×128"),
        (lambda: labels_png(np.stack([two_parts()] * 3, axis=-1)), "RGB"),
        (lambda: image_bytes(two_parts(), fmt="JPEG"), "must be a PNG"),
        (lambda: image_bytes(two_parts(), fmt="TIFF"), "must be a PNG"),
        (lambda: b"not an image at all", "not a readable PNG"),
        (lambda: labels_png(two_parts())[:60], "not a readable PNG"),
    ],
    ids=["other-size", "rgb", "jpeg", "tiff", "garbage", "truncated"],
)
def test_it_answers_400_for_a_bad_label_image_and_stores_nothing(printer_client, make, message):
    before = media_files()
    response = upload(printer_client, make())
    assert response.status_code == 400
    assert message in " ".join(response.json()["parts"])
    assert not Layer.objects.exists() and not LayerParts.objects.exists() and not PrintJob.objects.exists()
    assert media_files() == before


def test_it_answers_400_for_more_parts_than_allowed(printer_client, settings):
    settings.LAYERWATCH_MAX_PARTS = 1
    before = media_files()
    response = upload(printer_client, labels_png(two_parts()))
    assert response.status_code == 400
    assert response.json()["parts"] == ["The part-label image has 2 parts; at most 1 are allowed."]
    assert not Layer.objects.exists() and media_files() == before


def test_it_removes_the_stored_image_when_storing_the_layer_fails_late(printer_client, monkeypatch):
    def broken_store(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("apps.layers.services.layer_parts_store", broken_store)
    before = media_files()
    with pytest.raises(OSError):
        upload(printer_client, labels_png(two_parts()))
    assert not Layer.objects.exists() and media_files() == before


def test_it_answers_a_retry_with_the_same_image_as_before(printer_client):
    first = upload(printer_client, labels_png(two_parts()))
    again = upload(printer_client, labels_png(two_parts()))
    assert (first.status_code, again.status_code) == (202, 200)
    assert LayerParts.objects.count() == 1
