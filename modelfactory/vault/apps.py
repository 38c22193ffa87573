from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "modelfactory.vault"
    label = "vault"
    verbose_name = "Payment vault"
