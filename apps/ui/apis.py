"""JSON endpoints behind the labeling queue and the analyze page."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.layers.imaging import ImageRejected, ImageTooLarge
from apps.layers.models import LabelValue, Layer
from apps.layers.serializers import RegionOutput
from apps.machines.models import Machine
from apps.machines.permissions import IsOperator
from apps.scoring.selectors import model_version_active
from apps.ui.analysis import data_uri, images_analyze
from apps.ui.selectors import QUEUE_MODES, labeler_stats
from apps.ui.services import labels_submit_batch, queue_claim


class StatsOutput(serializers.Serializer):
    labels_last_hour = serializers.IntegerField()
    compared = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True)


MAX_EXCLUDE = 500


class QueueItemOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    machine = serializers.CharField(source="machine.name")
    job = serializers.CharField(source="job.job_id")
    layer = serializers.IntegerField(source="index")
    label = serializers.CharField()
    score = serializers.FloatField(source="current_score.score", default=None)
    threshold = serializers.FloatField(source="current_score.threshold", default=None)
    anomalous = serializers.BooleanField(source="current_score.anomalous", default=None)
    image_url = serializers.SerializerMethodField()
    heatmap_url = serializers.SerializerMethodField()
    detail_url = serializers.SerializerMethodField()

    def get_image_url(self, layer: Layer) -> str:
        return reverse("api:layer-image", args=[layer.pk])

    def get_heatmap_url(self, layer: Layer) -> str | None:
        return reverse("api:layer-heatmap", args=[layer.pk]) if layer.current_score_id else None

    def get_detail_url(self, layer: Layer) -> str:
        return reverse("ui:layer-detail", args=[layer.pk])


class QueueOutput(serializers.Serializer):
    items = QueueItemOutput(many=True)
    stats = StatsOutput()


class LabelQueueApi(APIView):
    """Claims the next layers to label for the caller (locked for 5 minutes) and returns them."""

    permission_classes = [IsOperator]

    @extend_schema(
        parameters=[
            OpenApiParameter("mode", enum=list(QUEUE_MODES), default="uncertainty"),
            OpenApiParameter("machine", str, description="A machine's slug."),
            OpenApiParameter("count", int, default=10),
            OpenApiParameter("exclude", str, description="Comma-separated layer ids the caller already has."),
        ],
        responses=QueueOutput,
    )
    def get(self, request):
        mode = request.query_params.get("mode", "uncertainty")
        if mode not in QUEUE_MODES:
            raise ValidationError({"mode": f"Use one of {', '.join(QUEUE_MODES)}."})
        slug = request.query_params.get("machine")
        if slug and "\x00" in slug:  # PostgreSQL refuses NUL in a query: a 400, not a server error
            raise ValidationError({"machine": "Null characters are not allowed."})
        machine = get_object_or_404(Machine, slug=slug) if slug else None
        try:
            count = max(1, min(50, int(request.query_params.get("count", 10))))
        except ValueError as error:
            raise ValidationError({"count": "An integer."}) from error
        try:
            exclude = [int(pk) for pk in request.query_params.get("exclude", "").split(",") if pk]
        except ValueError as error:
            raise ValidationError({"exclude": "Comma-separated layer ids."}) from error
        items = queue_claim(user=request.user, mode=mode, machine=machine, count=count, exclude=exclude[-MAX_EXCLUDE:])
        body = {"items": items, "stats": labeler_stats(user=request.user)}
        return Response(QueueOutput(body).data)


class LabelBatchItem(serializers.Serializer):
    layer = serializers.IntegerField()
    label = serializers.ChoiceField(choices=LabelValue.choices)


class LabelBatchInput(serializers.Serializer):
    labels = LabelBatchItem(many=True, allow_empty=False, max_length=500)


class LabelBatchOutput(serializers.Serializer):
    saved = serializers.IntegerField()
    stats = StatsOutput()


class LabelBatchApi(APIView):
    """Labels several layers at once, in order (a layer named twice keeps its last label)."""

    permission_classes = [IsOperator]

    @extend_schema(request=LabelBatchInput, responses={201: LabelBatchOutput})
    def post(self, request):
        form = LabelBatchInput(data=request.data)
        form.is_valid(raise_exception=True)
        items = [(item["layer"], item["label"]) for item in form.validated_data["labels"]]
        saved = labels_submit_batch(user=request.user, items=items)
        body = {"saved": saved, "stats": labeler_stats(user=request.user)}
        return Response(LabelBatchOutput(body).data, status=status.HTTP_201_CREATED)


class AnalyzeInput(serializers.Serializer):
    image = serializers.FileField()
    machine = serializers.CharField(required=False, help_text="A machine's slug; else the first watched.")


class AnalyzeOutput(serializers.Serializer):
    machine = serializers.CharField()
    model_version = serializers.IntegerField()
    scorer = serializers.CharField()
    score = serializers.FloatField()
    threshold = serializers.FloatField()
    anomalous = serializers.BooleanField()
    heatmap = serializers.CharField(help_text="data:image/png;base64,…; 0..2 × threshold, mid-scale at it")
    regions = RegionOutput(many=True, help_text="Heatmap regions at or above threshold, highest peak first.")
    reconstruction = serializers.CharField(help_text="data:image/png;base64,…")
    feature_maps = serializers.ListField(child=serializers.CharField(), help_text="16 PNG data URIs")


def analysis_version(slug: str | None):
    """The active model version of the named machine, or of the first machine that has one."""
    from apps.scoring.models import ModelVersion

    if slug:
        machine = get_object_or_404(Machine, slug=slug)
        return model_version_active(machine=machine)
    return (
        ModelVersion.objects.select_related("machine")
        .filter(status=ModelVersion.Status.ACTIVE)
        .order_by("machine__name")
        .first()
    )


class AnalyzeApi(APIView):
    """Scores one image with a machine's active model. Nothing is stored."""

    permission_classes = [IsOperator]
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": AnalyzeInput}, responses=AnalyzeOutput)
    def post(self, request):
        form = AnalyzeInput(data=request.data)
        form.is_valid(raise_exception=True)
        version = analysis_version(form.validated_data.get("machine"))
        if version is None or not version.artifact:  # an active row without its trained file cannot score
            raise ValidationError({"machine": "No active model to analyze with."})
        upload = form.validated_data["image"]
        try:
            (result,) = images_analyze(version=version, files=[(upload.name, upload.read())])
        except (ImageRejected, ImageTooLarge) as error:
            return Response({"image": [str(error)]}, status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        body = {
            "machine": version.machine.slug,
            "model_version": version.version,
            "scorer": version.scorer,
            "score": result.score,
            "threshold": result.threshold,
            "anomalous": result.anomalous,
            "heatmap": data_uri(result.heatmap),
            "regions": result.regions,
            "reconstruction": data_uri(result.reconstruction),
            "feature_maps": [data_uri(png) for png in result.features],
        }
        return Response(AnalyzeOutput(body).data)
