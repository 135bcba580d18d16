from django.db.models import QuerySet

from apps.layers.models import LabelValue, Layer
from apps.machines.models import Machine
from apps.scoring.models import ModelVersion


def model_version_active(*, machine: Machine) -> ModelVersion | None:
    return ModelVersion.objects.filter(machine=machine, status=ModelVersion.Status.ACTIVE).first()


def model_versions_for(*, machine: Machine) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(machine=machine).order_by("-version")


def training_layers(*, machine: Machine) -> tuple[QuerySet[Layer], str]:
    """Layers labeled good; or, if nothing is labeled good, every layer not labeled otherwise."""
    good = Layer.objects.filter(machine=machine, label=LabelValue.GOOD)
    if good.exists():
        return good.order_by("pk"), "labeled_good"
    # Retention may have removed an unlabeled layer's image (labeled ones it keeps).
    unlabeled = Layer.objects.filter(machine=machine, label="", files_removed_at__isnull=True)
    return unlabeled.order_by("pk"), "all_unlabeled"


def defective_layers(*, machine: Machine) -> QuerySet[Layer]:
    return Layer.objects.filter(machine=machine, label=LabelValue.DEFECTIVE).order_by("pk")
