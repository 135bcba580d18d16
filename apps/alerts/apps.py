from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"

    def ready(self) -> None:
        from apps.alerts.services import alert_rules_enqueue
        from apps.scoring import on_scored

        on_scored.subscribe(alert_rules_enqueue)
