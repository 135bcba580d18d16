from django.apps import AppConfig


class LayersConfig(AppConfig):
    name = "apps.layers"
