"""What a job's build record holds, read once and handed to the HTML, PDF and evidence zip."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from apps.alerts.models import Alert
from apps.layers.models import Label, Layer, PrintJob
from apps.records.models import RegionKind
from apps.records.services import score_regions_describe_or_none
from apps.scoring.models import ModelVersion
from apps.ui.selectors import job_timeline

PARTS_UNAVAILABLE = "Part-level data unavailable: this installation has no part-level quality (apps.parts)."


@dataclass(frozen=True)
class PartsSection:
    available: bool
    rows: list = field(default_factory=list)  # apps.parts.selectors.PartSummary
    note: str = ""


@dataclass(frozen=True)
class RecordRegion:
    number: int  # 1-based, highest peak first, as on the layer page
    region: dict  # ml.regions.Region
    kind: RegionKind | None

    @property
    def likely(self) -> str:
        return self.kind.likely if self.kind else ""


@dataclass(frozen=True)
class RecordLayer:
    layer: Layer
    regions: list[RecordRegion]
    labels: list[Label]


@dataclass(frozen=True)
class JobRecord:
    job: PrintJob
    generated_at: datetime
    layer_count: int
    scored_count: int
    versions: list[ModelVersion]
    parts: PartsSection
    timeline: list[dict]
    anomalous: list[RecordLayer]
    alerts: list[Alert]
    labels: list[Label]

    @property
    def machine(self):
        return self.job.machine


def job_parts(*, job: PrintJob) -> PartsSection:
    """The job's part summaries from apps.parts, or a note saying why there are none."""
    try:
        from apps.parts.selectors import job_part_summaries
    except ImportError:
        return PartsSection(available=False, note=PARTS_UNAVAILABLE)
    return PartsSection(available=True, rows=list(job_part_summaries(job=job)))


def _versions(job: PrintJob) -> list[ModelVersion]:
    """The model versions whose scores the job's layers carry, each with `layers_scored`."""
    counts = dict(
        Layer.objects.filter(job=job, current_score__isnull=False)
        .values_list("current_score__model_version")
        .annotate(n=Count("id"))
        .values_list("current_score__model_version", "n")
    )
    versions = list(ModelVersion.objects.filter(pk__in=counts).order_by("version"))
    for version in versions:
        version.layers_scored = counts[version.pk]
    return versions


def record_build(*, job: PrintJob, parts_selector: Callable[..., PartsSection] = job_parts) -> JobRecord:
    """Everything the record shows. Regions of anomalous layers get their likely kinds first."""
    layers = Layer.objects.filter(job=job)
    anomalous = list(
        layers.filter(current_score__anomalous=True)
        .select_related("current_score", "current_score__model_version", "machine")
        .order_by("index")
    )
    described = {layer.pk: score_regions_describe_or_none(score=layer.current_score) for layer in anomalous}
    labels = list(
        Label.objects.filter(layer__job=job).select_related("user", "layer").order_by("layer__index", "created_at")
    )
    labels_of: dict[int, list[Label]] = {}
    for label in labels:
        labels_of.setdefault(label.layer_id, []).append(label)
    record_layers = []
    for layer in anomalous:
        kinds = {row.region: row for row in described.get(layer.pk, [])}
        regions = [RecordRegion(i + 1, r, kinds.get(i)) for i, r in enumerate(layer.current_score.regions)]
        record_layers.append(RecordLayer(layer, regions, labels_of.get(layer.pk, [])))
    alerts = list(
        Alert.objects.filter(job=job)
        .select_related("acknowledged_by", "resolved_by")
        .prefetch_related("layers", "deliveries")
        .order_by("opened_at")
    )
    counts = layers.aggregate(n=Count("id"), scored=Count("id", filter=Q(current_score__isnull=False)))
    return JobRecord(
        job=job,
        generated_at=timezone.now(),
        layer_count=counts["n"],
        scored_count=counts["scored"],
        versions=_versions(job),
        parts=parts_selector(job=job),
        timeline=job_timeline(job=job),
        anomalous=record_layers,
        alerts=alerts,
        labels=labels,
    )
