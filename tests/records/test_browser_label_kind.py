"""Labeling a layer defective with its kind from the layer page, in a real Chromium."""

import pytest

from apps.layers.models import Label
from tests.ui.conftest import layer_add
from tests.ui.test_browser import browser, page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_labels_a_layer_defective_with_the_kind_picked(page, live_server, machine, fake_version):  # noqa: F811
    layer = layer_add(machine, index=0, score=1.6, version=fake_version(machine))
    page.goto(f"{live_server.url}/layers/{layer.pk}/")
    page.select_option("[data-testid=defect-kind]", "pit")
    with page.expect_navigation():
        page.click("button[data-label=defective]")
    assert page.locator("#current-label").inner_text() == "defective"
    assert "defective (pit) · olivia" in page.locator("ul.history").inner_text()
    assert Label.objects.get(layer=layer).kind == "pit"
    page.wait_for_load_state("networkidle")  # no request still in the server when the tables are emptied
