from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "modelfactory.api"
    label = "api"
