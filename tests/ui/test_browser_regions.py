"""The heatmap's region boxes sit where they belong on the layer image, in a real Chromium."""

import numpy as np
import pytest

from apps.layers.services import layer_ingest
from tests.images import image_bytes
from tests.ui.conftest import layer_add, score_record
from tests.ui.test_browser import browser, page, shoot  # noqa: F401 (fixtures)
from tests.ui.test_heatmap_regions import REGION

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_draws_a_box_over_the_anomalous_part_of_the_layer(page, live_server, machine, fake_version):  # noqa: F811
    layer = layer_add(machine, index=0, score=1.6, version=fake_version(machine))
    layer.current_score.regions = [REGION]
    layer.current_score.save()
    page.goto(f"{live_server.url}/layers/{layer.pk}/")
    page.keyboard.press("h")
    frame = page.locator("#overlay-box").bounding_box()
    box = page.locator("#overlay-box [data-testid=region]").bounding_box()
    assert box["x"] - frame["x"] == pytest.approx(0.25 * frame["width"], abs=1.5)
    assert box["y"] - frame["y"] == pytest.approx(0.125 * frame["height"], abs=1.5)
    assert box["width"] == pytest.approx(0.125 * frame["width"], abs=1.5)
    assert page.locator("#overlay-box [data-testid=region]").inner_text() == "1.8× · 0.6%"
    shoot(page, "layer-detail-regions")


def test_it_lays_the_label_queues_heatmap_exactly_over_a_wide_layer(page, live_server, machine, fake_version):  # noqa: F811
    version = fake_version(machine)
    wide = np.tile(np.linspace(0, 255, 160, dtype=np.uint8), (64, 1))  # 160 x 64 px
    layer = layer_ingest(machine=machine, job_id="wide", index=0, data=image_bytes(wide), enqueue=False).layer
    score_record(layer, version, score=1.6)
    page.goto(f"{live_server.url}/label/?mode=sequential")
    page.wait_for_selector("#frame img.layer-img")
    page.keyboard.press("h")
    page.wait_for_selector("#frame img.heat-img")
    page.wait_for_function("getComputedStyle(document.getElementById('frame')).aspectRatio !== '1 / 1'")
    image = page.locator("#frame img.layer-img").bounding_box()
    heat = page.locator("#frame img.heat-img").bounding_box()
    # The layer fills its frame (no letterbox), and the heatmap covers exactly the same pixels.
    assert image["width"] / image["height"] == pytest.approx(160 / 64, rel=0.02)
    assert heat == pytest.approx(image, abs=1.0)
