from django.urls import path

from modelfactory.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.catalog, name="list"),
    path("compose/", views.compose, name="compose"),
    path("compose/preview/", views.compose_preview, name="compose_preview"),
    path("import/", views.import_adapter, name="import"),
    path("imports/<int:import_id>/", views.import_status, name="import_status"),
    path("publish/job/<int:job_id>/", views.publish, name="publish"),
    path("<slug:api_name>/", views.detail, name="detail"),
    path("<slug:api_name>/settings/", views.model_settings, name="settings"),
    path("<slug:api_name>/unpublish/", views.unpublish, name="unpublish"),
    path("<slug:api_name>/access/", views.grant, name="grant"),
]
