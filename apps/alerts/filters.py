import django_filters

from apps.alerts.models import Alert, Severity


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Alert.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    machine = django_filters.CharFilter(field_name="machine__slug")
    job = django_filters.CharFilter(field_name="job__job_id", help_text="The printer's job id.")

    class Meta:
        model = Alert
        fields = ["status", "severity", "machine", "job"]
