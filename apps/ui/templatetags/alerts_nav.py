from django import template

from apps.alerts.models import Alert

register = template.Library()


@register.simple_tag
def open_alert_count() -> int:
    return Alert.objects.filter(status=Alert.Status.OPEN).count()
