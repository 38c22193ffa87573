"""Recording datanet versions and published adapters in the chain's registries.

Run by beat (`register_on_chain`), not from the request that publishes: a chain outage must not
fail a publish, and a sweep is naturally idempotent — each registration is checked on chain first
(ids are hashes of our own keys, `contracts.records.record_id`), so a run interrupted after a
transaction only records what it finds. Versions go in number order, as the registry requires.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from contracts.chain_client import ChainClient
from contracts.errors import ChainError, ChainUnavailable
from contracts.records import AccessPolicy, DatanetVersionRef, record_id
from datanets.models import Datanet, Version
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import ChainRegistration
from primitives.file_digest import sha256_of_files

logger = logging.getLogger(__name__)

POLICIES = {
    PublishedModel.Access.PUBLIC: AccessPolicy.PUBLIC,
    PublishedModel.Access.ALLOW_LIST: AccessPolicy.ALLOW_LIST,
    PublishedModel.Access.PAY_PER_USE: AccessPolicy.PAY_PER_USE,
}


def _wallet(user) -> str:
    return (
        user.wallet_address if user is not None and user.wallet_address else ""
    ) or settings.MODELFACTORY_PLATFORM_WALLET


def _done(kind: str) -> set[int]:
    return set(ChainRegistration.objects.filter(kind=kind).values_list("object_id", flat=True))


class RegistrationMismatch(Exception):
    """The chain already holds this record with other contents than ours (another database registered
    it, or ours changed): never overwritten, never marked as registered, logged loudly every run."""


class VersionNotRecordable(Exception):
    """A version the registry cannot take (no rows: published before empty versions were refused)."""


def version_register(*, client: ChainClient, version: Version) -> ChainRegistration:
    """Record `version` (its datanet first if needed). A version the chain already has is compared
    with ours, root and row count, and marked registered only when they agree."""
    datanet_id = record_id("datanet", version.datanet_id)
    rows_root = bytes.fromhex(version.merkle_root.removeprefix("0x"))
    if version.row_count == 0:
        raise VersionNotRecordable(
            f"datanet {version.datanet.slug} version {version.number} has no rows: the registry cannot "
            "record it, so this datanet's later versions cannot be recorded either"
        )
    if client.datanet(datanet_id) is None:
        client.register_datanet(
            datanet_id=datanet_id, owner=_wallet(version.datanet.owner), name=version.datanet.slug
        )
    tx_hash = ""
    on_chain = client.datanet_version(datanet_id, version.number)
    if on_chain is None:
        result = client.publish_datanet_version(
            datanet_id=datanet_id, version=version.number, rows_root=rows_root, row_count=version.row_count
        )
        tx_hash = result.tx_hash
    elif (on_chain.rows_root, on_chain.row_count) != (rows_root, version.row_count):
        raise RegistrationMismatch(
            f"datanet {version.datanet.slug} version {version.number} is on chain with root "
            f"0x{on_chain.rows_root.hex()} and {on_chain.row_count} rows, but ours has {version.merkle_root} "
            f"and {version.row_count} rows"
        )
    registration, _ = ChainRegistration.objects.get_or_create(
        kind=ChainRegistration.Kind.DATANET_VERSION,
        object_id=version.pk,
        defaults={"record_id": "0x" + datanet_id.hex(), "tx_hash": tx_hash},
    )
    return registration


def adapter_register(*, client: ChainClient, published: PublishedModel) -> ChainRegistration:
    adapter_id = record_id("adapter", published.engine_name)
    tx_hash = ""
    if client.adapter(adapter_id) is None:
        refs = []
        for ref in published.job.manifest.get("datanets", []) if published.job_id else []:
            datanet = Datanet.objects.get(slug=ref["datanet_id"])
            refs.append(DatanetVersionRef(record_id("datanet", datanet.pk), int(ref["version"])))
        result = client.register_adapter(
            adapter_id=adapter_id,
            developer=_wallet(published.owner),
            base_model=published.base_model.name,
            datanet_versions=refs,
            artifact_hash=_artifact_hash(published),
            policy=POLICIES[published.access],
        )
        tx_hash = result.tx_hash
    registration, _ = ChainRegistration.objects.get_or_create(
        kind=ChainRegistration.Kind.ADAPTER,
        object_id=published.pk,
        defaults={"record_id": "0x" + adapter_id.hex(), "tx_hash": tx_hash},
    )
    return registration


def _artifact_hash(published: PublishedModel) -> bytes:
    """The manifest's content hash for trained adapters; for imported ones, sha256 over their files."""
    recorded = published.job.manifest.get("adapter", {}).get("content_sha256", "") if published.job_id else ""
    if len(recorded) == 64:
        return bytes.fromhex(recorded)
    files = ("adapter_config.json", "adapter_model.safetensors")
    return bytes.fromhex(sha256_of_files(Path(published.adapter_path) / name for name in files))


def registrations_sync(*, client: ChainClient) -> int:
    """Register every published version (in order) and live adapter not yet on chain; returns how many.

    One record that cannot be registered (refused, mismatched, unrecordable) is logged and skipped with
    what depends on it (its datanet's later versions); everything else goes ahead. An outage stops the
    run: the next one starts over where this one stopped.
    """
    count = 0
    done = _done(ChainRegistration.Kind.DATANET_VERSION)
    pending_versions = (
        Version.objects.exclude(pk__in=done).select_related("datanet__owner").order_by("datanet_id", "number")
    )
    stuck: set[int] = set()  # datanets whose next version could not be recorded: later ones must wait
    for version in pending_versions:
        if version.datanet_id in stuck:
            continue
        try:
            version_register(client=client, version=version)
        except ChainUnavailable:
            raise
        except (ChainError, RegistrationMismatch, VersionNotRecordable):  # never holds up other datanets
            logger.exception(
                "could not record datanet %s version %s on chain", version.datanet.slug, version.number
            )
            stuck.add(version.datanet_id)
            continue
        count += 1
    done = _done(ChainRegistration.Kind.ADAPTER)
    adapters = PublishedModel.objects.filter(kind=PublishedModel.Kind.ADAPTER, is_live=True).exclude(
        pk__in=done
    )
    for published in adapters.select_related("owner", "base_model", "job"):
        try:
            adapter_register(client=client, published=published)
        except ChainUnavailable:
            raise
        except (ChainError, OSError, Datanet.DoesNotExist, RegistrationMismatch):  # never holds up the others
            logger.exception("could not register adapter %s on chain", published.api_name)
            continue
        count += 1
    return count
