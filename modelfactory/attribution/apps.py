from django.apps import AppConfig


class AttributionConfig(AppConfig):
    name = "modelfactory.attribution"
    label = "attribution"
