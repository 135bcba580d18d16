from django.apps import AppConfig


class PartsConfig(AppConfig):
    name = "apps.parts"

    def ready(self) -> None:
        from apps.parts.services import layer_parts_estimate_enqueue
        from apps.scoring import on_scored

        # Parts are estimated after scoring, for layers whose printer sent no part labels.
        on_scored.subscribe(layer_parts_estimate_enqueue)
