from django.urls import path

from modelfactory.ledger import views

app_name = "ledger"

urlpatterns = [
    path("earnings/", views.earnings, name="earnings"),
    path("earnings/claim/<int:epoch>/", views.claim, name="claim"),
    path("earnings/claim-all/", views.claim_all, name="claim_all"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/epochs/<int:number>/", views.epoch, name="epoch"),
    path("receipts/<uuid:receipt_id>/", views.receipt, name="receipt"),
    path("receipts/<uuid:receipt_id>/evidence/", views.receipt_evidence_part, name="receipt_evidence"),
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/challenge/", views.wallet_challenge, name="wallet_challenge"),
    path("wallet/verify/", views.wallet_verify_view, name="wallet_verify"),
]
