"""Reads on datanets. Visibility is decided here, once, for every view, API and task.

A public datanet is usable by everyone. A permissioned one is usable (browsed, exported, trained
on) only by its owner, the reviewers the owner listed, and users whose access request was approved;
others can open its page by link and see its title and owner, so that they can ask for access, and
nothing else. An archived datanet stays usable (jobs trained on its versions keep working, links keep
answering) but is no longer listed.

Rows that are not approved (pending, rejected) and rejection reasons are seen by the people who
review them and by their contributors only: a rejected row is not the datanet's content, and the
reason is a note from the reviewer to its author.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils.text import slugify

from datanets.errors import (
    DatanetAccessDenied,
    DatanetItemNotFound,
    DatanetNotFound,
    NotDatanetOwner,
    NotDatanetReviewer,
)
from datanets.models import RESERVED_SLUGS, AccessRequest, Datanet, Row, Upload, Version

ROWS_PER_PAGE = 25


def _usable_filter(user) -> Q:
    public = Q(visibility=Datanet.Visibility.PUBLIC)
    if user is None or not user.is_authenticated:
        return public
    approved = Q(access_requests__user=user, access_requests__status=AccessRequest.Status.APPROVED)
    return public | Q(owner=user) | Q(reviewers=user) | approved


def datanets_usable_by(user) -> QuerySet[Datanet]:
    """The datanets whose rows this user may read, export and fine-tune on (archived ones included)."""
    return Datanet.objects.filter(_usable_filter(user)).distinct()


def datanets_visible_to(user) -> QuerySet[Datanet]:
    """What browsing lists: the usable datanets not archived (permissioned ones are shared by link)."""
    return datanets_usable_by(user).filter(archived__isnull=True)


def archived_datanets_of(user) -> QuerySet[Datanet]:
    """The owner's archived datanets, which browsing no longer lists, so they can find and restore them."""
    if user is None or not user.is_authenticated:
        return Datanet.objects.none()
    return Datanet.objects.filter(owner=user, archived__isnull=False).order_by("-archived")


def datanet_by_slug(user, slug: str) -> Datanet:
    """Any datanet by slug, for its landing page; callers must still ask `may_use` for content."""
    try:
        return Datanet.objects.select_related("owner").get(slug=slug)
    except Datanet.DoesNotExist:
        raise DatanetNotFound(f"no datanet named {slug!r}") from None


def may_use(user, datanet: Datanet) -> bool:
    return datanets_usable_by(user).filter(pk=datanet.pk).exists()


def is_owner(user, datanet: Datanet) -> bool:
    return user is not None and user.is_authenticated and datanet.owner_id == user.pk


def may_review(user, datanet: Datanet) -> bool:
    """The owner and the reviewers they listed approve and reject pending rows."""
    if user is None or not user.is_authenticated:
        return False
    return is_owner(user, datanet) or datanet.reviewers.filter(pk=user.pk).exists()


def approved_on_arrival(user, datanet: Datanet) -> bool:
    """Whether this user's new rows skip the review queue: the owner's and auto-approved contributors' do."""
    if user is None or not user.is_authenticated:
        return False
    return is_owner(user, datanet) or datanet.auto_approved_contributors.filter(pk=user.pk).exists()


def reviewing_usernames(datanet: Datanet) -> dict[str, list[str]]:
    """Who the owner listed as reviewers and as auto-approved contributors, for the settings form."""
    return {
        "reviewers": list(datanet.reviewers.order_by("username").values_list("username", flat=True)),
        "auto_approved": list(
            datanet.auto_approved_contributors.order_by("username").values_list("username", flat=True)
        ),
    }


def slug_proposal(title: str) -> str:
    """A free slug made from the title: "Tide tables" gives tide-tables, then tide-tables-2, ..."""
    base = slugify(title)[:72].strip("-") or "datanet"
    taken = set(Datanet.objects.filter(slug__startswith=base).values_list("slug", flat=True)) | RESERVED_SLUGS
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def usable_datanet(user, slug: str) -> Datanet:
    """A datanet whose rows, versions and exports the user may read (`DatanetAccessDenied` if not)."""
    datanet = datanet_by_slug(user, slug)
    if not may_use(user, datanet):
        raise DatanetAccessDenied(
            f"{datanet.title} is permissioned: ask its owner for access", datanet=datanet
        )
    return datanet


def owned_datanet(user, slug: str) -> Datanet:
    """A datanet the user owns: settings, versions and access requests are theirs alone."""
    datanet = datanet_by_slug(user, slug)
    if not is_owner(user, datanet):
        raise NotDatanetOwner(f"only the owner of {datanet.title} can do this")
    return datanet


def reviewable_datanet(user, slug: str) -> Datanet:
    datanet = datanet_by_slug(user, slug)
    if not may_review(user, datanet):
        raise NotDatanetReviewer(f"only the owner of {datanet.title} and their reviewers can do this")
    return datanet


def datanet_version(datanet: Datanet, number: int) -> Version:
    version = datanet.versions.filter(number=number).first()
    if version is None:
        raise DatanetItemNotFound(f"{datanet.title} has no version {number}")
    return version


def approved_row_count(datanet: Datanet) -> int:
    return datanet.rows.filter(status=Row.Status.APPROVED).count()


def access_request_for_owner(datanet: Datanet, request_id: int) -> AccessRequest:
    """One access request to the owner's datanet (the caller has checked ownership with `owned_datanet`)."""
    found = datanet.access_requests.filter(pk=request_id).first()
    if found is None:
        raise DatanetItemNotFound(f"no access request {request_id} to {datanet.title}")
    return found


def upload_for(user, slug: str, upload_id: int) -> Upload:
    """An upload, to its uploader and to the datanet's owner; to anyone else it does not exist."""
    upload = Upload.objects.select_related("datanet").filter(pk=upload_id, datanet__slug=slug).first()
    if upload is None or (
        upload.uploader_id != getattr(user, "pk", None) and not is_owner(user, upload.datanet)
    ):
        raise DatanetItemNotFound(f"no upload {upload_id} of yours")
    return upload


def upload_rejections_path(upload: Upload) -> str:
    """The file of the rows an import rejected, each with its reason (only if it rejected some)."""
    if not upload.rejections_path:
        raise DatanetItemNotFound("this upload has no rejected rows")
    return upload.rejections_path


def datanet_cards(user, *, search: str = "", tag: str = "") -> QuerySet[Datanet]:
    approved = Q(rows__status=Row.Status.APPROVED)
    datanets = datanets_visible_to(user)
    if search:
        datanets = datanets.filter(
            Q(title__icontains=search) | Q(description__icontains=search) | Q(slug__icontains=search)
        )
    cards = (
        Datanet.objects.filter(pk__in=datanets.values("pk"))
        .select_related("owner")
        .annotate(
            approved_rows=Count("rows", filter=approved),
            contributor_count=Count("rows__contributor", filter=approved, distinct=True),
            token_total=Sum("rows__token_count", filter=approved),
            latest_version=Max("versions__number"),
        )
    )
    if tag:
        cards = [card for card in cards if tag in card.tags]
    return cards


def platform_totals(user) -> dict:
    rows = Row.objects.filter(datanet__in=datanets_visible_to(user), status=Row.Status.APPROVED)
    totals = rows.aggregate(
        rows=Count("id"), contributors=Count("contributor", distinct=True), tokens=Sum("token_count")
    )
    totals["datanets"] = datanets_visible_to(user).count()
    totals["tokens"] = totals["tokens"] or 0
    return totals


@dataclass(frozen=True)
class DatanetStats:
    rows_by_status: dict[str, int]
    contributors: int
    tokens: int
    length_histogram: dict  # {"labels": [...], "counts": [...]}
    contributions_over_time: dict  # {"labels": [...], "counts": [...]}
    top_contributors: list[dict]


def datanet_stats(datanet: Datanet) -> DatanetStats:
    rows = datanet.rows.all()
    by_status = dict(rows.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    approved = rows.filter(status=Row.Status.APPROVED)
    aggregate = approved.aggregate(
        tokens=Sum("token_count"), contributors=Count("contributor", distinct=True)
    )
    lengths = list(approved.values_list("token_count", flat=True))
    per_day = rows.annotate(day=TruncDate("created")).values("day").annotate(n=Count("id")).order_by("day")
    top = (
        approved.values("contributor__username", "contributor__display_name", "wallet_address")
        .annotate(rows=Count("id"), tokens=Sum("token_count"))
        .order_by("-rows", "contributor__username")[:10]
    )
    return DatanetStats(
        rows_by_status={status: by_status.get(status, 0) for status in Row.Status.values},
        contributors=aggregate["contributors"] or 0,
        tokens=aggregate["tokens"] or 0,
        length_histogram=_histogram(lengths),
        contributions_over_time={
            "labels": [entry["day"].isoformat() for entry in per_day],
            "counts": [entry["n"] for entry in per_day],
        },
        top_contributors=[
            {
                "username": t["contributor__username"],
                "name": t["contributor__display_name"] or t["contributor__username"],
                "wallet": t["wallet_address"],
                "rows": t["rows"],
                "tokens": t["tokens"],
            }
            for t in top
        ],
    )


def _histogram(values: list[int], buckets: int = 12) -> dict:
    """Token lengths in equal-width buckets, labelled by their ranges, for a Chart.js bar chart."""
    if not values:
        return {"labels": [], "counts": []}
    low, high = min(values), max(values)
    width = max(1, -(-(high - low + 1) // buckets))
    counts = Counter((value - low) // width for value in values)
    edges = range(0, -(-(high - low + 1) // width))
    return {
        "labels": [f"{low + i * width}-{low + (i + 1) * width - 1}" for i in edges],
        "counts": [counts.get(i, 0) for i in edges],
    }


def datanet_rows(
    datanet: Datanet, *, search: str = "", status: str = "", page: int = 1, per_page: int = ROWS_PER_PAGE
) -> Page:
    rows = datanet.rows.select_related("contributor").order_by("-id")
    if status in Row.Status.values:
        rows = rows.filter(status=status)
    if search:
        rows = rows.filter(Q(search_text__icontains=search) | Q(contributor__username__icontains=search))
    return Paginator(rows, per_page).get_page(page)


def row_statuses_visible_to(user, datanet: Datanet) -> tuple[str, ...]:
    """The row statuses the user may list: every one for reviewers, approved rows for everyone else."""
    return tuple(Row.Status.values) if may_review(user, datanet) else (Row.Status.APPROVED,)


@dataclass(frozen=True)
class RowsTable:
    page: Page
    status: str
    """The status listed: the one asked for when the user may list it, approved otherwise."""
    statuses: tuple[str, ...]
    """Every status this user may list, for the filter."""


def rows_table(
    user, datanet: Datanet, *, search: str = "", status: str = "", page: int | str = 1
) -> RowsTable:
    """The datanet's rows table for this user; a status they may not list falls back to approved rows."""
    statuses = row_statuses_visible_to(user, datanet)
    if status not in statuses:
        status = Row.Status.APPROVED
    return RowsTable(datanet_rows(datanet, search=search, status=status, page=page), status, statuses)


def datanet_versions(datanet: Datanet) -> QuerySet[Version]:
    return datanet.versions.order_by("-number")


def access_requests_for_owner(datanet: Datanet) -> QuerySet[AccessRequest]:
    return datanet.access_requests.select_related("user").order_by("status", "-created")


def access_request_of(user, datanet: Datanet) -> AccessRequest | None:
    if user is None or not user.is_authenticated:
        return None
    return datanet.access_requests.filter(user=user).first()


def all_tags(user) -> list[str]:
    tags: set[str] = set()
    for datanet_tags in datanets_visible_to(user).values_list("tags", flat=True):
        tags.update(datanet_tags)
    return sorted(tags)


def uploads_of(user, datanet: Datanet) -> QuerySet[Upload]:
    return datanet.uploads.filter(uploader=user).order_by("-created")


def access_requests_pending(datanet: Datanet) -> QuerySet[AccessRequest]:
    return datanet.access_requests.filter(status=AccessRequest.Status.PENDING).select_related("user")


@dataclass
class OwnerDashboard:
    """What the owner looks at to run a datanet: what waits for them, what was published, what it earned."""

    pending_rows: int
    rows_by_status: dict[str, int]
    access_requests: list[AccessRequest]
    versions: list[Version]
    approved_since_last_version: int
    reviewers: list
    auto_approved_contributors: list
    answers_credited: int
    earned: int
    """Base units credited to the datanet by answers' attribution (`datanet_attribution`)."""
    recent_uploads: list[Upload] = field(default_factory=list)


def owner_dashboard(datanet: Datanet) -> OwnerDashboard:
    """Everything the owner's dashboard shows; earnings come from attribution's selector, not recomputed."""
    from modelfactory.attribution.selectors import datanet_attribution

    stats = dict(datanet.rows.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    versions = list(datanet_versions(datanet))
    latest_rows = set(versions[0].rows.values_list("pk", flat=True)) if versions else set()
    approved = set(datanet.rows.filter(status=Row.Status.APPROVED).values_list("pk", flat=True))
    attribution = datanet_attribution(datanet, top=0)
    return OwnerDashboard(
        pending_rows=stats.get(Row.Status.PENDING, 0),
        rows_by_status={status: stats.get(status, 0) for status in Row.Status.values},
        access_requests=list(access_requests_pending(datanet)),
        versions=versions,
        approved_since_last_version=len(approved - latest_rows),
        reviewers=list(datanet.reviewers.order_by("username")),
        auto_approved_contributors=list(datanet.auto_approved_contributors.order_by("username")),
        answers_credited=attribution.answers,
        earned=attribution.earned,
        recent_uploads=list(datanet.uploads.select_related("uploader").order_by("-created")[:10]),
    )


@dataclass
class Contributions:
    """One person's rows across every datanet, and what their rows earned them per datanet."""

    rows_page: Page
    counts: dict[str, int]
    """Rows by status, and "all"."""
    earned_by_datanet: dict[str, int]
    """Base units by datanet slug, split as the earnings page splits them (`earnings_for_user`)."""


def contributions_of(
    user, *, status: str = "", page: int | str = 1, per_page: int = ROWS_PER_PAGE
) -> Contributions:
    """The user's own rows in any datanet, newest first, with the versions each is in."""
    from modelfactory.ledger.selectors import earnings_for_user

    rows = Row.objects.filter(contributor=user)
    by_status = dict(rows.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    counts = {value: by_status.get(value, 0) for value in Row.Status.values}
    counts["all"] = sum(by_status.values())
    if status in Row.Status.values:
        rows = rows.filter(status=status)
    rows = (
        rows.select_related("datanet")
        .prefetch_related(Prefetch("versions", queryset=Version.objects.order_by("number")))
        .order_by("-id")
    )
    earnings = earnings_for_user(user=user, verify=False)
    return Contributions(
        rows_page=Paginator(rows, per_page).get_page(page),
        counts=counts,
        earned_by_datanet={
            slug: amount for slug, amount in earnings.by_datanet if slug != "no datanet" and amount
        },
    )
