from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "modelfactory.ledger"
    label = "ledger"
