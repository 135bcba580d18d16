"""The heatmap's region boxes sit where they belong on the layer image, in a real Chromium."""

import pytest

from tests.ui.conftest import layer_add
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
