"""ModelRegistry: adapters registered with provenance that exists, and access that follows their policy."""

from __future__ import annotations

import pytest

from contracts.errors import ContractReverted, NotAuthorized
from contracts.records import AccessPolicy, DatanetVersionRef, record_id

DATANET = record_id("datanet", "medical-qa")
ADAPTER = record_id("adapter", "medical-qa-lora-1")
ARTIFACT_HASH = bytes.fromhex("ab" * 32)


@pytest.fixture
def published_datanet(chain):
    chain.operator.register_datanet(datanet_id=DATANET, owner=chain.address(1), name="Medical QA")
    chain.operator.publish_datanet_version(
        datanet_id=DATANET, version=1, rows_root=b"\x01" * 32, row_count=10
    )
    chain.operator.publish_datanet_version(
        datanet_id=DATANET, version=2, rows_root=b"\x02" * 32, row_count=20
    )
    return chain


def register(chain, *, policy=AccessPolicy.ALLOW_LIST, versions=(1, 2), artifact_hash=ARTIFACT_HASH):
    return chain.operator.register_adapter(
        adapter_id=ADAPTER,
        developer=chain.address(2),
        base_model="tiny-llama-demo",
        datanet_versions=[DatanetVersionRef(DATANET, v) for v in versions],
        artifact_hash=artifact_hash,
        policy=policy,
    )


def test_registering_an_adapter_records_its_provenance_and_emits_it(published_datanet):
    chain = published_datanet
    result = register(chain)

    record = chain.operator.adapter(ADAPTER)
    assert (record.developer, record.base_model, record.artifact_hash) == (
        chain.address(2),
        "tiny-llama-demo",
        ARTIFACT_HASH,
    )
    assert record.policy is AccessPolicy.ALLOW_LIST
    assert record.datanet_versions == (DatanetVersionRef(DATANET, 1), DatanetVersionRef(DATANET, 2))
    [event] = result.events_named("AdapterRegistered")
    assert event.args == {
        "adapterId": ADAPTER,
        "developer": chain.address(2),
        "baseModel": "tiny-llama-demo",
        "artifactHash": ARTIFACT_HASH,
        "policy": int(AccessPolicy.ALLOW_LIST),
        "datanetVersions": ({"datanetId": DATANET, "version": 1}, {"datanetId": DATANET, "version": 2}),
    }


def test_an_adapter_cannot_claim_training_data_that_was_never_published(published_datanet):
    with pytest.raises(ContractReverted) as raised:
        register(published_datanet, versions=(3,))
    assert raised.value.error == "UnknownDatanetVersion"
    assert raised.value.arguments == {"datanetId": DATANET, "version": 3}
    assert published_datanet.operator.adapter(ADAPTER) is None


def test_registering_the_same_adapter_twice_reverts(published_datanet):
    register(published_datanet)
    with pytest.raises(ContractReverted) as raised:
        register(published_datanet, policy=AccessPolicy.PUBLIC)
    assert raised.value.error == "AdapterAlreadyRegistered"


def test_an_adapter_needs_the_hash_of_its_weights(published_datanet):
    with pytest.raises(ContractReverted) as raised:
        register(published_datanet, artifact_hash=bytes(32))
    assert raised.value.error == "EmptyArtifactHash"


def test_only_a_registrar_may_register_an_adapter(published_datanet):
    chain = published_datanet
    with pytest.raises(NotAuthorized):
        chain.client_for(2).register_adapter(
            adapter_id=ADAPTER,
            developer=chain.address(2),
            base_model="x",
            datanet_versions=[],
            artifact_hash=ARTIFACT_HASH,
            policy=AccessPolicy.PUBLIC,
        )


@pytest.mark.parametrize("policy", [AccessPolicy.PUBLIC, AccessPolicy.PAY_PER_USE])
def test_public_and_pay_per_use_adapters_are_usable_by_anyone(published_datanet, policy):
    register(published_datanet, policy=policy)
    assert published_datanet.operator.can_use(ADAPTER, published_datanet.address(7))


def test_an_allow_listed_adapter_is_usable_by_its_developer_and_granted_accounts_only(published_datanet):
    chain = published_datanet
    register(chain)
    assert chain.operator.can_use(ADAPTER, chain.address(2))
    assert not chain.operator.can_use(ADAPTER, chain.address(7))

    granted = chain.operator.grant_access(adapter_id=ADAPTER, account=chain.address(7))
    assert chain.operator.can_use(ADAPTER, chain.address(7))
    revoked = chain.operator.revoke_access(adapter_id=ADAPTER, account=chain.address(7))
    assert not chain.operator.can_use(ADAPTER, chain.address(7))

    [grant_event] = granted.events_named("AccessGranted")
    [revoke_event] = revoked.events_named("AccessRevoked")
    expected = {"adapterId": ADAPTER, "account": chain.address(7), "by": chain.operator_address}
    assert grant_event.args == revoke_event.args == expected


def test_granting_twice_is_harmless_and_emits_once(published_datanet):
    chain = published_datanet
    register(chain)
    chain.operator.grant_access(adapter_id=ADAPTER, account=chain.address(7))
    again = chain.operator.grant_access(adapter_id=ADAPTER, account=chain.address(7))
    assert again.events == ()
    assert chain.operator.revoke_access(adapter_id=ADAPTER, account=chain.address(8)).events == ()


def test_the_developer_manages_access_to_their_own_adapter(published_datanet):
    chain = published_datanet
    register(chain)
    developer = chain.client_for(2)
    developer.grant_access(adapter_id=ADAPTER, account=chain.address(7))
    result = developer.set_access_policy(adapter_id=ADAPTER, policy=AccessPolicy.PUBLIC)

    assert chain.operator.adapter(ADAPTER).policy is AccessPolicy.PUBLIC
    [event] = result.events_named("AccessPolicyChanged")
    assert event.args == {"adapterId": ADAPTER, "policy": int(AccessPolicy.PUBLIC), "by": chain.address(2)}


def test_grants_survive_a_switch_to_public_and_back(published_datanet):
    chain = published_datanet
    register(chain)
    chain.operator.grant_access(adapter_id=ADAPTER, account=chain.address(7))
    chain.operator.set_access_policy(adapter_id=ADAPTER, policy=AccessPolicy.PUBLIC)
    chain.operator.set_access_policy(adapter_id=ADAPTER, policy=AccessPolicy.ALLOW_LIST)
    assert chain.operator.can_use(ADAPTER, chain.address(7))
    assert not chain.operator.can_use(ADAPTER, chain.address(8))


@pytest.mark.parametrize("action", ["grant", "revoke", "policy"])
def test_a_stranger_cannot_change_who_may_use_an_adapter(published_datanet, action):
    chain = published_datanet
    register(chain)
    stranger = chain.client_for(5)
    attempt = {
        "grant": lambda: stranger.grant_access(adapter_id=ADAPTER, account=chain.address(5)),
        "revoke": lambda: stranger.revoke_access(adapter_id=ADAPTER, account=chain.address(2)),
        "policy": lambda: stranger.set_access_policy(adapter_id=ADAPTER, policy=AccessPolicy.PUBLIC),
    }[action]

    with pytest.raises(NotAuthorized) as raised:
        attempt()

    assert raised.value.error == "NotAdapterDeveloperOrRegistrar"
    assert not chain.operator.can_use(ADAPTER, chain.address(5))


def test_an_unknown_adapter_is_usable_by_nobody_and_cannot_be_granted(chain):
    assert chain.operator.adapter(ADAPTER) is None
    assert not chain.operator.can_use(ADAPTER, chain.address(2))
    with pytest.raises(ContractReverted) as raised:
        chain.operator.grant_access(adapter_id=ADAPTER, account=chain.address(2))
    assert raised.value.error == "UnknownAdapter"
