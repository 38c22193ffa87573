from django.urls import path, re_path

from modelfactory.api import pages, views

app_name = "api"

urlpatterns = [
    path("v1/openapi.json", views.openapi_json, name="openapi"),
    path("v1/models", views.models_list, name="models"),
    path("v1/models/<str:api_name>", views.model_detail, name="model"),
    path("v1/chat/completions", views.chat_completions, name="chat_completions"),
    path("v1/completions", views.completions, name="completions"),
    path("v1/attribution/<str:receipt_id>", views.attribution, name="attribution"),
    re_path(r"^v1/(?P<path>.*)$", views.not_found),
    path("docs/api/", pages.reference, name="reference"),
    path("account/api-keys/", pages.key_list, name="keys"),
    path("account/api-keys/new", pages.key_create, name="key_create"),
    path("account/api-keys/<int:key_id>/revoke", pages.key_revoke, name="key_revoke"),
]
