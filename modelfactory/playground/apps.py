from django.apps import AppConfig


class PlaygroundConfig(AppConfig):
    name = "modelfactory.playground"
    label = "playground"
