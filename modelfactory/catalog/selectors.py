"""Reads on the catalog."""

from __future__ import annotations

from django.db.models import QuerySet

from modelfactory.catalog.models import BaseModel


def base_models() -> QuerySet[BaseModel]:
    return BaseModel.objects.all()
