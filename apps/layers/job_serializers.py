from collections import Counter

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.layers.models import PrintJob
from apps.layers.serializers import job_id_field

# A part-label image is at most 16-bit, so part k is a pixel value of 1 to 65535.
MAX_PART_ID = 65535
MAX_JOB_PARTS = 2000
PART_NAME_MAX_LENGTH = 200


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: "3", 3.0 and true are refused rather than read as 3 or 1."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string: a number is refused rather than turned into one."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _NoUnknownFields:
    """A misspelt field answers 400 instead of being dropped without a word."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                message = f"Unknown field; use {', '.join(self.fields)}."
                raise serializers.ValidationError({name: [message] for name in unknown})
        return super().to_internal_value(data)


class JobPartInput(_NoUnknownFields, serializers.Serializer):
    id = StrictIntegerField(min_value=1, max_value=MAX_PART_ID, help_text="Part k is pixel value k in part images.")
    name = StrictCharField(max_length=PART_NAME_MAX_LENGTH)


class JobUpsertInput(_NoUnknownFields, serializers.Serializer):
    job = job_id_field(help_text="The printer's own job id, as in layer uploads.")
    name = StrictCharField(required=False, allow_blank=True, max_length=200)
    expected_layers = StrictIntegerField(required=False, min_value=1, max_value=10_000_000)
    parts = JobPartInput(
        many=True,
        required=False,
        max_length=MAX_JOB_PARTS,
        help_text="The build's whole part list; replaces the one stored.",
    )

    def validate_parts(self, parts: list[dict]) -> list[dict]:
        counts = Counter(part["id"] for part in parts)
        repeated = sorted(part_id for part_id, count in counts.items() if count > 1)
        if repeated:
            raise serializers.ValidationError(f"Part ids must be unique; repeated: {', '.join(map(str, repeated))}.")
        return parts


class JobPartOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class JobOutput(serializers.ModelSerializer):
    machine = serializers.CharField(source="machine.slug")
    layer_count = serializers.IntegerField(read_only=True)
    anomalous_count = serializers.IntegerField(read_only=True)
    parts = serializers.SerializerMethodField()

    class Meta:
        model = PrintJob
        fields = [
            "id", "machine", "job_id", "name", "status", "expected_layers", "started_at",
            "finished_at", "last_layer_at", "layer_count", "anomalous_count", "parts",
        ]

    @extend_schema_field(JobPartOutput(many=True))
    def get_parts(self, job: PrintJob) -> list[dict]:
        rows = sorted(job.part_names.items(), key=lambda item: int(item[0]))
        return JobPartOutput([{"id": int(key), "name": name} for key, name in rows], many=True).data
