from django.urls import path

from modelfactory.vault import views

app_name = "vault"

urlpatterns = [
    path("wallet/deposit/", views.deposit_prepare, name="deposit"),
    path("wallet/withdraw/", views.withdraw, name="withdraw"),
    path("wallet/withdrawals/<int:pk>/send/", views.withdraw_send, name="withdraw_send"),
]
