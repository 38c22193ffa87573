"""HTTP for datanets: parse the request, call one selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from datanets import selectors, services, upload_services
from datanets.errors import (
    DatanetInvalid,
    UploadRefused,
    VersionEmpty,
)
from datanets.forms import ContributionForm, DatanetForm, ImportChoiceForm, ReviewingForm, UploadFileForm
from datanets.ingest import RowInvalid, UploadUnreadable
from datanets.models import Datanet, Row, Upload
from modelfactory.attribution.selectors import datanet_attribution


def _roles(request: HttpRequest, datanet: Datanet) -> dict:
    """What the datanet's tabs and pages offer this user."""
    return {
        "is_owner": selectors.is_owner(request.user, datanet),
        "can_review": selectors.may_review(request.user, datanet),
    }


def _wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap gets the fragment; a normal load, or htmx restoring history it lost, the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def browse(request: HttpRequest) -> HttpResponse:
    search, tag = request.GET.get("q", "").strip(), request.GET.get("tag", "").strip()
    context = {
        "datanets": selectors.datanet_cards(request.user, search=search, tag=tag),
        "tags": selectors.all_tags(request.user),
        "archived": selectors.archived_datanets_of(request.user),
        "q": search,
        "tag": tag,
    }
    template = "datanets/_cards.html" if _wants_fragment(request) else "datanets/browse.html"
    return render(request, template, context)


@login_required
def create(request: HttpRequest) -> HttpResponse:
    form = DatanetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            datanet = services.datanet_create(owner=request.user, **form.values())
        except DatanetInvalid as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{datanet.title} is ready. Add its first rows.")
            return redirect("datanets:detail", slug=datanet.slug)
    return render(request, "datanets/create.html", {"form": form})


@login_required
def propose_slug(request: HttpRequest) -> HttpResponse:
    """The address a title would get, shown under the title field as the user types it."""
    title = request.GET.get("title", "").strip()
    return render(
        request,
        "datanets/_slug_proposal.html",
        {"proposal": selectors.slug_proposal(title) if title else ""},
    )


def _rows_context(request: HttpRequest, datanet: Datanet) -> dict:
    """The rows table's state from the URL (?q=, ?page=, ?status=), so Back and bookmarks restore it."""
    search = request.GET.get("q", "").strip()
    table = selectors.rows_table(
        request.user,
        datanet,
        search=search,
        status=request.GET.get("status", ""),
        page=request.GET.get("page", 1),
    )
    return {
        "rows_page": table.page,
        "q": search,
        "status_filter": table.status,
        "row_statuses": table.statuses,
    }


def detail(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.usable_datanet(request.user, slug)
    rows_context = _rows_context(request, datanet)
    if _wants_fragment(request):
        return render(request, "datanets/_rows_results.html", {"datanet": datanet, **rows_context})
    stats = selectors.datanet_stats(datanet)
    return render(
        request,
        "datanets/detail.html",
        {
            "datanet": datanet,
            "stats": stats,
            "has_rows": any(stats.rows_by_status.values()),
            "charts": {"lengths": stats.length_histogram, "timeline": stats.contributions_over_time},
            "versions": selectors.datanet_versions(datanet)[:5],
            **_roles(request, datanet),
            **rows_context,
            "attribution": datanet_attribution(datanet),
        },
    )


def rows(request: HttpRequest, slug: str) -> HttpResponse:
    """The rows table alone (older links and scripts); the page itself serves it to htmx at its own URL."""
    datanet = selectors.usable_datanet(request.user, slug)
    return render(
        request, "datanets/_rows_results.html", {"datanet": datanet, **_rows_context(request, datanet)}
    )


@login_required
def my_contributions(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in Row.Status.values else ""
    contributions = selectors.contributions_of(request.user, status=status, page=request.GET.get("page", 1))
    return render(
        request,
        "datanets/contributions.html",
        {
            "contributions": contributions,
            "status_filter": status,
            "statuses": [(value, label, contributions.counts[value]) for value, label in Row.Status.choices],
        },
    )


@login_required
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.owned_datanet(request.user, slug)
    return render(
        request,
        "datanets/dashboard.html",
        {"datanet": datanet, "board": selectors.owner_dashboard(datanet), **_roles(request, datanet)},
    )


@login_required
def owner_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The owner's settings: the datanet's details, and who reviews and who is approved on arrival."""
    datanet = selectors.owned_datanet(request.user, slug)
    which = request.POST.get("form") if request.method == "POST" else None
    details = DatanetForm(request.POST if which == "details" else None, datanet=datanet)
    reviewing = ReviewingForm(
        request.POST if which == "reviewing" else None,
        initial={role: ", ".join(names) for role, names in selectors.reviewing_usernames(datanet).items()},
    )
    bound = {"details": details, "reviewing": reviewing}.get(which or "")
    if bound is not None and bound.is_valid():
        try:
            if bound is details:
                services.datanet_update(datanet=datanet, user=request.user, **details.values())
            else:
                services.datanet_reviewing_configure(
                    datanet=datanet, user=request.user, **reviewing.usernames()
                )
        except DatanetInvalid as error:
            bound.add_error(None, str(error))
        else:
            messages.success(request, "Saved.")
            return redirect("datanets:settings", slug=slug)
    return render(
        request,
        "datanets/settings.html",
        {"datanet": datanet, "details": details, "reviewing": reviewing, **_roles(request, datanet)},
    )


@login_required
@require_POST
def archive(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.owned_datanet(request.user, slug)
    if request.POST.get("action") == "restore":
        services.datanet_restore(datanet=datanet, user=request.user)
        messages.success(request, f"{datanet.title} is listed again and takes new rows.")
    else:
        services.datanet_archive(datanet=datanet, user=request.user)
        messages.success(
            request,
            f"{datanet.title} is archived: hidden from browsing, closed to new rows; "
            "its versions stay usable by the jobs that train on them.",
        )
    return redirect("datanets:settings", slug=slug)


@login_required
def review(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.reviewable_datanet(request.user, slug)
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
    return render(
        request,
        "datanets/review.html",
        {"datanet": datanet, "rows_page": page, "q": search, **_roles(request, datanet)},
    )


def versions(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.usable_datanet(request.user, slug)
    return render(
        request,
        "datanets/versions.html",
        {
            "datanet": datanet,
            "versions": selectors.datanet_versions(datanet),
            **_roles(request, datanet),
            "approved_now": selectors.approved_row_count(datanet),
        },
    )


@login_required
@require_POST
def publish_version(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.owned_datanet(request.user, slug)
    try:
        version = services.version_publish(datanet=datanet, notes=request.POST.get("notes", "").strip())
    except VersionEmpty as empty:
        messages.error(request, str(empty))
    else:
        messages.success(request, f"Published version {version.number} with {version.row_count} rows.")
    return redirect("datanets:versions", slug=slug)


def export_version(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    datanet = selectors.usable_datanet(request.user, slug)
    version = selectors.datanet_version(datanet, number)
    response = StreamingHttpResponse(
        services.version_export_lines(version=version), content_type="application/jsonl; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{datanet.slug}-v{version.number}.jsonl"'
    return response


@login_required
def access(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.owned_datanet(request.user, slug)
    return render(
        request,
        "datanets/access.html",
        {"datanet": datanet, "requests": selectors.access_requests_for_owner(datanet)},
    )


@login_required
@require_POST
def request_access(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.datanet_by_slug(request.user, slug)
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
    datanet = selectors.owned_datanet(request.user, slug)
    access_request = selectors.access_request_for_owner(datanet, request_id)
    services.access_request_decide(
        access_request=access_request, owner=request.user, approve=request.POST.get("decision") == "approve"
    )
    return redirect("datanets:access", slug=slug)


# --- Contributing: one row by hand, or a file through the upload wizard --------------------------------
@login_required
def contribute(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.usable_datanet(request.user, slug)
    form = ContributionForm(request.POST or None, initial={"kind": datanet.expected_format or "messages"})
    if request.method == "POST" and form.is_valid():
        try:
            row = services.row_contribute(datanet=datanet, contributor=request.user, content=form.content())
        except (RowInvalid, UploadRefused) as error:
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
        {
            "datanet": datanet,
            "form": form,
            "approved_on_arrival": selectors.approved_on_arrival(request.user, datanet),
            **_roles(request, datanet),
        },
    )


@login_required
def upload_start(request: HttpRequest, slug: str) -> HttpResponse:
    datanet = selectors.usable_datanet(request.user, slug)
    form = UploadFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = upload_services.upload_receive(
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
            "approved_on_arrival": selectors.approved_on_arrival(request.user, datanet),
            **_roles(request, datanet),
            "recent": selectors.uploads_of(request.user, datanet)[:10],
        },
    )


@login_required
def upload_detail(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    """The wizard's second step (preview, mapping, choice) or, once chosen, the progress and result."""
    upload = selectors.upload_for(request.user, slug, upload_id)
    context = {
        "datanet": upload.datanet,
        "upload": upload,
        "progress": upload_services.upload_progress(upload),
    }
    if upload.status != Upload.Status.INSPECTED:
        template = "datanets/_upload_status.html" if request.htmx else "datanets/upload_status.html"
        return render(request, template, context)
    try:
        preview = upload_services.upload_preview(upload=upload)
    except UploadUnreadable:  # marked failed, with the reason the status page shows
        return render(request, "datanets/upload_status.html", context)
    if request.method == "POST":
        form = ImportChoiceForm(request.POST, columns=preview.columns)
        if form.is_valid():
            mapping = form.mapping()
            if "preview" in request.POST:  # re-preview with the user's mapping, without importing
                preview = upload_services.upload_preview(upload=upload, mapping=mapping)
            else:
                upload_services.upload_start_import(
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
    upload = selectors.upload_for(request.user, slug, upload_id)
    upload_services.upload_discard(upload=upload, user=request.user)
    messages.info(request, f"{upload.filename} was discarded; nothing was imported.")
    return redirect("datanets:upload_start", slug=slug)


@login_required
def upload_rejections(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    upload = selectors.upload_for(request.user, slug, upload_id)
    rejected = open(selectors.upload_rejections_path(upload), "rb")  # noqa: SIM115 - FileResponse closes it when sent
    return FileResponse(
        rejected,
        as_attachment=True,
        filename=f"{upload.filename}.rejected.jsonl",
        content_type="application/jsonl; charset=utf-8",
    )
