from django.urls import reverse
from rest_framework import serializers

from apps.layers.models import LAYOUT_MAX_LENGTH, DefectKind, LabelValue, Layer


def job_id_field(**kwargs) -> serializers.RegexField:
    """The printer's own job id, the same in layer uploads and the job lifecycle."""
    return serializers.RegexField(
        r"^[\w.\-:]+$",
        max_length=200,
        error_messages={"invalid": "Use letters, digits and . _ - : only."},
        **kwargs,
    )


class LayerUploadInput(serializers.Serializer):
    # A FileField, not an ImageField: "not an image" must answer 415, not 400.
    image = serializers.FileField()
    job = job_id_field()
    layer = serializers.IntegerField(min_value=0, max_value=10_000_000)
    captured_at = serializers.DateTimeField(required=False)
    layout = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=LAYOUT_MAX_LENGTH,
        help_text="Optional: the layer's part layout, as the printer knows it from the build (for example the ids "
        "of the parts it exposes on this layer). Layers of a job with the same layout are compared with each "
        "other; a new value starts the comparison over. Without it layerwatch tells layouts apart from the "
        "images, and a defect that changes the whole bed's look can pass for new parts.",
    )
    parts = serializers.FileField(
        required=False,
        help_text="Optional: the layer's part-label image, a PNG of the photo's size holding 0 for powder and k for "
        "part k (8- or 16-bit, one channel). Heatmap regions are then attributed to the parts they touch. A bad "
        "one is answered 400 and nothing of the layer is stored.",
    )


def _absolute(request, name: str, layer_id: int) -> str:
    return request.build_absolute_uri(reverse(name, args=[layer_id]))


class LayerAcceptedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    machine = serializers.CharField(source="machine.slug")
    job = serializers.CharField(source="job.job_id")
    layer = serializers.IntegerField(source="index")
    status = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, layer: Layer) -> str:
        return _absolute(self.context["request"], "api:layer-detail", layer.pk)


class BoxOutput(serializers.Serializer):
    x = serializers.FloatField(help_text="Left edge.")
    y = serializers.FloatField(help_text="Top edge.")
    width = serializers.FloatField()
    height = serializers.FloatField()


class RegionOutput(serializers.Serializer):
    """A connected part of the heatmap at or above the layer's threshold (ml.regions)."""

    box = BoxOutput(
        help_text="Bounding box in pixels of the heatmap's frame: 256x256, or the camera's resolution where the "
        "machine's model scores at full resolution."
    )
    box_image = BoxOutput(required=False, help_text="The same box in pixels of the uploaded image.")
    box_fraction = BoxOutput(help_text="The same box as fractions (0..1) of the image's width and height.")
    area = serializers.IntegerField(help_text="Pixels of the heatmap's frame at or above threshold.")
    area_fraction = serializers.FloatField(help_text="Share of the image.")
    peak = serializers.FloatField(help_text="Highest heatmap value, in multiples of the threshold.")


class LayerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    machine = serializers.CharField(source="machine.slug")
    job = serializers.CharField(source="job.job_id")
    layer = serializers.IntegerField(source="index")
    status = serializers.CharField()
    score = serializers.FloatField(source="current_score.score", allow_null=True, default=None)
    threshold = serializers.FloatField(source="current_score.threshold", allow_null=True, default=None)
    anomalous = serializers.BooleanField(source="current_score.anomalous", allow_null=True, default=None)
    alert_score = serializers.FloatField(
        source="current_score.alert_score",
        allow_null=True,
        default=None,
        help_text="What the alert rules judge against the threshold: the highest of the score less what the job's "
        "previous layers of the same part layout showed (layout memory), what changed since the layout's "
        "previous layers (change) and the powder lost since the previous layer, each rescaled from its own "
        "threshold to this one. Null where no channel but the score applies; the rules then use the score.",
    )
    alert_channel = serializers.CharField(
        source="current_score.alert_channel",
        allow_null=True,
        default=None,
        help_text='The channel that gave the alert score: "score", "layout memory", "change" or "powder lost"; '
        "empty for layers scored before channels were recorded.",
    )
    powder_lost = serializers.FloatField(
        source="current_score.powder_lost",
        allow_null=True,
        default=None,
        help_text="The share of the bed (0 to 1) darker than any powder near it was on the job's previous layer: "
        "powder that no longer covers it, as after a short feed. 0.01 counts as the threshold. Null where the "
        "change channel is off or the previous layer was not scored first.",
    )
    change_score = serializers.FloatField(
        source="current_score.change_score",
        allow_null=True,
        default=None,
        help_text="The change channel's own score: the change since the layout's previous layers, in standard "
        "deviations of what they varied by. Null until the layout has enough previous layers.",
    )
    model_version = serializers.IntegerField(
        source="current_score.model_version.version", allow_null=True, default=None
    )
    scorer = serializers.CharField(source="current_score.scorer", allow_null=True, default=None)
    layer_group = serializers.IntegerField(
        source="current_score.layer_group",
        allow_null=True,
        default=None,
        help_text="Index of the layer group (of the scoring model version) whose threshold applied.",
    )
    regions = RegionOutput(
        source="current_score.regions",
        many=True,
        default=list,
        help_text="Up to 5 heatmap regions at or above threshold, highest peak first; empty where none is.",
    )
    label = serializers.CharField(allow_blank=True)
    image_url = serializers.SerializerMethodField()
    heatmap_url = serializers.SerializerMethodField()
    reconstruction_url = serializers.SerializerMethodField()
    captured_at = serializers.DateTimeField(allow_null=True)
    layout = serializers.CharField(allow_blank=True, help_text="The part layout the printer stated; empty if none.")
    received_at = serializers.DateTimeField()
    scored_at = serializers.DateTimeField(source="current_score.scored_at", allow_null=True, default=None)
    error = serializers.CharField(allow_blank=True)

    def get_image_url(self, layer: Layer) -> str:
        return _absolute(self.context["request"], "api:layer-image", layer.pk)

    def get_heatmap_url(self, layer: Layer) -> str | None:
        if layer.current_score_id is None:
            return None
        return _absolute(self.context["request"], "api:layer-heatmap", layer.pk)

    def get_reconstruction_url(self, layer: Layer) -> str | None:
        if layer.current_score_id is None:
            return None
        return _absolute(self.context["request"], "api:layer-reconstruction", layer.pk)


class RegionDetailOutput(RegionOutput):
    """A region of one layer, with the parts it counts against and its likely defect kind."""

    part_id = serializers.IntegerField(help_text="The part it counts against most; 0 for the powder.")
    part_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Every part it counts against, the most covered first."
    )
    part_damage = serializers.BooleanField(help_text="On the powder, but near enough to part_id to count against it.")
    likely_kind = serializers.CharField(
        allow_null=True,
        help_text="The likeliest defect kind (streak, spatter, pit, short_feed, super_elevation), from the regions "
        "this machine's operators labeled with a kind; null where it has too few of them.",
    )
    likely_kind_probability = serializers.FloatField(allow_null=True, help_text="Its probability, 0 to 1.")


class LayerDetailOutput(LayerOutput):
    regions = RegionDetailOutput(
        source="described_regions",
        many=True,
        help_text="Up to 5 heatmap regions at or above threshold, highest peak first, each with its parts and likely "
        "kind; empty where none is.",
    )


class LabelInput(serializers.Serializer):
    label = serializers.ChoiceField(choices=LabelValue.choices)
    kind = serializers.ChoiceField(
        choices=DefectKind.choices,
        required=False,
        allow_blank=True,
        help_text="Optional, with a defective label: what the defect is (a scratch counts as a streak).",
    )

    def validate(self, data):
        if data.get("kind") and data["label"] != LabelValue.DEFECTIVE:
            raise serializers.ValidationError({"kind": "Only a defective label takes a defect kind."})
        return data


class LabelOutput(serializers.Serializer):
    id = serializers.IntegerField()
    layer = serializers.IntegerField(source="layer_id")
    label = serializers.CharField(source="value")
    kind = serializers.CharField(allow_blank=True)
    source = serializers.CharField()
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
