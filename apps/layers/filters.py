import django_filters

from apps.api.time_filters import after, before
from apps.layers.models import LabelValue, Layer, PrintJob


class LayerFilter(django_filters.FilterSet):
    machine = django_filters.CharFilter(field_name="machine__slug")
    job = django_filters.CharFilter(field_name="job__job_id", help_text="The printer's job id.")
    status = django_filters.ChoiceFilter(choices=Layer.Status.choices)
    anomalous = django_filters.BooleanFilter(field_name="current_score__anomalous")
    label = django_filters.ChoiceFilter(choices=[*LabelValue.choices, ("none", "Not labeled")], method="filter_label")
    received_after = after("received_at", "received")
    received_before = before("received_at", "received")

    class Meta:
        model = Layer
        fields = ["machine", "job", "status", "anomalous", "label", "received_after", "received_before"]

    def filter_label(self, queryset, name, value):
        return queryset.filter(label="" if value == "none" else value)


class JobFilter(django_filters.FilterSet):
    machine = django_filters.CharFilter(field_name="machine__slug")
    status = django_filters.ChoiceFilter(choices=PrintJob.Status.choices)

    class Meta:
        model = PrintJob
        fields = ["machine", "status"]
