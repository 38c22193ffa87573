from django.contrib import admin

from modelfactory.vault.models import ChainCursor, UnassignedDeposit, VaultAccount, WithdrawalVoucher


@admin.register(VaultAccount)
class VaultAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "account_id", "created")
    search_fields = ("user__username", "account_id")
    readonly_fields = ("user", "account_id", "created")


@admin.register(UnassignedDeposit)
class UnassignedDepositAdmin(admin.ModelAdmin):
    list_display = ("account_id", "depositor", "amount", "tx_hash", "block_number", "seen")
    readonly_fields = ("tx_hash", "log_index", "block_number", "account_id", "depositor", "amount", "seen")


@admin.register(WithdrawalVoucher)
class WithdrawalVoucherAdmin(admin.ModelAdmin):
    list_display = ("user", "amount", "recipient", "status", "deadline", "tx_hash", "created")
    list_filter = ("status",)
    readonly_fields = [field.name for field in WithdrawalVoucher._meta.fields]


@admin.register(ChainCursor)
class ChainCursorAdmin(admin.ModelAdmin):
    list_display = ("chain_id", "contract", "next_block", "updated")
