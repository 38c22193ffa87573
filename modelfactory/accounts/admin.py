from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from modelfactory.accounts.models import User


@admin.register(User)
class ModelFactoryUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Wallet", {"fields": ("display_name", "wallet_address", "wallet_verified")}),
    )
    list_display = ("username", "display_name", "wallet_address", "is_staff")
