from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from apps.layers.models import Layer, PrintJob


def labels_upload_path(parts: "LayerParts", filename: str) -> str:
    layer = parts.layer
    return f"parts/{layer.machine.slug}/{layer.job_id}/{filename}"


class LayerParts(models.Model):
    """A layer's parts: sent by the printer as a label image, or estimated from the photos."""

    layer = models.OneToOneField(Layer, on_delete=models.CASCADE, related_name="part_labels")
    estimated = models.BooleanField(default=False)
    # The label image as the printer sent it (a PNG at the photo's size); empty when estimated.
    labels = models.FileField(upload_to=labels_upload_path, max_length=300, blank=True)
    # The labels on the 256x256 model frame that heatmap regions are given in: zlib'd uint16.
    frame = models.BinaryField(editable=False)
    # {"k": {"bbox": [x0, y0, x1, y1], "area": n}} in image pixels (x1, y1 exclusive).
    extents = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "layer parts"

    def __str__(self) -> str:
        return f"parts of {self.layer}{' (estimated)' if self.estimated else ''}"


class PartTrack(models.Model):
    """A part estimated from a job's photos: where it was last seen, to recognise it next layer."""

    job = models.ForeignKey(PrintJob, on_delete=models.CASCADE, related_name="part_tracks")
    part_id = models.PositiveIntegerField()
    footprint = models.BinaryField(editable=False)  # zlib'd packed bool 256x256 mask
    layer_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["job_id", "part_id"]
        constraints = [models.UniqueConstraint(fields=["job", "part_id"], name="part_track_unique_per_job")]

    def __str__(self) -> str:
        return f"{self.job} estimated part {self.part_id}"


class PartVerdictRule(models.Model):
    """How a part's verdict is reached; the first rule is the one that applies."""

    fail_anomalous_layers = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1)], help_text="Fail a part with at least this many anomalous layers."
    )
    fail_region_px = models.PositiveIntegerField(
        default=2000, help_text="Fail a part with a region at least this large (image pixels)."
    )
    fail_kinds = models.JSONField(
        default=list, blank=True, help_text='Defect kinds that fail a part outright, e.g. ["short_feed"].'
    )
    review_anomalous_layers = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)], help_text="Send a part to review from this many anomalous layers."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return (
            f"fail at {self.fail_anomalous_layers} layers or {self.fail_region_px} px; "
            f"review at {self.review_anomalous_layers}"
        )

    def clean(self) -> None:
        if not isinstance(self.fail_kinds, list) or not all(isinstance(k, str) and k for k in self.fail_kinds):
            raise ValidationError({"fail_kinds": "A list of defect kinds, as text."})
        if self.review_anomalous_layers > self.fail_anomalous_layers:
            raise ValidationError("Review cannot need more anomalous layers than fail does.")
