from django.urls import path, re_path

from modelfactory.api import files, fine_tuning, pages, views

app_name = "api"

urlpatterns = [
    path("v1/openapi.json", views.openapi_json, name="openapi"),
    path("v1/models", views.models_list, name="models"),
    path("v1/models/<str:api_name>", views.model_detail, name="model"),
    path("v1/chat/completions", views.chat_completions, name="chat_completions"),
    path("v1/completions", views.completions, name="completions"),
    path("v1/attribution/<str:receipt_id>", views.attribution, name="attribution"),
    path("v1/files", files.files, name="files"),
    path("v1/files/<str:file_id>", files.file, name="file"),
    path("v1/fine_tuning/jobs", fine_tuning.jobs, name="fine_tuning_jobs"),
    path("v1/fine_tuning/jobs/<str:job_id>", fine_tuning.job, name="fine_tuning_job"),
    path("v1/fine_tuning/jobs/<str:job_id>/cancel", fine_tuning.cancel, name="fine_tuning_cancel"),
    path("v1/fine_tuning/jobs/<str:job_id>/events", fine_tuning.events, name="fine_tuning_events"),
    path(
        "v1/fine_tuning/jobs/<str:job_id>/checkpoints",
        fine_tuning.checkpoints,
        name="fine_tuning_checkpoints",
    ),
    re_path(r"^v1/(?P<path>.*)$", views.not_found),
    path("docs/api/", pages.reference, name="reference"),
    path("account/api-keys/", pages.key_list, name="keys"),
    path("account/api-keys/new", pages.key_create, name="key_create"),
    path("account/api-keys/<int:key_id>/revoke", pages.key_revoke, name="key_revoke"),
]
