from django.db import models
from django.db.models import Q

from apps.layers.models import Layer
from apps.machines.models import Machine


def artifact_path(version: "ModelVersion", filename: str) -> str:
    return f"models/{version.machine.slug}/v{version.version}-{version.scorer}.keras"


def heatmap_path(score: "LayerScore", filename: str) -> str:
    return f"heatmaps/{score.layer.machine.slug}/{score.layer_id}-mv{score.model_version_id}-{filename}"


class ModelVersion(models.Model):
    """A trained scorer for one machine, with its calibrated threshold."""

    class Status(models.TextChoices):
        TRAINING = "training"
        READY = "ready"
        ACTIVE = "active"
        RETIRED = "retired"
        FAILED = "failed"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="model_versions")
    version = models.PositiveIntegerField()
    scorer = models.CharField(max_length=50)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
    artifact = models.FileField(upload_to=artifact_path, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    config = models.JSONField(default=dict, blank=True)
    training_set = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    calibration_method = models.CharField(max_length=32, blank=True)
    # ml.supervised.LabelHead.to_dict() when labeled defects trained a head on the scorer's
    # outputs; then scores are its P(defective) and `threshold` is on that probability.
    head = models.JSONField(null=True, blank=True)
    # The alert rules' change channel's calibration (ml.change.calibration.change_calibrate), fitted on the
    # good jobs scored in order: its threshold, and the baseline good layers sit at. None where
    # there were too few: the channel is then off.
    change_threshold = models.FloatField(null=True, blank=True)
    change_baseline = models.FloatField(null=True, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["machine_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["machine", "version"], name="model_version_unique"),
            models.UniqueConstraint(
                fields=["machine"], condition=Q(status="active"), name="one_active_model_per_machine"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.machine.slug} v{self.version} ({self.scorer})"


class LayerGroup(models.Model):
    """Layers of one model version's training set that look alike, with their own threshold.

    `threshold_source` is "group" when the threshold was calibrated on this group's held-out
    layers, or "global" when the group had too few of them and uses the version's threshold.
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="layer_groups")
    index = models.PositiveSmallIntegerField()
    centroid = models.JSONField()  # the group's mean embedding (ml.groups.embed_layers)
    threshold = models.FloatField()
    threshold_source = models.CharField(max_length=16)
    calibration_method = models.CharField(max_length=32, blank=True)
    n_train = models.PositiveIntegerField(default=0)
    n_holdout = models.PositiveIntegerField(default=0)
    calibration = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["model_version_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["model_version", "index"], name="layer_group_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.model_version} group {self.index}"


class LayerScore(models.Model):
    """A layer scored by one model version. Scoring the same pair again reuses this row."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="scores")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="scores")
    scorer = models.CharField(max_length=50)
    score = models.FloatField()
    # What the layer was judged against: the trained threshold, followed to where the machine's
    # recent layers lie (ml.drift). `anomalous` is the alert score (or score) above it.
    threshold = models.FloatField()
    trained_threshold = models.FloatField(null=True, blank=True)
    anomalous = models.BooleanField()
    # Index of the model version's LayerGroup the layer was scored in; None for versions without groups.
    layer_group = models.PositiveSmallIntegerField(null=True, blank=True)
    heatmap = models.FileField(upload_to=heatmap_path, max_length=300)
    reconstruction = models.FileField(upload_to=heatmap_path, max_length=300, blank=True)
    # The heatmap's strongest regions at or above threshold (ml.regions.top_regions), highest peak first.
    regions = models.JSONField(default=list, blank=True)
    # The score the alert rules judge (apps.scoring.alert_channels, ml.alert_score): the highest of
    # `score` less what the job's previous layers of the same part layout showed (layout memory),
    # what changed since the layout's previous layers (change) and the powder lost since the
    # previous layer, each rescaled from its own threshold to this one. None where no channel beyond
    # the score itself applies; the rules then use `score`.
    alert_score = models.FloatField(null=True, blank=True)
    alert_channel = models.CharField(max_length=16, blank=True)  # the channel that gave alert_score
    # The change channel's own score (ml.change), in standard deviations; None until the layout has
    # enough previous layers.
    change_score = models.FloatField(null=True, blank=True)
    # The share of the bed that lost powder since the job's previous layer (ml.change.keys.powder_lost_share):
    # a short feed's first layer. None where the change channel is off or the previous layer unscored.
    powder_lost = models.FloatField(null=True, blank=True)
    # What the next layers of the job compare with; cleared once they no longer need it.
    layout_embedding = models.BinaryField(null=True, editable=False)
    layout_trace = models.BinaryField(null=True, editable=False)
    change_frame = models.BinaryField(null=True, editable=False)
    layout_key = models.BinaryField(null=True, editable=False)
    scored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scored_at"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "model_version"], name="one_score_per_model"),
        ]
        indexes = [models.Index(fields=["model_version", "anomalous"])]

    def __str__(self) -> str:
        return f"{self.layer}: {self.score:.4g} ({self.scorer})"
