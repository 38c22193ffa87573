from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "modelfactory.billing"
    label = "billing"
    verbose_name = "Billing (prepaid OPEN balances)"
