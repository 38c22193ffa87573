"""Writes on datanets: creating, editing and archiving them, adding and reviewing rows, publishing versions.

Every write that only the owner may make checks it here (`_require_owner`), not in the view, so an
API or a task calling the service cannot forget it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from datanets.errors import (
    DatanetAccessDenied,
    DatanetArchived,
    DatanetInvalid,
    NotDatanetOwner,
    NotDatanetReviewer,
    VersionEmpty,
)
from datanets.merkle import merkle_root
from datanets.models import RESERVED_SLUGS, AccessRequest, Datanet, Row, Version
from datanets.row_formats import row_format_of, row_text
from datanets.row_hashing import content_hash
from datanets.token_counting import counter_for_base_model
from modelfactory.accounts.models import User

MAX_TAGS = 8
MAX_TAG_LENGTH = 32


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


def _clean_tags(tags: list[str]) -> list[str]:
    """Lower-cased, stripped, without repeats, in order: tags are filters, so "NLP" and "nlp" are one."""
    cleaned: list[str] = []
    for tag in tags:
        tag = " ".join(tag.split()).lower()
        if tag and tag not in cleaned:
            if len(tag) > MAX_TAG_LENGTH:
                raise DatanetInvalid(f"the tag {tag[:40]!r} is longer than {MAX_TAG_LENGTH} characters")
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise DatanetInvalid(f"{len(cleaned)} tags given; a datanet has at most {MAX_TAGS}")
    return cleaned


def _full_clean(datanet: Datanet, *, exclude: list[str] | None = None) -> None:
    try:
        datanet.full_clean(exclude=exclude)
    except ValidationError as error:
        messages = [f"{name}: {' '.join(texts)}" for name, texts in error.message_dict.items()]
        raise DatanetInvalid("; ".join(messages)) from None


def datanet_create(
    *,
    owner: User,
    title: str,
    slug: str = "",
    description: str = "",
    tags: list[str],
    license: str,
    expected_format: str,
    visibility: str = Datanet.Visibility.PUBLIC,
) -> Datanet:
    """A new, empty datanet owned by its creator; with no slug given, one is proposed from the title.

    A slug chosen by the user that is taken (or is a page of the site, like "new") is refused with a
    free one to use instead, rather than silently changed, because the slug is the datanet's address.
    """
    from datanets.selectors import slug_proposal

    title = title.strip()
    if not title:
        raise DatanetInvalid("give the datanet a title")
    if expected_format not in Row.Format.values:
        raise DatanetInvalid(
            "choose the row format contributions must have: chat messages, prompt/completion or text"
        )
    slug = slug.strip().lower() or slug_proposal(title)
    if slug in RESERVED_SLUGS or Datanet.objects.filter(slug=slug).exists():
        raise DatanetInvalid(f"the address {slug!r} is taken; {slug_proposal(slug)!r} is free")
    datanet = Datanet(
        slug=slug,
        title=title,
        description=description.strip(),
        tags=_clean_tags(tags),
        license=license.strip(),
        owner=owner,
        visibility=visibility,
        expected_format=expected_format,
    )
    _full_clean(datanet)
    try:
        with transaction.atomic():
            datanet.save()
    except IntegrityError:  # created by someone else between the check and the insert
        raise DatanetInvalid(
            f"the address {slug!r} was just taken; {slug_proposal(slug)!r} is free"
        ) from None
    return datanet


def _format_change_blocked(datanet: Datanet, expected_format: str) -> int:
    """How many kept rows (pending or approved) are of another format than the one the owner wants now."""
    if not expected_format:
        return 0
    kept = datanet.rows.exclude(status=Row.Status.REJECTED)
    return kept.exclude(format=expected_format).count()


@transaction.atomic
def datanet_update(
    *,
    datanet: Datanet,
    user: User,
    title: str,
    description: str,
    tags: list[str],
    license: str,
    expected_format: str,
    visibility: str,
) -> Datanet:
    """Change what the owner may change; not the slug, which receipts and the chain name the datanet by.

    The expected format can change only to the format every kept row already has: a datanet whose
    rows disagree with its own format would train on the wrong shape without anyone noticing.
    """
    _require_owner(user=user, datanet=datanet)
    title = title.strip()
    if not title:
        raise DatanetInvalid("give the datanet a title")
    if expected_format != datanet.expected_format:
        if expected_format not in Row.Format.values:
            raise DatanetInvalid("choose the row format contributions must have")
        others = _format_change_blocked(datanet, expected_format)
        if others:
            raise DatanetInvalid(
                f"{others} pending or approved row{'s are' if others != 1 else ' is'} in another format; "
                f"a datanet expecting {Row.Format(expected_format).label.lower()} rows cannot hold them. "
                "Reject them first, or keep the current format."
            )
    datanet.title = title
    datanet.description = description.strip()
    datanet.tags = _clean_tags(tags)
    datanet.license = license.strip()
    datanet.expected_format = expected_format
    datanet.visibility = visibility
    _full_clean(datanet, exclude=["slug"])
    datanet.save()
    return datanet


def datanet_archive(*, datanet: Datanet, user: User) -> Datanet:
    """Hide the datanet from browsing and close it to new rows; its versions stay usable by existing jobs."""
    _require_owner(user=user, datanet=datanet)
    if datanet.archived is None:
        datanet.archived = timezone.now()
        datanet.save(update_fields=["archived", "updated"])
    return datanet


def datanet_restore(*, datanet: Datanet, user: User) -> Datanet:
    """Undo `datanet_archive`: listed again and open to contributions."""
    _require_owner(user=user, datanet=datanet)
    if datanet.archived is not None:
        datanet.archived = None
        datanet.save(update_fields=["archived", "updated"])
    return datanet


def _users_named(usernames: list[str], *, role: str) -> list[User]:
    wanted = list(dict.fromkeys(name.strip() for name in usernames if name.strip()))
    matches = Q()
    for name in wanted:
        matches |= Q(username__iexact=name)
    found = {user.username.lower(): user for user in User.objects.filter(matches)} if wanted else {}
    missing = [name for name in wanted if name.lower() not in found]
    if missing:
        raise DatanetInvalid(f"no user named {', '.join(map(repr, missing))} (in {role}); check the spelling")
    return list(found.values())


@transaction.atomic
def datanet_reviewing_configure(
    *, datanet: Datanet, user: User, reviewers: list[str], auto_approved: list[str]
) -> Datanet:
    """Who besides the owner reviews rows, and whose rows skip review; both by username.

    The owner always reviews and is always approved on arrival, so listing them changes nothing and
    they are left out of both lists. Auto-approval applies to rows that arrive from now on; rows
    already waiting stay in the queue.
    """
    _require_owner(user=user, datanet=datanet)
    chosen_reviewers = [u for u in _users_named(reviewers, role="reviewers") if u.pk != datanet.owner_id]
    chosen_auto = [
        u for u in _users_named(auto_approved, role="auto-approved contributors") if u.pk != datanet.owner_id
    ]
    datanet.reviewers.set(chosen_reviewers)
    datanet.auto_approved_contributors.set(chosen_auto)
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

    An empty snapshot is refused (`VersionEmpty`): it trains nothing, and the chain's registry, which
    takes versions strictly in order, could never record it, so every later version would wait.

    The datanet row is locked so that two owners publishing at once get numbers 1 and 2, not
    two versions numbered 1; added/removed counts compare with the previous version.
    """
    Datanet.objects.select_for_update().filter(pk=datanet.pk).first()
    approved = list(
        datanet.rows.filter(status=Row.Status.APPROVED).values_list("pk", "content_hash", "token_count")
    )
    if not approved:
        raise VersionEmpty(
            f"{datanet.title} has no approved rows yet: approve or add rows, then publish a version"
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
    if user is None or datanet.owner_id != user.pk:
        raise NotDatanetOwner(f"only the owner of {datanet.title} can do this")


def datanet_require_open(datanet: Datanet) -> None:
    """Raise `DatanetArchived` for an archived datanet: every way rows arrive (form, upload) asks this."""
    if datanet.archived is not None:
        raise DatanetArchived(
            f"{datanet.title} is archived and takes no new rows; its published versions stay usable"
        )


@transaction.atomic
def rows_review(
    *, datanet: Datanet, reviewer: User, row_ids: list[int], approve: bool, reason: str = ""
) -> int:
    """Approve or reject pending rows in bulk; a rejection carries the reason the contributor sees."""
    from datanets.selectors import may_review

    if not may_review(reviewer, datanet):
        raise NotDatanetReviewer(
            f"only the owner of {datanet.title} and the reviewers they chose can review rows"
        )
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

    The owner's rows and the auto-approved contributors' are approved at once; everyone else's wait
    in the review queue. An archived datanet refuses the row (`DatanetArchived`).
    """
    from datanets.ingest import RowInvalid, check_content, check_format
    from datanets.selectors import approved_on_arrival, may_use

    if not may_use(contributor, datanet):
        raise DatanetAccessDenied(f"{datanet.title} is permissioned: ask its owner for access")
    datanet_require_open(datanet)
    check_content(content)
    check_format(content, datanet.expected_format)
    digest = content_hash(content)
    if datanet.rows.filter(content_hash=digest).exists():
        raise RowInvalid("this exact row is already in the datanet")
    tokens = counter_for_base_model(settings.MODELFACTORY_BASE_MODEL).count(row_text(content))
    limit = settings.MODELFACTORY_ROW_MAX_TOKENS
    if tokens > limit:
        raise RowInvalid(f"the row is {tokens} tokens long; the limit is {limit}")
    status = Row.Status.APPROVED if approved_on_arrival(contributor, datanet) else Row.Status.PENDING
    added = rows_add(datanet=datanet, contributions=[(contributor, content)], status=status, source="form")
    return added[0]


@transaction.atomic
def datanet_delete_unless_trained_on(*, datanet: Datanet, user: User) -> bool:
    """Delete the owner's datanet with its rows, versions and uploads, unless a fine-tuning job trained on
    one of its versions: that datanet is archived instead, because a job keeps its lineage (the rows and
    Merkle roots its adapter's receipts pay). True when it was deleted.

    For datanets that are one person's own data (a file uploaded through the API); a community datanet,
    whose rows are other people's contributions, is archived, never deleted.
    """
    _require_owner(user=user, datanet=datanet)
    if datanet.versions.filter(finetune_jobs__isnull=False).exists():
        datanet_archive(datanet=datanet, user=user)
        return False
    if datanet.rows.exclude(contributor=user).exists():
        raise DatanetInvalid(f"{datanet.title} holds rows of other contributors: archive it instead")
    directories = [Path(path).parent for path in datanet.uploads.values_list("stored_path", flat=True)]
    datanet.delete()
    transaction.on_commit(lambda: [shutil.rmtree(d, ignore_errors=True) for d in directories])
    return True
