"""Writes on datanets: creating them, adding rows, publishing versions, seeding the demo."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datanets.errors import DatanetAccessDenied, NotDatanetOwner
from datanets.merkle import merkle_root
from datanets.models import AccessRequest, Datanet, Row, Version
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
    *,
    slug: str,
    title: str,
    description: str,
    tags: list[str],
    license: str,
    owner: User,
    visibility: str = Datanet.Visibility.PUBLIC,
) -> Datanet:
    datanet, _ = Datanet.objects.update_or_create(
        slug=slug,
        defaults={
            "title": title,
            "description": description,
            "tags": list(tags),
            "license": license,
            "owner": owner,
            "visibility": visibility,
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
    texts = [row_text(content) for _, content, _ in fresh]
    token_counts = counter.count_many(texts)
    rows = [
        Row(
            datanet=datanet,
            format=row_format_of(content),
            content=content,
            content_hash=digest,
            search_text=text,
            contributor=contributor,
            wallet_address=contributor.wallet_address,
            status=status,
            token_count=tokens,
            source=source,
        )
        for (contributor, content, digest), text, tokens in zip(fresh, texts, token_counts, strict=True)
    ]
    return Row.objects.bulk_create(rows, batch_size=500)


@transaction.atomic
def version_publish(*, datanet: Datanet, notes: str = "") -> Version:
    """Snapshot the approved rows; a version never changes after this.

    The datanet row is locked so that two owners publishing at once get numbers 1 and 2, not
    two versions numbered 1; added/removed counts compare with the previous version.
    """
    Datanet.objects.select_for_update().filter(pk=datanet.pk).first()
    approved = list(
        datanet.rows.filter(status=Row.Status.APPROVED).values_list("pk", "content_hash", "token_count")
    )
    last = datanet.versions.order_by("-number").first()
    previous = set(last.rows.values_list("pk", flat=True)) if last else set()
    current = {pk for pk, _, _ in approved}
    version = Version.objects.create(
        datanet=datanet,
        number=(last.number + 1) if last else 1,
        row_count=len(approved),
        token_count=sum(tokens for _, _, tokens in approved),
        merkle_root=merkle_root([digest for _, digest, _ in approved]),
        added_count=len(current - previous),
        removed_count=len(previous - current),
        notes=notes,
    )
    version.rows.add(*current)
    return version


def _require_owner(*, user: User, datanet: Datanet) -> None:
    if datanet.owner_id != user.pk:
        raise NotDatanetOwner(f"only the owner of {datanet.title} can do this")


@transaction.atomic
def rows_review(
    *, datanet: Datanet, reviewer: User, row_ids: list[int], approve: bool, reason: str = ""
) -> int:
    """Approve or reject pending rows in bulk; a rejection carries the reason the contributor sees."""
    _require_owner(user=reviewer, datanet=datanet)
    if not approve and not reason.strip():
        raise ValueError("say why the rows are rejected: the contributors will read it")
    rows = datanet.rows.filter(pk__in=row_ids, status=Row.Status.PENDING)
    return rows.update(
        status=Row.Status.APPROVED if approve else Row.Status.REJECTED,
        rejection_reason="" if approve else reason.strip()[:500],
        reviewed=timezone.now(),
    )


def access_request_create(*, datanet: Datanet, user: User, message: str = "") -> AccessRequest:
    if datanet.visibility == Datanet.Visibility.PUBLIC:
        raise ValueError(f"{datanet.title} is public: everyone may use it already")
    if datanet.owner_id == user.pk:
        raise ValueError("you own this datanet")
    request, created = AccessRequest.objects.get_or_create(
        datanet=datanet, user=user, defaults={"message": message[:500]}
    )
    if not created and request.status == AccessRequest.Status.REJECTED:
        request.status, request.message, request.decided = AccessRequest.Status.PENDING, message[:500], None
        request.save(update_fields=["status", "message", "decided"])
    return request


def access_request_decide(*, access_request: AccessRequest, owner: User, approve: bool) -> AccessRequest:
    _require_owner(user=owner, datanet=access_request.datanet)
    access_request.status = AccessRequest.Status.APPROVED if approve else AccessRequest.Status.REJECTED
    access_request.decided = timezone.now()
    access_request.save(update_fields=["status", "decided"])
    return access_request


def version_export_lines(*, version: Version) -> Iterator[bytes]:
    """A version as JSONL that `datasets.load_dataset("json", ...)` loads unchanged.

    Every line has the same keys (the normalized content plus provenance), so the Arrow schema is
    stable; message lists stay lists of {role, content}.
    """
    rows = version.rows.select_related("contributor").order_by("id")
    for row in rows.iterator(chunk_size=1000):
        record = {
            "row_id": row.pk,
            "content_hash": row.content_hash,
            "contributor": row.contributor.username,
            "wallet_address": row.wallet_address,
            "format": row.format,
            "messages": row.content.get("messages"),
            "prompt": row.content.get("prompt"),
            "completion": row.content.get("completion"),
            "text": row.content.get("text"),
        }
        yield (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def row_contribute(*, datanet: Datanet, contributor: User, content: dict) -> Row:
    """One row typed into the form: the same rules as an upload, a clear `RowInvalid` when broken.

    The owner's own rows are approved at once; everyone else's wait in the review queue.
    """
    from datanets.ingest import RowInvalid, check_content
    from datanets.selectors import is_owner, may_use

    if not may_use(contributor, datanet):
        raise DatanetAccessDenied(f"{datanet.title} is permissioned: ask its owner for access")
    check_content(content)
    digest = content_hash(content)
    if datanet.rows.filter(content_hash=digest).exists():
        raise RowInvalid("this exact row is already in the datanet")
    tokens = counter_for_base_model(settings.MODELFACTORY_BASE_MODEL).count(row_text(content))
    limit = settings.MODELFACTORY_ROW_MAX_TOKENS
    if tokens > limit:
        raise RowInvalid(f"the row is {tokens} tokens long; the limit is {limit}")
    status = Row.Status.APPROVED if is_owner(contributor, datanet) else Row.Status.PENDING
    added = rows_add(datanet=datanet, contributions=[(contributor, content)], status=status, source="form")
    return added[0]
