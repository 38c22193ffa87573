from django.apps import AppConfig


class DatanetsConfig(AppConfig):
    name = "datanets"
    default_auto_field = "django.db.models.BigAutoField"
