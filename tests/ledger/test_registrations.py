"""Datanet versions and published adapters are recorded in the chain's registries, once, in order."""

from __future__ import annotations

import pytest

from contracts.records import record_id
from datanets.services import version_publish
from modelfactory.catalog.services import model_publish_from_job
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.ledger.models import ChainRegistration
from modelfactory.ledger.registration_services import registrations_sync
from tests.finetuning.jobs_support import register_tiny, train_tiny_job
from tests.support.factories import make_datanet, make_rows, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.services]


def test_every_version_goes_on_chain_with_its_merkle_root_and_a_second_sweep_sends_nothing(chain):
    datanet = make_datanet(owner=make_user("registrar"))
    make_rows(datanet, 3, prefix="first")
    first = version_publish(datanet=datanet)
    make_rows(datanet, 2, prefix="second")
    second = version_publish(datanet=datanet)

    assert registrations_sync(client=chain) == 2
    assert registrations_sync(client=chain) == 0

    on_chain_id = record_id("datanet", datanet.pk)
    for version in (first, second):
        record = chain.datanet_version(on_chain_id, version.number)
        assert "0x" + record.rows_root.hex() == version.merkle_root
        assert record.row_count == version.row_count
    assert chain.datanet(on_chain_id).owner == datanet.owner.wallet_address


def test_a_published_adapter_is_registered_citing_its_datanet_versions_and_access_policy(
    chain, client, use_tiny_base_model
):
    owner = make_user("adapter_dev")
    job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=2)
    published = model_publish_from_job(
        job=FineTuneJob.objects.get(pk=job.pk), user=owner, api_name="sums", title="Sums", access="allow_list"
    )

    registrations_sync(client=chain)

    version = job.datanet_versions.get()
    record = chain.adapter(record_id("adapter", published.engine_name))
    assert record.developer == owner.wallet_address
    assert [(ref.datanet_id, ref.version) for ref in record.datanet_versions] == [
        (record_id("datanet", version.datanet_id), version.number)
    ]
    assert ChainRegistration.objects.filter(kind="adapter", object_id=published.pk).exists()


def test_an_imported_adapter_without_a_manifest_is_registered_with_the_hash_of_its_files(
    chain, use_tiny_base_model
):
    from django.core.management import call_command

    from modelfactory.catalog.models import PublishedModel

    register_tiny(use_tiny_base_model)
    make_user("demo")
    call_command("create_random_adapters", count=2)

    assert registrations_sync(client=chain) == 2

    for published in PublishedModel.objects.filter(api_name__startswith="random-"):
        assert chain.adapter(record_id("adapter", published.engine_name)).artifact_hash != bytes(32)


def test_one_datanet_that_cannot_be_recorded_holds_up_only_its_own_later_versions(chain):
    from datanets.models import Version

    stuck, healthy = make_datanet(owner=make_user("stuck")), make_datanet(owner=make_user("healthy"))
    make_rows(stuck, 2, prefix="stuck")
    version_publish(datanet=stuck)
    Version.objects.filter(datanet=stuck).update(row_count=0)  # empty, from before those were refused
    make_rows(stuck, 1, prefix="later")
    version_publish(datanet=stuck)
    make_rows(healthy, 2, prefix="healthy")
    version_publish(datanet=healthy)

    assert registrations_sync(client=chain) == 1  # the healthy datanet's version; stuck's v2 waits for v1

    assert chain.datanet_version(record_id("datanet", healthy.pk), 1) is not None
    assert chain.datanet_version(record_id("datanet", stuck.pk), 2) is None


def test_a_version_already_on_chain_with_another_root_is_never_marked_registered(chain, caplog):
    datanet = make_datanet(owner=make_user("registrar"))
    make_rows(datanet, 2, prefix="ours")
    version = version_publish(datanet=datanet)
    datanet_id = record_id("datanet", datanet.pk)
    chain.register_datanet(datanet_id=datanet_id, owner=datanet.owner.wallet_address, name=datanet.slug)
    chain.publish_datanet_version(datanet_id=datanet_id, version=1, rows_root=b"\x01" * 32, row_count=2)

    assert registrations_sync(client=chain) == 0
    assert registrations_sync(client=chain) == 0  # still refused, still loud, on every run

    assert not ChainRegistration.objects.filter(kind="datanet_version", object_id=version.pk).exists()
    assert "is on chain with root 0x0101" in caplog.text
    assert chain.datanet_version(datanet_id, 1).rows_root == b"\x01" * 32  # never overwritten
