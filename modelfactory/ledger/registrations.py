"""Recording datanet versions and published adapters in the chain's registries.

Run by beat (`register_on_chain`), not from the request that publishes: a chain outage must not
fail a publish, and a sweep is naturally idempotent — each registration is checked on chain first
(ids are hashes of our own keys, `contracts.records.record_id`), so a run interrupted after a
transaction only records what it finds. Versions go in number order, as the registry requires.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from django.conf import settings

from contracts.chain_client import ChainClient
from contracts.errors import ChainError, ChainUnavailable
from contracts.records import AccessPolicy, DatanetVersionRef, record_id
from datanets.models import Datanet, Version
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import ChainRegistration

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


def version_register(*, client: ChainClient, version: Version) -> ChainRegistration:
    datanet_id = record_id("datanet", version.datanet_id)
    if client.datanet(datanet_id) is None:
        client.register_datanet(
            datanet_id=datanet_id, owner=_wallet(version.datanet.owner), name=version.datanet.slug
        )
    tx_hash = ""
    if client.datanet_version(datanet_id, version.number) is None:
        result = client.publish_datanet_version(
            datanet_id=datanet_id,
            version=version.number,
            rows_root=bytes.fromhex(version.merkle_root.removeprefix("0x")),
            row_count=version.row_count,
        )
        tx_hash = result.tx_hash
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
    digest = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        digest.update((Path(published.adapter_path) / name).read_bytes())
    return digest.digest()


def registrations_sync(*, client: ChainClient) -> int:
    """Register every published version (in order) and live adapter not yet on chain; returns how many."""
    count = 0
    done = _done(ChainRegistration.Kind.DATANET_VERSION)
    pending_versions = (
        Version.objects.exclude(pk__in=done)
        .filter(row_count__gt=0)
        .select_related("datanet__owner")
        .order_by("datanet_id", "number")
    )
    for version in pending_versions:
        version_register(client=client, version=version)
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
        except (ChainError, OSError, Datanet.DoesNotExist):  # one bad record must not hold up the others
            logger.exception("could not register adapter %s on chain", published.api_name)
            continue
        count += 1
    return count
