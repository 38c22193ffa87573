"""DatanetRegistry: datanets registered once, versions published in order by a registrar (never the owner:
the platform computes each version's rows root, and an owner's own root could differ from its record)."""

from __future__ import annotations

import pytest
from eth_account import Account

from contracts.errors import ContractReverted, NotAuthorized
from contracts.merkle_tree import bytes32_root
from contracts.records import record_id
from contracts.transactions import TransactionSender

DATANET = record_id("datanet", "medical-qa")
ROWS_ROOT = bytes32_root([bytes([n]) * 32 for n in range(1, 6)])


def register(chain, *, owner_index: int = 1, datanet_id: bytes = DATANET):
    return chain.operator.register_datanet(
        datanet_id=datanet_id, owner=chain.address(owner_index), name="Medical QA"
    )


def test_registering_a_datanet_records_its_owner_and_emits_its_name(chain):
    result = register(chain)

    record = chain.operator.datanet(DATANET)
    assert (record.owner, record.version_count) == (chain.address(1), 0)
    [event] = result.events_named("DatanetRegistered")
    assert event.args == {"datanetId": DATANET, "owner": chain.address(1), "name": "Medical QA"}


def test_an_unknown_datanet_reads_as_none(chain):
    assert chain.operator.datanet(record_id("datanet", "nope")) is None
    assert chain.operator.datanet_version(record_id("datanet", "nope"), 1) is None


def test_registering_the_same_datanet_twice_reverts(chain):
    register(chain)
    with pytest.raises(ContractReverted) as raised:
        register(chain, owner_index=2)
    assert raised.value.error == "DatanetAlreadyRegistered"
    assert chain.operator.datanet(DATANET).owner == chain.address(1)


def test_only_a_registrar_may_register_a_datanet(chain):
    with pytest.raises(NotAuthorized):
        chain.client_for(1).register_datanet(datanet_id=DATANET, owner=chain.address(1), name="Mine")
    assert chain.operator.datanet(DATANET) is None


@pytest.mark.parametrize(
    ("datanet_id", "owner", "error"), [(bytes(32), 1, "EmptyDatanetId"), (DATANET, None, "ZeroAddress")]
)
def test_a_datanet_needs_an_id_and_an_owner(chain, datanet_id, owner, error):
    owner_address = chain.address(owner) if owner is not None else "0x" + "00" * 20
    with pytest.raises(ContractReverted) as raised:
        chain.operator.register_datanet(datanet_id=datanet_id, owner=owner_address, name="x")
    assert raised.value.error == error


def test_publishing_versions_in_order_records_each_root_and_row_count(chain):
    register(chain)
    first = chain.operator.publish_datanet_version(
        datanet_id=DATANET, version=1, rows_root=ROWS_ROOT, row_count=5
    )
    second_root = bytes32_root([bytes([n]) * 32 for n in range(1, 8)])
    chain.operator.publish_datanet_version(datanet_id=DATANET, version=2, rows_root=second_root, row_count=7)

    assert chain.operator.datanet(DATANET).version_count == 2
    assert chain.operator.datanet_version(DATANET, 1).rows_root == ROWS_ROOT
    assert (
        chain.operator.datanet_version(DATANET, 2).row_count,
        chain.operator.datanet_version(DATANET, 3),
    ) == (7, None)
    [event] = first.events_named("DatanetVersionPublished")
    assert event.args == {
        "datanetId": DATANET,
        "version": 1,
        "rowsRoot": ROWS_ROOT,
        "rowCount": 5,
        "publisher": chain.operator_address,
    }


def test_the_datanet_owner_cannot_publish_a_version_only_a_registrar_can(chain):
    register(chain, owner_index=1)
    with pytest.raises(NotAuthorized) as raised:
        chain.client_for(1).publish_datanet_version(
            datanet_id=DATANET, version=1, rows_root=ROWS_ROOT, row_count=5
        )
    assert raised.value.error == "AccessControlUnauthorizedAccount"
    assert raised.value.arguments["account"] == chain.address(1)
    assert chain.operator.datanet(DATANET).version_count == 0


def test_a_stranger_cannot_publish_a_version_of_someone_elses_datanet(chain):
    register(chain, owner_index=1)
    with pytest.raises(NotAuthorized) as raised:
        chain.client_for(2).publish_datanet_version(
            datanet_id=DATANET, version=1, rows_root=ROWS_ROOT, row_count=5
        )
    assert raised.value.error == "AccessControlUnauthorizedAccount"
    assert raised.value.arguments["account"] == chain.address(2)


@pytest.mark.parametrize("version", [0, 2])
def test_a_version_out_of_order_reverts_and_names_the_next_one(chain, version):
    register(chain)
    with pytest.raises(ContractReverted) as raised:
        chain.operator.publish_datanet_version(
            datanet_id=DATANET, version=version, rows_root=ROWS_ROOT, row_count=5
        )
    assert raised.value.error == "VersionOutOfOrder"
    assert raised.value.arguments == {"datanetId": DATANET, "expected": 1, "given": version}


def test_republishing_a_version_after_a_crash_reverts_instead_of_duplicating_it(chain):
    register(chain)
    chain.operator.publish_datanet_version(datanet_id=DATANET, version=1, rows_root=ROWS_ROOT, row_count=5)
    with pytest.raises(ContractReverted) as raised:
        chain.operator.publish_datanet_version(
            datanet_id=DATANET, version=1, rows_root=ROWS_ROOT, row_count=5
        )
    assert raised.value.error == "VersionOutOfOrder"
    assert chain.operator.datanet(DATANET).version_count == 1


@pytest.mark.parametrize(("rows_root", "row_count"), [(bytes(32), 5), (ROWS_ROOT, 0)])
def test_an_empty_version_reverts(chain, rows_root, row_count):
    register(chain)
    with pytest.raises(ContractReverted) as raised:
        chain.operator.publish_datanet_version(
            datanet_id=DATANET, version=1, rows_root=rows_root, row_count=row_count
        )
    assert raised.value.error == "EmptyVersion"


def test_publishing_to_an_unknown_datanet_reverts(chain):
    with pytest.raises(ContractReverted) as raised:
        chain.operator.publish_datanet_version(
            datanet_id=DATANET, version=1, rows_root=ROWS_ROOT, row_count=5
        )
    assert raised.value.error == "UnknownDatanet"


def test_the_admin_can_appoint_another_registrar(chain):
    registry = chain.operator.contract("DatanetRegistry")
    sender = TransactionSender(chain.web3, Account.from_key(chain.keys[0]), rpc_url="in-process")
    role = registry.functions.REGISTRAR_ROLE().call()
    result = sender.send(registry.functions.grantRole(role, chain.address(3)), contract="DatanetRegistry")

    assert result["status"] == 1
    chain.client_for(3).register_datanet(datanet_id=DATANET, owner=chain.address(1), name="by registrar 3")
    assert chain.operator.datanet(DATANET).owner == chain.address(1)
