from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "modelfactory.catalog"
    label = "catalog"
