from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from datanets.selectors import datanet_cards, platform_totals


def home(request: HttpRequest) -> HttpResponse:
    cards = list(datanet_cards(request.user))
    chart = {
        "labels": [card.title for card in cards],
        "rows": [card.approved_rows for card in cards],
        "contributors": [card.contributor_count for card in cards],
    }
    return render(
        request,
        "dashboard/home.html",
        {"datanets": cards, "totals": platform_totals(request.user), "chart": chart},
    )
