from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "apps.records"

    def ready(self) -> None:
        from apps.records.services import score_regions_describe_on_scored
        from apps.scoring import on_scored

        on_scored.subscribe(score_regions_describe_on_scored)
