"""The operator guide's screenshots, taken from the real pages in Chromium.

A fleet of three printers with synthetic layers (one job with a spatter that raised an alert) is
visited page by page, as an admin. Each page is checked for what the guide says it shows, then
photographed. With LAYERWATCH_DOCS_SCREENSHOTS=1 the pictures replace those in docs/img/;
otherwise they go to test-artifacts/ so a normal run leaves the checkout alone.
"""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageChops
from scipy.ndimage import gaussian_filter

from apps.alerts.models import Alert, NotificationChannel
from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.machines.services import machine_create
from apps.scoring.models import LayerScore, ModelVersion
from apps.scoring.rendering import grayscale_png, heatmap_png
from ml.synthetic import generate_job
from tests.images import image_bytes
from tests.ui.test_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = ROOT / "docs" / "img"
SCRATCH_IMAGES = ROOT / "test-artifacts" / "operator-guide"
IMAGE_LIMIT = 200 * 1000
IMAGE_TARGET = 170 * 1000  # room for a browser that draws text a little differently
VIEWPORT = {"width": 1280, "height": 800}
DEFECT_LAYERS = range(24, 29)  # a spatter that stays for five layers


def screenshot_save(page, name: str) -> Path:
    """A viewport screenshot in a palette of colours, without dithering, so that it stays small.

    A page full of powder photographs is the largest: it gets fewer colours, then a smaller size,
    until it fits well under the limit.
    """
    folder = DOCS_IMAGES if os.environ.get("LAYERWATCH_DOCS_SCREENSHOTS") == "1" else SCRATCH_IMAGES
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_function("Array.from(document.images).every((i) => i.complete)")
    raw = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    raw = raw.crop((0, 0, raw.width, empty_bottom_cropped_height(raw)))
    path = folder / f"operators-{name}.png"
    for colours, scale in ((128, 1.0), (64, 1.0), (128, 0.8), (64, 0.8)):
        image = raw.resize((round(raw.width * scale), round(raw.height * scale)), Image.Resampling.LANCZOS)
        image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            path, optimize=True)
        if path.stat().st_size < IMAGE_TARGET:
            break
    assert path.stat().st_size < IMAGE_LIMIT, f"{path.name} is {path.stat().st_size} bytes"
    return path


def empty_bottom_cropped_height(image: Image.Image, margin: int = 24) -> int:
    """The height that leaves out the plain page background below the last content."""
    background = Image.new("RGB", image.size, image.getpixel((image.width - 1, image.height - 1)))
    box = ImageChops.difference(image, background).getbbox()
    return image.height if box is None else min(image.height, box[3] + margin)


def png(array: np.ndarray) -> bytes:
    return image_bytes(array.astype(np.uint8))


def score_store(layer: Layer, version: ModelVersion, *, score: float, mask: np.ndarray) -> None:
    """Records a score as a worker would, with a heatmap that glows where the defect is."""
    rng = np.random.default_rng(layer.index)
    heat = gaussian_filter(rng.random(mask.shape), 2) * 0.5
    regions = []
    if mask.any():
        heat += gaussian_filter(mask.astype(float), 2) * 6 * score
        rows, cols = np.nonzero(mask)
        y, x, h, w = rows.min(), cols.min(), np.ptp(rows) + 1, np.ptp(cols) + 1
        size = mask.shape[0]
        regions = [{
            "box": {"x": int(x), "y": int(y), "width": int(w), "height": int(h)},
            "box_fraction": {"x": x / size, "y": y / size, "width": w / size, "height": h / size},
            "area": int(mask.sum()), "area_fraction": float(mask.mean()), "peak": round(score, 2),
        }]
    row = LayerScore(layer=layer, model_version=version, scorer=version.scorer, score=score,
                     threshold=version.threshold, anomalous=score > version.threshold, regions=regions,
                     layer_group=0)
    row.heatmap.save("heatmap.png", ContentFile(heatmap_png(np.clip(heat, 0, 2), vmax=2.0)), save=False)
    image = np.asarray(Image.open(layer.image.open("rb")), dtype=np.float32) / 255
    row.reconstruction.save("reconstruction.png", ContentFile(grayscale_png(gaussian_filter(image, 1.5))),
                            save=False)
    row.save()
    Layer.objects.filter(pk=layer.pk).update(status=Layer.Status.SCORED, current_score=row)


def version_add(machine, *, version: int, status: str, tp: int) -> ModelVersion:
    """A trained version's record (no artifact: the pages only read its scores and metrics)."""
    fp, fn, tn = 2, 38 - tp, 410
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return ModelVersion.objects.create(
        machine=machine, version=version, scorer="local", status=status, threshold=1.0,
        calibration_method="fpr_target",
        metrics={"tp": tp, "fp": fp, "tn": tn, "fn": fn, "precision": precision, "recall": recall,
                 "f1": 2 * precision * recall / (precision + recall), "auroc": 0.98},
    )


def job_add(machine, version, *, job: str, seed: int, n_layers: int, defects: dict | None = None) -> list[Layer]:
    layers = []
    synthetic = generate_job(seed=seed, n_layers=n_layers, defects=defects or {}, defect_persistence=5)
    rng = np.random.default_rng(seed)
    for item in synthetic:
        layer = layer_ingest(machine=machine, job_id=job, index=item.index, data=png(item.image), enqueue=False).layer
        defective = item.mask.any()
        score = (1.6 + rng.random() * 0.8) if defective else (0.35 + rng.random() * 0.45)
        score_store(layer, version, score=score, mask=item.mask)
        layers.append(layer)
    return layers


@pytest.fixture
def fleet(admin_user):
    """Printer A mid-job with an alert, printer B printing cleanly, printer C with no model yet."""
    a = machine_create(name="Printer A").machine
    b = machine_create(name="Printer B").machine
    c = machine_create(name="Printer C").machine
    version_add(a, version=1, status=ModelVersion.Status.RETIRED, tp=29)
    active = version_add(a, version=2, status=ModelVersion.Status.ACTIVE, tp=34)
    layers = job_add(a, active, job="build-42", seed=7, n_layers=32, defects={DEFECT_LAYERS[0]: "spatter"})
    job_add(b, version_add(b, version=1, status=ModelVersion.Status.ACTIVE, tp=33), job="bracket-7", seed=11,
            n_layers=18)
    layer_ingest(machine=c, job_id="trial-1", index=0, data=image_bytes(seed=1, size=256), enqueue=False)
    alert = Alert.objects.create(machine=a, job=layers[0].job, severity="critical", last_layer_index=28,
                                 reason="4 of the last 5 layers are anomalous (layers 24–28).")
    alert.layers.add(*[layer for layer in layers if layer.index in DEFECT_LAYERS])
    NotificationChannel.objects.create(name="Shift lead", machine=a, kind="email", recipients="lead@example.com")
    NotificationChannel.objects.create(name="MES webhook", kind="webhook", url="https://mes.example.com/hooks/lw")
    return {"printer": a, "layers": layers, "alert": alert}


@pytest.fixture
def admin_page(browser, live_server, admin_user):  # noqa: F811
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "admin-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def test_it_shows_each_page_of_the_operator_guide(admin_page, live_server, fleet):
    page, printer, layers, alert = admin_page, fleet["printer"], fleet["layers"], fleet["alert"]

    page.goto(f"{live_server.url}/")
    card = page.locator(f'[data-machine="{printer.slug}"]')
    assert "build-42" in card.inner_text() and card.locator("[data-testid=status]").inner_text() == "FAILING"
    screenshot_save(page, "fleet")

    page.goto(f"{live_server.url}/jobs/{layers[0].job_id}/")
    assert page.locator("circle.dot.bad").count() == len(DEFECT_LAYERS)
    screenshot_save(page, "job-timeline")

    page.goto(f"{live_server.url}/layers/{layers[DEFECT_LAYERS[1]].pk}/")
    page.keyboard.press("h")
    assert page.is_visible("#overlay")
    assert page.locator("[data-testid=score]").inner_text().startswith(("1.", "2."))
    screenshot_save(page, "layer")

    page.goto(f"{live_server.url}/label/?mode=score")
    page.wait_for_selector("#frame img.layer-img")
    assert int(page.get_attribute("#frame", "data-layer")) in {layers[i].pk for i in DEFECT_LAYERS}
    page.keyboard.press("h")
    page.wait_for_selector("#frame img.heat-img")
    screenshot_save(page, "label-queue")
    page.keyboard.press("?")
    assert page.is_visible("#help")
    screenshot_save(page, "label-queue-keys")
    page.keyboard.press("Escape")

    page.goto(f"{live_server.url}/alerts/")
    assert "build-42" in page.locator(f'[data-alert="{alert.pk}"]').inner_text()
    screenshot_save(page, "alerts")

    page.goto(f"{live_server.url}/machines/{printer.slug}/alerts/")
    assert page.is_visible(".rule-form") and "Shift lead" in page.inner_text("body")
    screenshot_save(page, "alert-rule")

    page.goto(f"{live_server.url}/machines/{printer.slug}/models/")
    body = page.inner_text("body")
    assert "ACTIVE" in body.upper() and "fpr_target" in body and "0.919" in body  # v2's F1
    screenshot_save(page, "models")
