"""The printer upload endpoint fuzzed with Hypothesis: random multipart fields, image bytes, sizes,
layer numbers and job ids. No 5xx; every refusal says why; a refused upload stores nothing."""

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from rest_framework.test import APIClient

from apps.layers.models import Layer
from tests.security.fuzzing import EXAMPLES, refusal_problem, rolled_back, tally

pytestmark = pytest.mark.django_db

FORMATS = {"PNG": ("L", "RGB", "I;16", "1", "P", "RGBA", "LA"), "JPEG": ("L", "RGB"), "TIFF": ("L", "RGB", "I;16"),
           "BMP": ("L", "RGB"), "GIF": ("L",)}


@st.composite
def images(draw) -> bytes:
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(FORMATS[fmt]))
    width, height = draw(st.integers(1, 96)), draw(st.integers(1, 96))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width), dtype=np.uint8)
    image = Image.fromarray(pixels).convert("RGB" if mode in ("RGBA", "P") else "L")
    image = image.convert(mode) if mode != "I;16" else Image.fromarray(pixels.astype(np.uint16) * 257)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    data = buffer.getvalue()
    damage = draw(st.sampled_from(["none", "truncate", "flip", "prefix"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    elif damage == "prefix":
        data = draw(st.binary(max_size=16)) + data
    return data


TEXT = st.text(max_size=300)
FIELDS = {
    "image": st.one_of(images(), st.binary(max_size=2048), st.just(b"")),
    "job": st.one_of(TEXT, st.sampled_from(["job-1", "", " ", "a" * 5000, "../../etc/passwd", "\x00"])),
    "layer": st.one_of(st.integers(-(2**70), 2**70).map(str), TEXT, st.sampled_from(["0", "1e3", "NaN", "-0"])),
    "captured_at": st.one_of(TEXT, st.datetimes().map(lambda d: d.isoformat()), st.just("2026-13-45T99:00:00Z")),
    "parts": st.one_of(images(), st.binary(max_size=256)),
    "layout": TEXT,
    "extra": TEXT,
}


@st.composite
def forms(draw) -> dict:
    chosen = draw(st.sets(st.sampled_from(sorted(FIELDS)), min_size=0, max_size=len(FIELDS)))
    form = {}
    for name in chosen:
        value = draw(FIELDS[name])
        if isinstance(value, bytes):
            filename = draw(st.sampled_from(["layer.png", "x", "", "../evil.tif", "é.jpg"])) or "upload"
            value = SimpleUploadedFile(filename, value, content_type=draw(st.sampled_from(["image/png", "text/plain"])))
        form[name] = value.replace("\x00", "") if isinstance(value, str) and name != "job" else value
    return form


@pytest.fixture
def no_throttles(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}


def test_it_answers_fuzzed_uploads_without_server_errors(printer, no_throttles):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {printer.token}")

    @settings(max_examples=EXAMPLES * 8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(form=forms())
    def run(form):
        with rolled_back():
            response = client.post("/api/v1/layers/", form, format="multipart")
            tally(response.status_code)
            problem = refusal_problem(response.status_code, response.content)
            assert problem is None, (problem, {k: (v if isinstance(v, str) else v.name) for k, v in form.items()})
            if response.status_code >= 400:
                assert not Layer.objects.exists(), "a refused upload stored a layer"

    run()


@given(layer=st.integers(0, 10_000_000), job=st.text(min_size=1, max_size=100).filter(str.strip))
@settings(max_examples=EXAMPLES * 2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_it_accepts_any_valid_job_id_and_layer_number(printer, no_throttles, png, layer, job):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {printer.token}")
    with rolled_back():
        image = SimpleUploadedFile("layer.png", png, content_type="image/png")
        response = client.post("/api/v1/layers/", {"image": image, "job": job, "layer": layer}, format="multipart")
        tally(response.status_code)
        assert response.status_code in (202, 400), response.content
        if response.status_code == 400:  # a job id the API refuses says why, on the job field
            assert "job" in response.json(), response.content
