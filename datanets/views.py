"""HTTP for datanets: parse the request, call one selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from datanets import selectors, services, uploads
from datanets.errors import DatanetNotFound, NotDatanetOwner, UploadRefused
from datanets.forms import ContributionForm, ImportChoiceForm, UploadFileForm
from datanets.ingest import RowInvalid, UploadUnreadable
from datanets.models import AccessRequest, Datanet, Row, Upload
from modelfactory.attribution.selectors import datanet_attribution


def _datanet_or_404(request: HttpRequest, slug: str) -> Datanet:
    try:
        return selectors.datanet_by_slug(request.user, slug)
    except DatanetNotFound as error:
        raise Http404(str(error)) from None


def _usable_or_locked(request: HttpRequest, slug: str) -> Datanet | HttpResponse:
    datanet = _datanet_or_404(request, slug)
    if not selectors.may_use(request.user, datanet):
        return render(
            request,
            "datanets/locked.html",
            {"datanet": datanet, "access_request": selectors.access_request_of(request.user, datanet)},
            status=403,
        )
    return datanet


def _owned_or_403(request: HttpRequest, slug: str) -> Datanet:
    datanet = _datanet_or_404(request, slug)
    if not selectors.is_owner(request.user, datanet):
        raise NotDatanetOwner(f"only the owner of {datanet.title} can do this")
    return datanet


def browse(request: HttpRequest) -> HttpResponse:
    search, tag = request.GET.get("q", "").strip(), request.GET.get("tag", "").strip()
    context = {
        "datanets": selectors.datanet_cards(request.user, search=search, tag=tag),
        "tags": selectors.all_tags(request.user),
        "q": search,
        "tag": tag,
    }
    template = "datanets/_cards.html" if request.htmx else "datanets/browse.html"
    return render(request, template, context)


def detail(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _usable_or_locked(request, slug)
    if isinstance(datanet, HttpResponse):
        return datanet
    stats = selectors.datanet_stats(datanet)
    return render(
        request,
        "datanets/detail.html",
        {
            "datanet": datanet,
            "stats": stats,
            "charts": {"lengths": stats.length_histogram, "timeline": stats.contributions_over_time},
            "versions": selectors.datanet_versions(datanet)[:5],
            "is_owner": selectors.is_owner(request.user, datanet),
            "rows_page": selectors.datanet_rows(datanet, status=Row.Status.APPROVED),
            "status_filter": Row.Status.APPROVED,
            "q": "",
            "attribution": datanet_attribution(datanet),
        },
    )


def rows(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _usable_or_locked(request, slug)
    if isinstance(datanet, HttpResponse):
        return datanet
    search, status = request.GET.get("q", "").strip(), request.GET.get("status", Row.Status.APPROVED)
    page = selectors.datanet_rows(datanet, search=search, status=status, page=request.GET.get("page", 1))
    return render(
        request,
        "datanets/_rows_results.html",
        {"datanet": datanet, "rows_page": page, "q": search, "status_filter": status},
    )


@login_required
def review(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _owned_or_403(request, slug)
    if request.method == "POST":
        ids = [int(pk) for pk in request.POST.getlist("row") if pk.isdigit()]
        approve = request.POST.get("decision") == "approve"
        try:
            changed = services.rows_review(
                datanet=datanet,
                reviewer=request.user,
                row_ids=ids,
                approve=approve,
                reason=request.POST.get("reason", ""),
            )
        except ValueError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{changed} row(s) {'approved' if approve else 'rejected'}.")
        return redirect("datanets:review", slug=slug)
    search = request.GET.get("q", "").strip()
    page = selectors.datanet_rows(
        datanet, search=search, status=Row.Status.PENDING, page=request.GET.get("page", 1)
    )
    return render(request, "datanets/review.html", {"datanet": datanet, "rows_page": page, "q": search})


def versions(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _usable_or_locked(request, slug)
    if isinstance(datanet, HttpResponse):
        return datanet
    return render(
        request,
        "datanets/versions.html",
        {
            "datanet": datanet,
            "versions": selectors.datanet_versions(datanet),
            "is_owner": selectors.is_owner(request.user, datanet),
            "approved_now": datanet.rows.filter(status=Row.Status.APPROVED).count(),
        },
    )


@login_required
@require_POST
def publish_version(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _owned_or_403(request, slug)
    version = services.version_publish(datanet=datanet, notes=request.POST.get("notes", "").strip())
    messages.success(request, f"Published version {version.number} with {version.row_count} rows.")
    return redirect("datanets:versions", slug=slug)


def export_version(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    datanet = _usable_or_locked(request, slug)
    if isinstance(datanet, HttpResponse):
        return datanet
    version = get_object_or_404(datanet.versions, number=number)
    response = StreamingHttpResponse(
        services.version_export_lines(version=version), content_type="application/jsonl; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{datanet.slug}-v{version.number}.jsonl"'
    return response


@login_required
def access(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _owned_or_403(request, slug)
    return render(
        request,
        "datanets/access.html",
        {"datanet": datanet, "requests": selectors.access_requests_for_owner(datanet)},
    )


@login_required
@require_POST
def request_access(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _datanet_or_404(request, slug)
    try:
        services.access_request_create(
            datanet=datanet, user=request.user, message=request.POST.get("message", "")
        )
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Access requested. The owner will see your request.")
    return redirect("datanets:detail", slug=slug)


@login_required
@require_POST
def decide_access(request: HttpRequest, slug: str, request_id: int) -> HttpResponse:
    datanet = _owned_or_403(request, slug)
    access_request = get_object_or_404(AccessRequest, pk=request_id, datanet=datanet)
    services.access_request_decide(
        access_request=access_request, owner=request.user, approve=request.POST.get("decision") == "approve"
    )
    return redirect("datanets:access", slug=slug)


# --- Contributing: one row by hand, or a file through the upload wizard --------------------------------
@login_required
def contribute(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _usable_or_locked(request, slug)
    if isinstance(datanet, HttpResponse):
        return datanet
    form = ContributionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.row_contribute(datanet=datanet, contributor=request.user, content=form.content())
        except RowInvalid as error:
            form.add_error(None, str(error))
        else:
            waiting = row.status == Row.Status.PENDING
            messages.success(
                request, "Thank you! Your row waits for the owner's review." if waiting else "Row added."
            )
            return redirect("datanets:contribute", slug=slug)
    return render(
        request,
        "datanets/contribute.html",
        {"datanet": datanet, "form": form, "is_owner": selectors.is_owner(request.user, datanet)},
    )


@login_required
def upload_start(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = _usable_or_locked(request, slug)
    if isinstance(datanet, HttpResponse):
        return datanet
    form = UploadFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = uploads.upload_receive(
                datanet=datanet, uploader=request.user, file=form.cleaned_data["file"]
            )
        except UploadRefused as error:
            form.add_error("file", str(error))
        else:
            return redirect("datanets:upload", slug=slug, upload_id=upload.pk)
    return render(
        request,
        "datanets/upload_start.html",
        {
            "datanet": datanet,
            "form": form,
            "is_owner": selectors.is_owner(request.user, datanet),
            "recent": selectors.uploads_of(request.user, datanet)[:10],
        },
    )


def _own_upload(request: HttpRequest, slug: str, upload_id: int) -> Upload:
    upload = get_object_or_404(Upload.objects.select_related("datanet"), pk=upload_id, datanet__slug=slug)
    if upload.uploader_id != request.user.pk and not selectors.is_owner(request.user, upload.datanet):
        raise Http404("no such upload")
    return upload


@login_required
def upload_detail(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    """The wizard's second step (preview, mapping, choice) or, once chosen, the progress and result."""
    upload = _own_upload(request, slug, upload_id)
    context = {"datanet": upload.datanet, "upload": upload, "progress": uploads.upload_progress(upload)}
    if upload.status != Upload.Status.INSPECTED:
        template = "datanets/_upload_status.html" if request.htmx else "datanets/upload_status.html"
        return render(request, template, context)
    try:
        preview = uploads.upload_preview(upload=upload)
    except UploadUnreadable as error:
        upload.status, upload.error = Upload.Status.FAILED, str(error)
        upload.save(update_fields=["status", "error"])
        return render(request, "datanets/upload_status.html", context)
    if request.method == "POST":
        form = ImportChoiceForm(request.POST, columns=preview.columns)
        if form.is_valid():
            mapping = form.mapping()
            if "preview" in request.POST:  # re-preview with the user's mapping, without importing
                preview = uploads.upload_preview(upload=upload, mapping=mapping)
            else:
                uploads.upload_start_import(
                    upload=upload, user=request.user, mode=form.cleaned_data["mode"], mapping=mapping
                )
                return redirect("datanets:upload", slug=slug, upload_id=upload.pk)
    else:
        initial = {
            f"map_{part}": column
            for part, column in (preview.mapping.columns if preview.mapping else {}).items()
        }
        form = ImportChoiceForm(initial=initial, columns=preview.columns)
    return render(request, "datanets/upload_preview.html", {**context, "preview": preview, "form": form})


@login_required
@require_POST
def upload_discard(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    upload = _own_upload(request, slug, upload_id)
    uploads.upload_discard(upload=upload, user=request.user)
    messages.info(request, f"{upload.filename} was discarded; nothing was imported.")
    return redirect("datanets:upload_start", slug=slug)


@login_required
def upload_rejections(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    upload = _own_upload(request, slug, upload_id)
    if not upload.rejections_path:
        raise Http404("this upload has no rejected rows")
    rejected = open(upload.rejections_path, "rb")  # noqa: SIM115 - FileResponse closes it when sent
    return FileResponse(
        rejected,
        as_attachment=True,
        filename=f"{upload.filename}.rejected.jsonl",
        content_type="application/jsonl; charset=utf-8",
    )
