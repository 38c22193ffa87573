from django.apps import AppConfig


class FinetuningConfig(AppConfig):
    name = "modelfactory.finetuning"
    label = "finetuning"
