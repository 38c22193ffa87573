from django.contrib import admin

from datanets.models import Upload
from modelfactory.operator_admin import ViewOnlyAdmin


@admin.register(Upload)
class UploadAdmin(ViewOnlyAdmin):
    list_display = (
        "filename",
        "datanet",
        "uploader",
        "status",
        "size_bytes",
        "accepted_count",
        "rejected_count",
        "attempts",
        "created",
        "finished",
    )
    list_filter = ("status", "mode")
    search_fields = ("filename", "uploader__username", "datanet__slug")
    list_select_related = ("datanet", "uploader")
