"""What people read: an alert's email (HTML and text, heatmap inline) and its chat message."""

import io
from dataclasses import dataclass
from email.mime.image import MIMEImage

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from PIL import Image

from apps.layers.models import Layer

THUMBNAIL_SIZE = (320, 320)
HEATMAP_CID = "heatmap"

_HEADLINES = {
    "opened": "opened",
    "escalated": "escalated to critical",
    "resolved": "resolved",
    "test": "test",
}


@dataclass(frozen=True)
class AlertMessage:
    subject: str
    text: str
    html: str
    markdown: str
    thumbnail: bytes | None


def heatmap_thumbnail(*, layer_id: int | None) -> bytes | None:
    """A PNG of the layer's current heatmap, at most 320 px a side; None when there is none."""
    if layer_id is None:
        return None
    layer = Layer.objects.select_related("current_score").filter(pk=layer_id).first()
    score = layer.current_score if layer else None
    if score is None or not score.heatmap:
        return None
    try:
        with score.heatmap.open("rb") as handle, Image.open(handle) as image:
            image.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            image.save(out, format="PNG")
    except (OSError, ValueError):  # a missing or unreadable file: the message goes without it
        return None
    return out.getvalue()


def alert_message(*, payload: dict) -> AlertMessage:
    alert = payload["alert"]
    layer = payload.get("layer")
    thumbnail = heatmap_thumbnail(layer_id=layer["id"] if layer else None)
    context = {
        "payload": payload,
        "alert": alert,
        "layer": layer,
        "event": payload["event"],
        "headline": _HEADLINES.get(payload["event"], payload["event"]),
        "system": payload.get("category") == "system",
        "layer_indexes": ", ".join(str(i) for i in alert.get("layers") or []),
        "kind_label": alert.get("kind", "defect").replace("_", " "),
        "thumbnail_cid": HEATMAP_CID if thumbnail else None,
    }
    return AlertMessage(
        subject=" ".join(render_to_string("alerts/email/subject.txt", context).split()),
        text=render_to_string("alerts/email/alert.txt", context),
        html=render_to_string("alerts/email/alert.html", context),
        markdown=render_to_string("alerts/chat.md", context),
        thumbnail=thumbnail,
    )


def alert_email(*, message: AlertMessage, sender: str, recipients: list[str], headers: dict) -> EmailMultiAlternatives:
    """Text and HTML alternatives; the heatmap rides along as an inline image the HTML shows by cid."""
    email = EmailMultiAlternatives(message.subject, message.text, sender, recipients, headers=headers)
    email.attach_alternative(message.html, "text/html")
    if message.thumbnail:
        email.mixed_subtype = "related"
        image = MIMEImage(message.thumbnail, "png")
        image.add_header("Content-ID", f"<{HEATMAP_CID}>")
        image.add_header("Content-Disposition", "inline", filename="heatmap.png")
        email.attach(image)
    return email
