from django.db import models

from apps.machines.models import Machine
from apps.scoring.models import LayerScore


class KindModel(models.Model):
    """A machine's defect-kind classifier (ml.kinds.KindClassifier), fitted on its labeled regions."""

    machine = models.OneToOneField(Machine, on_delete=models.CASCADE, related_name="kind_model")
    classifier = models.JSONField(help_text="KindClassifier.to_dict()")
    counts = models.JSONField(default=dict, help_text="Labeled regions it was fitted on, per kind.")
    # What the fit saw ("<labels>:<newest label id>"): a new label makes it stale.
    labels_key = models.CharField(max_length=64)
    fitted_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"kind classifier of {self.machine.slug} ({', '.join(self.counts)})"


class RegionKind(models.Model):
    """One heatmap region of a score (its index in LayerScore.regions): shape features and likely kind."""

    score = models.ForeignKey(LayerScore, on_delete=models.CASCADE, related_name="region_kinds")
    region = models.PositiveSmallIntegerField()
    features = models.JSONField(help_text="ml.kinds.region_features, in FEATURE_NAMES order.")
    kind = models.CharField(max_length=16, blank=True, help_text="Likeliest kind; empty without a classifier.")
    probability = models.FloatField(null=True, blank=True)
    # The classifier fit that named the kind, so a newer fit names it again.
    fitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["score_id", "region"]
        constraints = [models.UniqueConstraint(fields=["score", "region"], name="one_kind_per_region")]

    def __str__(self) -> str:
        return f"{self.score} region {self.region}: {self.kind or '?'}"

    @property
    def likely(self) -> str:
        """'likely streak, 0.83', or '' where no kind was named."""
        return likely_text(self.kind, self.probability)


def likely_text(kind: str | None, probability: float | None) -> str:
    """'likely streak, 0.83' for a named kind, '' for none."""
    return f"likely {kind.replace('_', ' ')}, {probability:.2f}" if kind else ""
