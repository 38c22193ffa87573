"""Reads on datanets. Visibility is decided here, once, for every view, API and task.

A public datanet is usable by everyone. A permissioned one is usable (browsed, exported, trained
on) only by its owner and users whose access request was approved; others can open its page by
link and see its title and owner, so that they can ask for access, and nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from datanets.errors import DatanetAccessDenied, DatanetNotFound
from datanets.models import AccessRequest, Datanet, Row, Upload, Version

ROWS_PER_PAGE = 25


def _usable_filter(user) -> Q:
    public = Q(visibility=Datanet.Visibility.PUBLIC)
    if user is None or not user.is_authenticated:
        return public
    approved = Q(access_requests__user=user, access_requests__status=AccessRequest.Status.APPROVED)
    return public | Q(owner=user) | approved


def datanets_usable_by(user) -> QuerySet[Datanet]:
    """The datanets whose rows this user may read, export and fine-tune on."""
    return Datanet.objects.filter(_usable_filter(user)).distinct()


def datanets_visible_to(user) -> QuerySet[Datanet]:
    """What browsing lists: exactly the usable datanets (permissioned ones are shared by link)."""
    return datanets_usable_by(user)


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


def usable_datanet(user, slug: str) -> Datanet:
    datanet = datanet_by_slug(user, slug)
    if not may_use(user, datanet):
        raise DatanetAccessDenied(f"{datanet.title} is permissioned: ask its owner for access")
    return datanet


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


def datanet_versions(datanet: Datanet) -> QuerySet[Version]:
    return datanet.versions.order_by("-number")


def version_rows_in_order(version: Version) -> QuerySet[Row]:
    return version.rows.select_related("contributor").order_by("id")


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
