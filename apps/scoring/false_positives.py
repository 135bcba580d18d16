"""What a machine's threshold promised against what it delivers on the layers it has judged since."""

from dataclasses import dataclass

from django.conf import settings
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
    judged = Layer.objects.filter(current_score__model_version=version)

    def rate(label: str) -> Rate:
        mine = judged.filter(label=label)
        return Rate(flagged=mine.filter(current_score__anomalous=True).count(), judged=mine.count())

    return FalsePositiveRates(promised=promised, labeled_good=rate(LabelValue.GOOD), unconfirmed=rate(""))
