import pytest

from apps.layers.models import LAYOUT_MAX_LENGTH, Layer
from tests.images import image_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/layers/"


def upload(client, data: bytes | None = None, *, job="J1", layer=0, name="layer.png", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = {"job": job, "layer": layer, **extra}
    if data is not None:
        form["image"] = SimpleUploadedFile(name, data)
    return client.post(URL, form, format="multipart")


def test_it_accepts_a_layer_and_queues_it(printer_client, printer, png):
    response = upload(printer_client, png, job="build-7", layer=3)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["layer"] == 3 and body["job"] == "build-7"
    assert body["machine"] == printer.machine.slug
    assert body["url"].endswith(f"/api/v1/layers/{body['id']}/")
    layer = Layer.objects.get(pk=body["id"])
    assert layer.image.read() == png and layer.width == 128 and layer.height == 128


def test_it_stores_the_part_layout_the_printer_states_and_returns_it(printer_client, png):
    body = upload(printer_client, png, layout="parts 3, 7, 12").json()
    assert Layer.objects.get(pk=body["id"]).layout == "parts 3, 7, 12"
    assert printer_client.get(f"{URL}{body['id']}/").json()["layout"] == "parts 3, 7, 12"
    other = upload(printer_client, image_bytes(seed=5), layer=1).json()
    assert printer_client.get(f"{URL}{other['id']}/").json()["layout"] == ""


@pytest.mark.parametrize(
    "fmt,mode", [("PNG", "L"), ("PNG", "RGB"), ("PNG", "I;16"), ("JPEG", "L"), ("JPEG", "RGB"),
                 ("TIFF", "L"), ("TIFF", "I;16"), ("BMP", "L"), ("BMP", "RGB")],
)
def test_it_accepts_every_documented_format_and_depth(printer_client, fmt, mode):
    response = upload(printer_client, image_bytes(fmt=fmt, mode=mode), layer=1)
    assert response.status_code == 202, response.content


def test_it_answers_a_retry_with_identical_bytes_with_200_and_the_same_layer(printer_client, png):
    first = upload(printer_client, png)
    second = upload(printer_client, png)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json() == second.json()
    assert Layer.objects.count() == 1


def test_it_answers_409_for_different_bytes_in_the_same_slot_and_keeps_the_first(printer_client, png):
    upload(printer_client, png)
    response = upload(printer_client, image_bytes(seed=9))
    assert response.status_code == 409
    assert "different content" in response.json()["detail"]
    assert Layer.objects.get().image.read() == png


def test_it_treats_the_same_job_id_on_two_machines_as_two_jobs(printer_client, other_printer, png):
    from rest_framework.test import APIClient

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {other_printer.token}")
    assert upload(printer_client, png).status_code == 202
    assert upload(other, image_bytes(seed=4)).status_code == 202


@pytest.mark.parametrize(
    "form,field",
    [({"job": "", "layer": 0}, "job"), ({"job": "a/b", "layer": 0}, "job"),
     ({"job": "J", "layer": -1}, "layer"), ({"job": "J", "layer": "x"}, "layer"),
     ({"layer": 0}, "job"), ({"job": "J"}, "layer"),
     ({"job": "J", "layer": 0, "captured_at": "yesterday"}, "captured_at"),
     ({"job": "J", "layer": 0, "layout": "p" * (LAYOUT_MAX_LENGTH + 1)}, "layout")],
)
def test_it_answers_400_with_a_message_per_bad_field(printer_client, png, form, field):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = printer_client.post(URL, {**form, "image": SimpleUploadedFile("l.png", png)}, format="multipart")
    assert response.status_code == 400
    assert field in response.json()
    assert Layer.objects.count() == 0


def test_it_answers_400_when_the_image_is_missing(printer_client):
    response = upload(printer_client, None)
    assert response.status_code == 400 and "image" in response.json()


def test_it_answers_401_without_a_token(client, png):
    from rest_framework.test import APIClient

    response = upload(APIClient(), png)
    assert response.status_code == 401
    assert Layer.objects.count() == 0


@pytest.mark.parametrize("token", ["lwm_000000000000_wrong", "lwm_garbage", "nonsense"])
def test_it_answers_401_for_a_bad_token(token, printer, png):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert upload(client, png).status_code == 401


def test_it_answers_401_for_a_valid_prefix_with_a_wrong_secret(printer, png):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {printer.token[:-4]}abcd")
    assert upload(client, png).status_code == 401


def test_it_refuses_uploads_from_operators(operator_client, png):
    assert upload(operator_client, png).status_code == 403


def test_it_answers_413_for_an_image_over_the_byte_limit(printer_client, settings):
    settings.LAYERWATCH_MAX_IMAGE_BYTES = 10_000
    big = image_bytes(size=512)
    assert len(big) > 10_000
    response = upload(printer_client, big)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert Layer.objects.count() == 0


def test_it_answers_413_for_an_image_over_the_pixel_limit(printer_client, settings):
    settings.LAYERWATCH_MAX_IMAGE_PIXELS = 100 * 100
    assert upload(printer_client, image_bytes(size=128)).status_code == 413


@pytest.mark.parametrize(
    "data,name",
    [(b"%PDF-1.4 not an image", "doc.pdf"), (b"", "empty.png"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "cut.png")],
)
def test_it_answers_415_for_something_that_is_not_an_image(printer_client, data, name):
    response = upload(printer_client, data, name=name)
    assert response.status_code in (415, 400)  # an empty file is a missing field for DRF
    if data:
        assert response.status_code == 415
    assert Layer.objects.count() == 0


def test_it_answers_415_for_an_image_format_it_does_not_take(printer_client):
    assert upload(printer_client, image_bytes(fmt="GIF"), name="l.gif").status_code == 415


def test_it_answers_415_for_a_truncated_png(printer_client, png):
    assert upload(printer_client, png[: len(png) // 2]).status_code == 415


def test_it_answers_413_when_only_the_file_part_exceeds_the_limit(printer_client, settings, png):
    # The request fits under limit + form overhead, but the image itself is over the limit.
    settings.LAYERWATCH_MAX_IMAGE_BYTES = len(png) - 1
    response = upload(printer_client, png)
    assert response.status_code == 413 and "limit" in response.json()["detail"]
