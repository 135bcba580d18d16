import django_filters

from apps.alerts.models import Alert, Severity
from apps.api.time_filters import after, before


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Alert.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    machine = django_filters.CharFilter(field_name="machine__slug")
    job = django_filters.CharFilter(field_name="job__job_id", help_text="The printer's job id.")
    created_after = after("opened_at", "opened")
    created_before = before("opened_at", "opened")
    updated_after = after("updated_at", "last changed")
    updated_before = before("updated_at", "last changed")

    class Meta:
        model = Alert
        fields = ["status", "severity", "machine", "job", "created_after", "created_before", "updated_after",
                  "updated_before"]
