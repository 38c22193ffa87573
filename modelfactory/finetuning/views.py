"""HTTP for fine-tuning: the wizard's steps, the jobs list and page, live metrics, cancel and resume."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from modelfactory.accounts.errors import LimitReached
from modelfactory.catalog.models import BaseModel
from modelfactory.catalog.selectors import base_models, default_base_model
from modelfactory.finetuning import export_services, selectors, services
from modelfactory.finetuning.errors import JobRefused
from modelfactory.finetuning.estimates import effective_batches, estimate
from modelfactory.finetuning.forms import BaseModelForm, DataForm, LaunchForm, MethodForm
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.training.capabilities import detect_capabilities
from modelfactory.finetuning.training.spec import SpecInvalid, preset
from modelfactory.finetuning.wizard import STEP_TITLES, STEPS, WizardState


def _wizard_page(request: HttpRequest, step: str, state: WizardState, **context) -> HttpResponse:
    return render(
        request,
        f"finetuning/wizard_{step}.html",
        {
            "step": step,
            "steps": [(s, STEP_TITLES[s]) for s in STEPS],
            "step_index": STEPS.index(step),
            "state": state,
            **context,
        },
    )


def _chosen_base(state: WizardState) -> BaseModel | None:
    return selectors.base_model_chosen(state.base_model_id)


@login_required
def wizard(request: HttpRequest, step: str = "base") -> HttpResponse:
    state = WizardState.load(request.session)
    missing = state.first_missing_step()
    if missing and STEPS.index(step) > STEPS.index(missing):
        return redirect("finetuning:wizard", step=missing)
    handler = {"base": _step_base, "data": _step_data, "method": _step_method, "review": _step_review}[step]
    return handler(request, state)


def _next(step: str) -> HttpResponse:
    return redirect("finetuning:wizard", step=STEPS[STEPS.index(step) + 1])


def _step_base(request: HttpRequest, state: WizardState) -> HttpResponse:
    form = BaseModelForm(
        request.POST or None,
        initial={"base_model": state.base_model_id or default_base_model()},
    )
    if request.method == "POST" and form.is_valid():
        state.base_model_id = form.cleaned_data["base_model"].pk
        state.save(request.session)
        return _next("base")
    return _wizard_page(request, "base", state, form=form, models=base_models())


def _step_data(request: HttpRequest, state: WizardState) -> HttpResponse:
    datanets = selectors.trainable_datanets(request.user)
    chosen = {v.datanet_id: v.pk for v in selectors.versions_usable_by(request.user, state.version_ids)}
    initial = {f"version_{d.pk}": chosen.get(d.pk, "") for d, _ in datanets}
    form = DataForm(
        request.POST or None,
        datanets=datanets,
        initial={**initial, "eval_percent": round(state.eval_fraction * 100)},
    )
    if request.method == "POST" and form.is_valid():
        versions = selectors.versions_usable_by(request.user, form.cleaned_data["version_ids"])
        state.version_ids = [v.pk for v in versions]
        state.eval_fraction = form.cleaned_data["eval_percent"] / 100
        state.save(request.session)
        return _next("data")
    choices = [(datanet, versions, form[f"version_{datanet.pk}"]) for datanet, versions in datanets]
    return _wizard_page(request, "data", state, form=form, choices=choices)


def _preset_values(name: str, base: BaseModel) -> dict:
    hardware = detect_capabilities().hardware
    spec = preset(name, base.source, hardware=hardware, context_length=base.context_length).to_json()
    return {field: spec[field] for field in MethodForm.ADVANCED}


def _step_method(request: HttpRequest, state: WizardState) -> HttpResponse:
    base = _chosen_base(state)
    capabilities = detect_capabilities()
    qlora_reason = "" if capabilities.qlora.available else capabilities.qlora.reason
    if request.method == "POST":
        form = MethodForm(request.POST, qlora_reason=qlora_reason)
        if form.is_valid():
            shown = _preset_values(request.POST.get("shown_preset", state.preset), base)
            state.overrides = {
                field: form.cleaned_data[field]
                for field in MethodForm.ADVANCED
                if form.cleaned_data[field] != shown[field]
                and not (field == "max_steps" and not form.cleaned_data[field])
            }
            state.preset = form.cleaned_data["preset"]
            try:
                state.spec(base.source, context_length=base.context_length)
            except SpecInvalid as error:
                form.add_error(error.field if error.field in form.fields else None, error.reason)
            else:
                state.save(request.session)
                return _next("method")
    else:
        form = MethodForm(
            initial={"preset": state.preset, **_preset_values(state.preset, base), **state.overrides},
            qlora_reason=qlora_reason,
        )
    presets = {name: _preset_values(name, base) for name in ("quick", "balanced", "thorough")}
    return _wizard_page(
        request,
        "method",
        state,
        form=form,
        presets=presets,
        capabilities=capabilities,
        qlora_reason=qlora_reason,
        facts=selectors.architecture_facts(base),
        base=base,
    )


def _step_review(request: HttpRequest, state: WizardState) -> HttpResponse:
    base = _chosen_base(state)
    versions = selectors.versions_usable_by(request.user, state.version_ids)
    spec = state.spec(base.source, context_length=base.context_length).to_json()
    rows = selectors.version_rows(versions)
    tokens = selectors.rows_token_total(rows)
    facts = selectors.architecture_facts(base)
    capabilities = detect_capabilities()
    hardware = capabilities.hardware
    guess = estimate(
        parameter_count=base.parameter_count or 0,
        hidden_size=facts["hidden_size"],
        num_layers=facts["num_layers"],
        rows=rows.count(),
        tokens=tokens,
        template_tokens_per_row=facts["chat_template_tokens"],
        rows_over_length=selectors.rows_over_length(
            rows,
            base_model=base,
            max_seq_length=spec["max_seq_length"],
            template_tokens=facts["chat_template_tokens"],
        ),
        spec=spec,
        hardware=hardware,
        observed_tokens_per_second=selectors.observed_training_speed(base, queue=hardware),
    )
    form = LaunchForm(
        request.POST or None,
        initial={"name": state.name, "gpus": 1 if capabilities.gpu_count else 0},
        gpu_count=capabilities.gpu_count,
        gpu_names=capabilities.gpu_names,
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                base_model=base,
                versions=versions,
                spec=spec,
                preset=state.preset,
                gpus=form.cleaned_data["gpus"],
            )
        except (JobRefused, LimitReached) as error:
            form.add_error(None, str(error))
        else:
            WizardState.clear(request.session)
            messages.success(request, f"Job “{job.name}” is queued.")
            return redirect("finetuning:job", job_id=job.pk)
    return _wizard_page(
        request,
        "review",
        state,
        form=form,
        base=base,
        versions=versions,
        spec=spec,
        estimate=guess,
        tokens=tokens,
        batches=effective_batches(spec, gpu_count=capabilities.gpu_count),
    )


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = list(selectors.jobs_of(request.user)[:100])
    template = "finetuning/_job_rows.html" if request.htmx else "finetuning/job_list.html"
    return render(
        request, template, {"jobs": jobs, "any_active": any(j.status in FineTuneJob.ACTIVE for j in jobs)}
    )


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.job_for(request.user, job_id)
    context = {
        "job": job,
        "queue_position": selectors.queue_position(job),
        "active": job.status in FineTuneJob.ACTIVE,
        "resume_step": selectors.job_resume_step(job),
    }
    if request.htmx:
        response = render(request, "finetuning/_job_progress.html", context)
        if not context["active"]:
            response["HX-Refresh"] = "true"  # finished: reload once to show the evaluation and downloads
        return response
    return render(
        request,
        "finetuning/job_detail.html",
        {
            **context,
            "versions": selectors.job_datanet_versions(job),
            "curves": selectors.job_curves(job),
            "evaluation": selectors.job_evaluation(job),
            "data_report": selectors.job_data_report(job),
        },
    )


@login_required
def job_metrics(request: HttpRequest, job_id: int) -> JsonResponse:
    job = selectors.job_for(request.user, job_id)
    after = request.GET.get("after", "-1")
    if not re.fullmatch(r"-?[0-9]{1,18}", after):
        return JsonResponse({"error": f"after: {after!r} is not a step number"}, status=400)
    after = int(after)
    return JsonResponse({"status": job.status, "curves": selectors.job_curves(job, after_step=after)})


@login_required
@require_POST
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = services.job_cancel(job=selectors.job_for(request.user, job_id), user=request.user)
    messages.info(
        request,
        "Cancelled."
        if job.status == FineTuneJob.Status.CANCELLED
        else "Stopping after the current step; the last checkpoint is kept.",
    )
    return redirect("finetuning:job", job_id=job_id)


@login_required
@require_POST
def job_resume(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.job_for(request.user, job_id)
    resume_step = selectors.job_resume_step(job)
    try:
        services.job_resume(job=job, user=request.user)
    except (JobRefused, LimitReached) as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Queued again; training continues from the checkpoint at step {resume_step}."
            if resume_step is not None
            else "Queued again; no checkpoint was saved, so training starts from the beginning.",
        )
    return redirect("finetuning:job", job_id=job_id)


@login_required
def compare(request: HttpRequest) -> HttpResponse:
    ids = [int(pk) for pk in request.GET.getlist("job") if pk.isdigit()]
    jobs = selectors.jobs_for_comparison(request.user, ids)
    keys = sorted({key for job in jobs for key in job.spec if key not in ("extra", "base_model")})
    curves = {job.pk: {"name": job.name, **selectors.job_curves(job)} for job in jobs}
    return render(request, "finetuning/compare.html", {"jobs": jobs, "keys": keys, "curves": curves})


@login_required
def job_adapter_zip(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.job_for(request.user, job_id)
    response = HttpResponse(export_services.adapter_zip(job), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="adapter-job-{job.pk}.zip"'
    return response


@login_required
def job_merged_zip(request: HttpRequest, job_id: int) -> StreamingHttpResponse:
    """The merged full model as a zip, streamed as it is written: it is as large as the base model."""
    job = selectors.job_for(request.user, job_id)  # another person's job is not found, as everywhere
    response = StreamingHttpResponse(export_services.merged_zip_stream(job), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="merged-job-{job.pk}.zip"'
    return response


@login_required
@require_POST
def job_export_merged(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.job_for(request.user, job_id)
    if export_services.merged_export_request(job=job):
        messages.info(request, "Merging the adapter into the base model on a worker.")
    return redirect("finetuning:job", job_id=job_id)
