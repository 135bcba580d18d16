from django.apps import AppConfig


class PartsConfig(AppConfig):
    name = "apps.parts"
