from rest_framework import serializers


class PartOutput(serializers.Serializer):
    """One part of a job (apps.parts.selectors.PartSummary)."""

    id = serializers.IntegerField(source="part_id", help_text="The part's number k in the label images.")
    name = serializers.CharField(help_text="From the job's part names, else a generated one.")
    estimated = serializers.BooleanField(help_text="Estimated from the photos: the printer sent no part labels.")
    layers = serializers.SerializerMethodField(help_text="First and last layer index the part spans; null if none.")
    anomalous_layers = serializers.ListField(child=serializers.IntegerField())
    anomalous_ranges = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()), help_text="[first, last] runs of them."
    )
    worst_score = serializers.FloatField(
        allow_null=True, help_text="The highest peak of a region on the part, in multiples of the threshold."
    )
    largest_region_px = serializers.IntegerField(help_text="Its largest region, in image pixels.")
    defect_kinds = serializers.ListField(child=serializers.CharField())
    alerts = serializers.ListField(source="alert_ids", child=serializers.IntegerField())
    verdict = serializers.ChoiceField(choices=["pass", "review", "fail"])
    bbox = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="x0, y0, x1, y1 in image pixels (x1, y1 exclusive), over all its layers.",
    )

    def get_layers(self, part) -> dict | None:
        return None if part.layers is None else {"first": part.layers[0], "last": part.layers[1]}
