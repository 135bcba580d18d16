"""The build volume in a real Chromium: Plotly (served from the app, offline) draws both
projections, and a click on an anomaly opens its layer."""

import pytest

from tests.records.helpers import synthetic_layer_add
from tests.ui.test_browser import browser, page, shoot  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_draws_the_volume_and_opens_the_layer_clicked(page, live_server, machine, fake_version):  # noqa: F811
    version = fake_version(machine)
    layers = [synthetic_layer_add(machine, version, kind="spatter" if i == 6 else None, index=i) for i in range(10)]
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/jobs/{layers[0].job_id}/volume/")
    page.wait_for_selector("body[data-volume-ready='1']")
    assert page.locator("#plot-x .main-svg").count() >= 1 and page.locator("#plot-y .main-svg").count() >= 1
    assert "regions on anomalous layers" in page.locator("[data-testid=volume-note]").inner_text()
    shoot(page, "build-volume")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_timeout(300)  # the responsive plot settles at the new width
    # Click the region's marker on the front projection.
    point = page.locator("#plot-x .scatterlayer .point").first
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"{live_server.url}/layers/{layers[6].pk}/")
    assert page.locator("h1").inner_text() == "Layer 6"
    assert outside == []  # Plotly came from the app itself
    page.wait_for_load_state("networkidle")  # no request still in the server when the tables are emptied


def test_it_shows_the_record_with_its_images_loaded(page, live_server, machine, fake_version):  # noqa: F811
    version = fake_version(machine)
    layers = [synthetic_layer_add(machine, version, kind="streak" if i == 2 else None, index=i) for i in range(4)]
    page.goto(f"{live_server.url}/jobs/{layers[0].job_id}/report/")
    page.wait_for_function("Array.from(document.images).every((i) => i.complete)")
    sizes = page.eval_on_selector_all("[data-testid=anomalous-layer] img", "(all) => all.map((i) => i.naturalWidth)")
    assert len(sizes) == 2 and all(width > 0 for width in sizes)
    shoot(page, "build-record")
    page.wait_for_load_state("networkidle")
