from django.apps import AppConfig


class MachinesConfig(AppConfig):
    name = "apps.machines"

    def ready(self) -> None:
        from apps.machines import schema  # noqa: F401  (registers the OpenAPI auth extension)
