from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.machines.models import Machine

# Room for a list of part ids or a hash of the slice; the layout is compared, never parsed.
LAYOUT_MAX_LENGTH = 200


class PrintJob(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        ABORTED = "aborted"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="jobs")
    job_id = models.CharField(max_length=200, help_text="The printer's own job id.")
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    expected_layers = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_layer_at = models.DateTimeField(null=True, blank=True)
    part_names = models.JSONField(
        default=dict,
        blank=True,
        help_text='The parts as the printer named them: {"<part id>": "<name>"}; part k is value k in part images.',
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["machine", "job_id"], name="job_id_unique_per_machine"),
        ]

    def __str__(self) -> str:
        return f"{self.machine.slug}/{self.job_id}"


class LabelValue(models.TextChoices):
    GOOD = "good"
    DEFECTIVE = "defective"
    UNSURE = "unsure"


class DefectKind(models.TextChoices):
    """What a defective layer shows; a scratch counts as a streak (both are drawn lines)."""

    STREAK = "streak", "streak"
    SPATTER = "spatter", "spatter"
    PIT = "pit", "pit"
    SHORT_FEED = "short_feed", "short feed"
    SUPER_ELEVATION = "super_elevation", "super-elevation"
    OTHER = "other", "other"


def layer_upload_path(layer: "Layer", filename: str) -> str:
    return f"layers/{layer.machine.slug}/{layer.job_id}/{filename}"


class Layer(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        SCORED = "scored"
        FAILED = "failed"
        # Stored but not scored, for a stated reason (no model yet); not an error.
        UNSCORED = "unscored"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="layers")
    job = models.ForeignKey(PrintJob, on_delete=models.CASCADE, related_name="layers")
    index = models.PositiveIntegerField()
    image = models.FileField(upload_to=layer_upload_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    captured_at = models.DateTimeField(null=True, blank=True)
    layout = models.CharField(
        max_length=LAYOUT_MAX_LENGTH,
        blank=True,
        help_text="The part layout the printer stated for the layer (the parts it exposes); empty where it did not.",
    )
    received_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True, help_text="Why the layer failed or is not scored.")
    current_score = models.ForeignKey(
        "scoring.LayerScore", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The latest label, kept here so that lists filter on it without a subquery.
    label = models.CharField(max_length=16, choices=LabelValue.choices, blank=True)

    class Meta:
        ordering = ["job_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="layer_index_unique_per_job"),
        ]
        indexes = [
            models.Index(fields=["machine", "status"]),
            models.Index(fields=["machine", "-received_at"]),
            models.Index(fields=["status", "enqueued_at"]),
            models.Index(fields=["label"], condition=~Q(label=""), name="layer_labeled"),
        ]

    def __str__(self) -> str:
        return f"{self.job} #{self.index}"


class Label(models.Model):
    """An operator's verdict. Append-only: the newest row for a layer is the one that counts."""

    class Source(models.TextChoices):
        OPERATOR = "operator"
        ADMIN_BULK = "admin_bulk"
        IMPORT = "import"
        ALERT_FEEDBACK = "alert_feedback"

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="labels")
    value = models.CharField(max_length=16, choices=LabelValue.choices)
    # The defect's kind, for a defective label; empty where the operator did not say.
    kind = models.CharField(max_length=16, choices=DefectKind.choices, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.OPERATOR)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.layer}: {self.value}"
