"""Boxes around the heatmap's regions and the colour-bar legend, on the layer and analyze pages."""

import pytest
from django.urls import reverse

from tests.ui.conftest import layer_add

pytestmark = pytest.mark.django_db

REGION = {
    "box": {"x": 64, "y": 32, "width": 32, "height": 16},
    "box_fraction": {"x": 0.25, "y": 0.125, "width": 0.125, "height": 0.0625},
    "area": 400, "area_fraction": 400 / 256**2, "peak": 1.83,
}


def test_it_boxes_the_regions_of_an_anomalous_layer_with_peak_and_area(operator_session, machine, fake_version):
    layer = layer_add(machine, index=0, score=1.6, version=fake_version(machine))
    layer.current_score.regions = [REGION]
    layer.current_score.save()
    body = operator_session.get(reverse("ui:layer-detail", args=[layer.pk])).content.decode()
    # On the input (under the H overlay) and on the residual heatmap.
    assert body.count('data-testid="region"') == 2
    assert "left:25.000%; top:12.500%; width:12.500%; height:6.250%" in body
    assert "1.8× · 0.6%" in body
    assert 'data-testid="heat-legend"' in body and "1.0, mid-scale, is at the threshold" in body


def test_it_draws_no_boxes_on_a_normal_layer(operator_session, machine, fake_version):
    layer = layer_add(machine, index=0, score=0.5, version=fake_version(machine))
    body = operator_session.get(reverse("ui:layer-detail", args=[layer.pk])).content.decode()
    assert 'data-testid="region"' not in body and 'data-testid="heat-legend"' in body


def test_it_answers_the_analyze_api_and_page_with_regions(operator_client, operator_session, machine, install_model):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.images import image_bytes

    version = install_model(machine, threshold=1.0)  # far below the seed's scores: regions for sure
    upload = SimpleUploadedFile("x.png", image_bytes(seed=3, size=64), content_type="image/png")
    body = operator_client.post(reverse("api:analyze"), {"image": upload, "machine": machine.slug}).json()
    assert body["regions"] and body["regions"][0]["peak"] >= 1.0
    upload.seek(0)
    page = operator_session.post(reverse("ui:analyze"), {"version": version.pk, "images": [upload]})
    assert 'data-testid="region"' in page.content.decode()
