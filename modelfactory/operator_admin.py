"""The Django admin as an operator's console: every row to read, none to edit by hand.

Operational records (API keys, jobs, uploads, receipts, epochs, payouts, chain registrations) are written
by services that keep their invariants: a receipt is paid for in the transaction that writes it, an
epoch's payouts rebuild the root committed on chain, a key is stored only as its hash. An edit form would
let anyone with admin access break those by accident. So these admins are view-only, and what an
operator needs to do is an action (`@admin.action(permissions=["operate"])`) that calls the service.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from modelfactory.domain_errors import status_for


class ViewOnlyAdmin(admin.ModelAdmin):
    """Readable by staff with the view permission; nothing added, edited or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Who may run the actions: superusers, and staff granted the model's change permission."""
        meta = self.model._meta
        return request.user.has_perm(f"{meta.app_label}.change_{meta.model_name}")

    def run_for_each(self, request: HttpRequest, queryset, act, *, done: str) -> None:
        """`act(row)` (a service call returning what it did) for every selected row, one message each.

        A domain error (the row is in a state that does not allow it) is shown for that row and the others
        go on; anything else is a bug and propagates. Each success is written to the row's admin history.
        """
        for row in queryset:
            try:
                outcome = act(row)
            except Exception as error:
                if status_for(error) is None:
                    raise
                self.message_user(request, f"{row}: {error}", messages.ERROR)
                continue
            text = f"{done}: {outcome}" if outcome else done
            self.log_change(request, row, text)
            self.message_user(request, f"{row}: {text}", messages.SUCCESS)
