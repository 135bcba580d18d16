"""The operator pages in a real Chromium: the fleet updates live, 50 layers labeled from the
keyboard, undo, the layer, job, models and analyze pages, with screenshots at two widths."""

import os
import statistics
from pathlib import Path

import pytest

from apps.layers.models import Label, Layer
from tests.images import image_bytes
from tests.ui.conftest import layer_add

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the ORM calls here are still plain
# synchronous code between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = (1280, 768)
# Ten labels a second: faster than a person, and the prefetch has to keep up. UI_TEST_PACE_MS=0
# presses keys as fast as Playwright can (a burst the server must feed at ~30 images a second).
PACE_MS = int(os.environ.get("UI_TEST_PACE_MS", "100"))


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: run tests/install-browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, operator):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "shift-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_function("Array.from(document.images).every((i) => i.complete)")
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_it_shows_a_new_layer_on_the_fleet_dashboard(page, machine, fake_version):
    version = fake_version(machine)
    layer_add(machine, job="warmup", index=0, score=0.4, version=version)
    page.reload()
    card = page.locator(f'[data-machine="{machine.slug}"]')
    assert "warmup" in card.inner_text()
    layer_add(machine, job="live-job", index=7, score=3.0, version=version)  # while it polls
    page.wait_for_function(
        f"document.querySelector('[data-machine=\"{machine.slug}\"]').innerText.includes('live-job')",
        timeout=10_000,
    )
    assert "layer 7" in card.inner_text() and card.locator("[data-testid=status]").inner_text() == "WARNING"
    shoot(page, "dashboard")


def test_it_labels_fifty_layers_from_the_keyboard(page, live_server, machine, fake_version):
    version = fake_version(machine)
    for i in range(60):
        layer_add(machine, index=i, score=0.4 + (i % 10) * 0.15, version=version)
    page.goto(f"{live_server.url}/label/?mode=sequential")
    page.wait_for_selector("#frame img.layer-img")
    shoot(page, "label-queue")
    keys = "gdu"
    for n in range(50):
        before = page.get_attribute("#frame", "data-layer")
        page.wait_for_timeout(PACE_MS)
        page.keyboard.press(keys[n % 3])
        page.wait_for_function(f"document.getElementById('frame').dataset.layer !== '{before}'")
    page.keyboard.press("z")  # undo the 50th
    page.wait_for_function("window.layerwatchQueue.latencies.length >= 51")
    latencies = page.evaluate("window.layerwatchQueue.latencies")
    page.keyboard.press("?")
    assert page.is_visible("#help")
    shoot(page, "label-queue-help")
    page.keyboard.press("Escape")
    with page.expect_response("**/api/v1/labels/batch/"):
        page.click("#save-now")
    page.wait_for_function("window.layerwatchQueue.pending() === 0")

    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(f"\nkeypress -> next image: p50 {statistics.median(latencies):.1f} ms, "
          f"p95 {p95:.1f} ms, max {max(latencies):.1f} ms over {len(latencies)} keys, "
          f"a key every {PACE_MS} ms")
    assert p95 < 500  # generous: the target is 150 ms; the figure printed above is what counts
    labeled = Layer.objects.exclude(label="").order_by("index")
    assert labeled.count() == 49
    assert [layer.index for layer in labeled] == list(range(49))
    assert labeled[0].label == "good" and labeled[1].label == "defective"
    assert Label.objects.filter(user__username="olivia").count() == 49

    # A reload in blind mode: the undone layer comes first again, without the model's verdict.
    page.goto(f"{live_server.url}/label/?mode=sequential&blind=1")
    page.wait_for_selector("#frame img.layer-img")
    first = str(Layer.objects.get(index=49).pk)
    assert page.get_attribute("#frame", "data-layer") == first
    assert "Blind mode" in page.inner_text("#verdict")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute("#frame", "data-layer") == first
    shoot(page, "label-queue-blind")


def test_it_opens_a_layer_from_the_job_timeline(page, live_server, machine, fake_version):
    version = fake_version(machine)
    layers = [layer_add(machine, index=i, score=0.5 + (0.8 if i == 6 else 0), version=version)
              for i in range(12)]
    page.goto(f"{live_server.url}/jobs/{layers[0].job_id}/")
    shoot(page, "job-timeline")
    page.click("circle.dot.bad")
    page.wait_for_url(f"**/layers/{layers[6].pk}/")
    page.keyboard.press("h")
    assert page.is_visible("#overlay")
    shoot(page, "layer-detail")
    page.goto(f"{live_server.url}/machines/{machine.slug}/models/")
    shoot(page, "models")


def test_it_analyzes_an_uploaded_image(page, live_server, machine, install_model, tmp_path):
    install_model(machine, threshold=1000.0)
    image = tmp_path / "layer.png"
    image.write_bytes(image_bytes(seed=4, size=128))
    page.goto(f"{live_server.url}/analyze/")
    page.set_input_files("#images", str(image))
    page.click("#analyze")
    page.wait_for_selector("[data-testid=result]", timeout=60_000)
    assert page.locator(".features img").count() == 16
    shoot(page, "analyze")
