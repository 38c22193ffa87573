from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "modelfactory.health"
    label = "health"
