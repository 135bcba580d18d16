"""What a machine's threshold promised against what it delivers on the layers it has judged since."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q
from scipy.stats import binom

from apps.layers.models import LabelValue, Layer
from apps.scoring.models import ModelVersion

# Below this chance of seeing so many flags if the promise held, the page says they disagree.
_DISAGREE_P = 0.01


@dataclass(frozen=True)
class Rate:
    flagged: int
    judged: int

    @property
    def value(self) -> float | None:
        return self.flagged / self.judged if self.judged else None


@dataclass(frozen=True)
class FalsePositiveRates:
    promised: float
    labeled_good: Rate  # layers operators labeled good: their flags are false positives
    unconfirmed: Rate  # layers nobody labeled: an upper bound, as some flags may be real defects

    def breaks_promise(self, rate: Rate) -> bool:
        """More flags than the promised rate makes believable (binomial tail below 1%)."""
        return rate.judged > 0 and float(binom.sf(rate.flagged - 1, rate.judged, self.promised)) < _DISAGREE_P

    @property
    def disagrees(self) -> bool:
        return self.breaks_promise(self.labeled_good) or self.breaks_promise(self.unconfirmed)


def false_positive_rates(*, version: ModelVersion) -> FalsePositiveRates:
    """Promised and realised false-positive rates of a version on the layers it is the verdict of."""
    calibration = (version.metrics or {}).get("calibration", {})
    promised = float(calibration.get("target_fpr") or settings.LAYERWATCH_TARGET_FPR)
    flagged = Q(current_score__anomalous=True)
    counts = Layer.objects.filter(current_score__model_version=version).aggregate(
        good=Count("pk", filter=Q(label=LabelValue.GOOD)),
        good_flagged=Count("pk", filter=Q(label=LabelValue.GOOD) & flagged),
        unlabeled=Count("pk", filter=Q(label="")),
        unlabeled_flagged=Count("pk", filter=Q(label="") & flagged),
    )
    return FalsePositiveRates(
        promised=promised,
        labeled_good=Rate(flagged=counts["good_flagged"], judged=counts["good"]),
        unconfirmed=Rate(flagged=counts["unlabeled_flagged"], judged=counts["unlabeled"]),
    )
