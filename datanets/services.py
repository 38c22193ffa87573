"""Writes on datanets: creating them, adding rows, publishing versions, seeding the demo."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from datanets.merkle import merkle_root
from datanets.models import Datanet, Row, Version
from datanets.row_hashing import content_hash
from datanets.token_counting import counter_for_base_model, row_text
from modelfactory.accounts.models import User


def row_format_of(content: dict) -> str:
    if "messages" in content:
        return Row.Format.MESSAGES
    if "prompt" in content:
        return Row.Format.PROMPT_COMPLETION
    return Row.Format.TEXT


def datanet_upsert(
    *, slug: str, title: str, description: str, tags: list[str], license: str, owner: User,
    visibility: str = Datanet.Visibility.PUBLIC,
) -> Datanet:
    datanet, _ = Datanet.objects.update_or_create(
        slug=slug,
        defaults={
            "title": title, "description": description, "tags": list(tags), "license": license,
            "owner": owner, "visibility": visibility,
        },
    )
    datanet.full_clean()
    return datanet


@transaction.atomic
def rows_add(
    *, datanet: Datanet, contributions: list[tuple[User, dict]], status: str, source: str
) -> list[Row]:
    """Add rows that were already validated, skipping content the datanet already holds."""
    counter = counter_for_base_model(settings.MODELFACTORY_BASE_MODEL)
    existing = set(datanet.rows.values_list("content_hash", flat=True))
    fresh: list[tuple[User, dict, str]] = []
    for contributor, content in contributions:
        digest = content_hash(content)
        if digest not in existing:
            existing.add(digest)
            fresh.append((contributor, content, digest))
    token_counts = counter.count_many([row_text(content) for _, content, _ in fresh])
    rows = [
        Row(
            datanet=datanet, format=row_format_of(content), content=content, content_hash=digest,
            contributor=contributor, wallet_address=contributor.wallet_address, status=status,
            token_count=tokens, source=source,
        )
        for (contributor, content, digest), tokens in zip(fresh, token_counts, strict=True)
    ]
    return Row.objects.bulk_create(rows, batch_size=500)


@transaction.atomic
def version_publish(*, datanet: Datanet, notes: str = "") -> Version:
    """Snapshot the approved rows; a version never changes after this."""
    Datanet.objects.select_for_update().filter(pk=datanet.pk).first()
    approved = list(datanet.rows.filter(status=Row.Status.APPROVED).values_list("pk", "content_hash", "token_count"))
    last = datanet.versions.order_by("-number").first()
    version = Version.objects.create(
        datanet=datanet,
        number=(last.number + 1) if last else 1,
        row_count=len(approved),
        token_count=sum(tokens for _, _, tokens in approved),
        merkle_root=merkle_root([digest for _, digest, _ in approved]),
        notes=notes,
    )
    version.rows.add(*[pk for pk, _, _ in approved])
    return version
