from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.operator_services import job_fail, job_requeue
from modelfactory.operator_admin import ViewOnlyAdmin


class FailReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Shown to the job's owner on the job's page.",
    )


@admin.register(FineTuneJob)
class FineTuneJobAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "name",
        "owner",
        "status",
        "queue",
        "step",
        "max_steps",
        "attempts",
        "worker",
        "heartbeat_at",
        "created",
    )
    list_filter = ("status", "queue", "via_api")
    search_fields = ("name", "owner__username", "worker", "api_training_file")
    actions = ["requeue", "fail_with_reason"]

    @admin.action(description="Re-queue the selected jobs", permissions=["operate"])
    def requeue(self, request, queryset):
        self.run_for_each(
            request, queryset, lambda job: job_requeue(job=job, operator=request.user), done="re-queued"
        )

    @admin.action(description="Fail the selected jobs, with a reason…", permissions=["operate"])
    def fail_with_reason(self, request, queryset):
        """First the form for the reason (the owner reads it), then the jobs failed with it."""
        form = FailReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self.run_for_each(
                request,
                queryset,
                lambda job: job_fail(job=job, reason=reason, operator=request.user),
                done="failed by an operator",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Fail jobs",
            "opts": self.model._meta,
            "jobs": queryset,
            "form": form,
            "action": "fail_with_reason",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/finetuning/finetunejob/fail_jobs.html", context)
