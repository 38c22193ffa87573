"""Reads on datanets. Visibility is decided here, once, for every view, API and task."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum

from datanets.models import Datanet, Row


def datanets_visible_to(user) -> QuerySet[Datanet]:
    """Public datanets, plus permissioned ones the user owns."""
    public = Q(visibility=Datanet.Visibility.PUBLIC)
    if user is None or not user.is_authenticated:
        return Datanet.objects.filter(public)
    return Datanet.objects.filter(public | Q(owner=user))


def datanet_cards(user) -> QuerySet[Datanet]:
    approved = Q(rows__status=Row.Status.APPROVED)
    return datanets_visible_to(user).select_related("owner").annotate(
        approved_rows=Count("rows", filter=approved),
        contributor_count=Count("rows__contributor", filter=approved, distinct=True),
        token_total=Sum("rows__token_count", filter=approved),
    )


def platform_totals(user) -> dict:
    rows = Row.objects.filter(datanet__in=datanets_visible_to(user), status=Row.Status.APPROVED)
    totals = rows.aggregate(rows=Count("id"), contributors=Count("contributor", distinct=True),
                            tokens=Sum("token_count"))
    totals["datanets"] = datanets_visible_to(user).count()
    totals["tokens"] = totals["tokens"] or 0
    return totals
