from django.urls import path

from datanets import views

app_name = "datanets"

# Pages under /datanets/ come before "<slug:slug>/", and their names are in models.RESERVED_SLUGS,
# so no datanet can be created with a slug that one of them would shadow.
urlpatterns = [
    path("", views.browse, name="browse"),
    path("new/", views.create, name="create"),
    path("new/slug/", views.propose_slug, name="propose_slug"),
    path("contributions/", views.my_contributions, name="contributions"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/rows/", views.rows, name="rows"),
    path("<slug:slug>/dashboard/", views.dashboard, name="dashboard"),
    path("<slug:slug>/settings/", views.owner_settings, name="settings"),
    path("<slug:slug>/archive/", views.archive, name="archive"),
    path("<slug:slug>/review/", views.review, name="review"),
    path("<slug:slug>/versions/", views.versions, name="versions"),
    path("<slug:slug>/versions/publish/", views.publish_version, name="publish"),
    path("<slug:slug>/versions/<int:number>/export.jsonl", views.export_version, name="export"),
    path("<slug:slug>/contribute/", views.contribute, name="contribute"),
    path("<slug:slug>/upload/", views.upload_start, name="upload_start"),
    path("<slug:slug>/uploads/<int:upload_id>/", views.upload_detail, name="upload"),
    path("<slug:slug>/uploads/<int:upload_id>/discard/", views.upload_discard, name="upload_discard"),
    path(
        "<slug:slug>/uploads/<int:upload_id>/rejected.jsonl",
        views.upload_rejections,
        name="upload_rejections",
    ),
    path("<slug:slug>/access/", views.access, name="access"),
    path("<slug:slug>/access/request/", views.request_access, name="request_access"),
    path("<slug:slug>/access/<int:request_id>/decide/", views.decide_access, name="decide_access"),
]
