from django.db.models import Count, Q, QuerySet

from apps.layers.models import Layer, PrintJob
from apps.machines.models import Machine

LAYER_RELATED = ("machine", "job", "current_score", "current_score__model_version")


def layer_list(*, machine: Machine | None = None) -> QuerySet[Layer]:
    layers = Layer.objects.select_related(*LAYER_RELATED)
    if machine is not None:
        layers = layers.filter(machine=machine)
    return layers


def layer_get(*, layer_id: int, machine: Machine | None = None) -> Layer | None:
    """A machine may only see its own layers; operators (machine=None) see all."""
    return layer_list(machine=machine).filter(pk=layer_id).first()


def job_list(*, machine: Machine | None = None) -> QuerySet[PrintJob]:
    jobs = PrintJob.objects.select_related("machine").annotate(
        layer_count=Count("layers"),
        anomalous_count=Count("layers", filter=Q(layers__current_score__anomalous=True)),
    )
    if machine is not None:
        jobs = jobs.filter(machine=machine)
    return jobs


def job_get(*, job_pk: int, machine: Machine | None = None) -> PrintJob | None:
    """A machine may only see its own jobs; operators (machine=None) see all."""
    return job_list(machine=machine).filter(pk=job_pk).first()
