from django.urls import path, re_path

from modelfactory.finetuning import views
from modelfactory.finetuning.wizard import STEPS

app_name = "finetuning"

urlpatterns = [
    path("", views.job_list, name="jobs"),
    path("new/", views.wizard, name="new"),
    re_path(rf"^new/(?P<step>{'|'.join(STEPS)})/$", views.wizard, name="wizard"),  # other steps: 404
    path("compare/", views.compare, name="compare"),
    path("jobs/<int:job_id>/", views.job_detail, name="job"),
    path("jobs/<int:job_id>/metrics.json", views.job_metrics, name="job_metrics"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:job_id>/resume/", views.job_resume, name="job_resume"),
    path("jobs/<int:job_id>/adapter.zip", views.job_adapter_zip, name="job_adapter_zip"),
    path("jobs/<int:job_id>/merged.zip", views.job_merged_zip, name="job_merged_zip"),
    path("jobs/<int:job_id>/export-merged/", views.job_export_merged, name="job_export_merged"),
]
