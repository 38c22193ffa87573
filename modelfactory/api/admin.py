from django.contrib import admin

from modelfactory.api.models import ApiFile, ApiKey
from modelfactory.api.services import api_key_revoke
from modelfactory.operator_admin import ViewOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ViewOnlyAdmin):
    """Keys are found by owner, name or the prefix a person quotes; the secret's hash is left out: an
    operator never needs it, and the fewer places show it the fewer can leak it."""

    list_display = ("prefix", "name", "user", "created", "last_used", "revoked", "requests", "tokens_out")
    list_filter = ("revoked",)
    search_fields = ("prefix", "name", "user__username")
    exclude = ("secret_hash",)
    actions = ["revoke"]

    @admin.action(description="Revoke the selected keys (at once, for good)", permissions=["operate"])
    def revoke(self, request, queryset):
        def revoke(key: ApiKey) -> str:
            # As its owner would: the service checks the key is the user's, so the operator acts as them.
            api_key_revoke(key=key, user=key.user)
            return ""

        self.run_for_each(request, queryset, revoke, done="revoked")


@admin.register(ApiFile)
class ApiFileAdmin(ViewOnlyAdmin):
    list_display = ("public_id", "filename", "owner", "bytes", "purpose", "created")
    list_filter = ("purpose",)
    search_fields = ("public_id", "filename", "owner__username")
