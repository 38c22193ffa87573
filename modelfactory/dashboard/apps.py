from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "modelfactory.dashboard"
    label = "dashboard"
