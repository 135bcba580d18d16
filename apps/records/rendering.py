"""The build record as HTML (for the browser or the evidence zip) and as PDF (WeasyPrint)."""

import base64
import io
import logging
from collections.abc import Callable

import numpy as np
from django.template.loader import render_to_string
from django.urls import reverse
from PIL import Image

from apps.layers.imaging import read_image_array
from apps.layers.models import Layer
from apps.records.charts import record_timeline_svg
from apps.records.selectors import JobRecord
from ml.preprocess import to_grayscale

logger = logging.getLogger(__name__)

# Pixels of the longer side of an image in the PDF: the frames are drawn 170 px wide.
PDF_IMAGE_PX = 192

Assets = Callable[[Layer, str], str]  # (layer, "image" | "heatmap") -> where the record finds it


def web_assets(layer: Layer, what: str) -> str:
    return reverse(f"api:layer-{what}", args=[layer.pk])


def record_html(record: JobRecord, *, assets: Assets = web_assets, mode: str = "web") -> str:
    """mode "web" adds links to the app; "file" and "pdf" stand alone."""
    context = {
        "record": record,
        "job": record.job,
        "mode": mode,
        "timeline": record_timeline_svg(record.timeline),
        "entries": [
            {"record": rl, "image": assets(rl.layer, "image"), "heatmap": assets(rl.layer, "heatmap")}
            for rl in record.anomalous
        ],
    }
    return render_to_string("records/report.html", context)


def _thumbnail_uri(field, *, colour: bool) -> str:
    """Photos as JPEG (the PDF embeds those as they are), heatmaps as PNG (their colours stay exact)."""
    if colour:
        with field.open("rb") as handle:
            image = Image.open(io.BytesIO(handle.read())).convert("RGB")
    else:
        image = Image.fromarray((to_grayscale(read_image_array(field)) * 255).round().astype(np.uint8))
    image.thumbnail((PDF_IMAGE_PX, PDF_IMAGE_PX), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG" if colour else "JPEG", quality=88)
    kind = "png" if colour else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def pdf_assets(layer: Layer, what: str) -> str:
    """Downscaled copies inline: the PDF stays small and needs no server to fetch them. A file
    that cannot be read leaves its frame empty rather than losing the whole record."""
    try:
        if what == "heatmap":
            return _thumbnail_uri(layer.current_score.heatmap, colour=True)
        return _thumbnail_uri(layer.image, colour=False)
    except (OSError, ValueError):
        logger.exception("The %s of layer %s could not be read for the record", what, layer.pk)
        return ""


def record_pdf(record: JobRecord) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only the PDF needs

    return HTML(string=record_html(record, assets=pdf_assets, mode="pdf")).write_pdf()
