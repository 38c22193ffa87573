from django.contrib import admin

from modelfactory.ledger.models import ChainRegistration, Epoch, InferenceReceipt, Payout
from modelfactory.operator_admin import ViewOnlyAdmin


@admin.register(InferenceReceipt)
class InferenceReceiptAdmin(ViewOnlyAdmin):
    """Found by receipt id or by the `x-request-id` a caller quotes (also in every JSON log line)."""

    list_display = (
        "receipt_id",
        "created",
        "model_name",
        "user",
        "tokens_in",
        "tokens_out",
        "fee",
        "attribution_status",
        "epoch",
        "request_id",
    )
    list_filter = ("attribution_status",)
    search_fields = ("receipt_id", "request_id", "model_name", "user__username")
    date_hierarchy = "created"


@admin.register(Epoch)
class EpochAdmin(ViewOnlyAdmin):
    list_display = ("number", "status", "receipt_count", "total", "created", "committed_at", "tx_hash")
    list_filter = ("status",)
    search_fields = ("number", "tx_hash", "payouts_root")


@admin.register(Payout)
class PayoutAdmin(ViewOnlyAdmin):
    list_display = ("epoch", "account", "amount", "claimed", "claimed_at", "claim_tx")
    list_filter = ("claimed",)
    search_fields = ("account", "claim_tx")
    list_select_related = ("epoch",)


@admin.register(ChainRegistration)
class ChainRegistrationAdmin(ViewOnlyAdmin):
    list_display = ("kind", "object_id", "record_id", "tx_hash", "registered")
    list_filter = ("kind",)
    search_fields = ("record_id", "tx_hash")
