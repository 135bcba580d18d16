from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "apps.monitoring"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from apps.monitoring.metrics import LayerwatchCollector

        # Read at scrape time from the database and Redis, so worker-side events count too.
        if not any(isinstance(c, LayerwatchCollector) for c in list(REGISTRY._collector_to_names)):
            REGISTRY.register(LayerwatchCollector())
