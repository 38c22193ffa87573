"""What the chain holds, as plain frozen values: what ChainClient's reads and writes return.

Ids are 32 bytes (see `record_id`), hashes and roots are bytes, addresses are checksummed strings,
amounts are integer OPEN base units (10⁻¹⁸ OPEN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from eth_utils import keccak


def record_id(kind: str, key: str | int) -> bytes:
    """The 32-byte on-chain id of a platform record, e.g. record_id("datanet", datanet.pk).

    A hash of the platform's own key, so the platform never stores a chain-assigned id, and a
    registration re-sent after a crash hits "already registered" instead of creating a duplicate.
    """
    return keccak(text=f"modelfactory:{kind}:{key}")


class AccessPolicy(IntEnum):
    """Mirrors ModelRegistry.AccessPolicy (same order, it is a Solidity enum)."""

    PUBLIC = 0
    ALLOW_LIST = 1
    PAY_PER_USE = 2


@dataclass(frozen=True)
class ChainStatus:
    rpc_url: str
    chain_id: int
    block_number: int
    client_version: str


@dataclass(frozen=True)
class ChainEvent:
    """A decoded log of one of our contracts, e.g. ("AttributionSettlement", "Claimed", {...}).

    `tx_hash` and `block_number` say where it is: (tx_hash, log_index) names a log uniquely, which is
    what makes crediting a deposit idempotent.
    """

    contract: str
    name: str
    args: dict[str, Any]
    log_index: int
    tx_hash: str = ""
    block_number: int | None = None


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction: what the ledger explorer shows, and the events it emitted."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: tuple[ChainEvent, ...] = field(default=())

    def events_named(self, name: str) -> list[ChainEvent]:
        return [event for event in self.events if event.name == name]


@dataclass(frozen=True)
class DatanetRecord:
    datanet_id: bytes
    owner: str
    version_count: int
    registered_at: int


@dataclass(frozen=True)
class DatanetVersionRecord:
    datanet_id: bytes
    version: int
    rows_root: bytes
    row_count: int
    published_at: int


@dataclass(frozen=True)
class DatanetVersionRef:
    datanet_id: bytes
    version: int


@dataclass(frozen=True)
class AdapterRecord:
    adapter_id: bytes
    developer: str
    policy: AccessPolicy
    registered_at: int
    artifact_hash: bytes
    base_model: str
    datanet_versions: tuple[DatanetVersionRef, ...]


# PaymentVault.HELD_EARNINGS: the vault account of shares held for people with no wallet to pay yet.
HELD_EARNINGS_ACCOUNT = keccak(text="modelfactory:held-earnings")


@dataclass(frozen=True)
class Debit:
    """What one vault account is charged in an epoch: `PaymentVault.Debit` (account id, amount)."""

    account_id: bytes
    amount: int


@dataclass(frozen=True)
class VaultFunding:
    """How an epoch is paid for (`PaymentVault.Funding`): its users' charges (`debits`), less the shares it
    holds for people with no wallet yet (`held`), plus shares held by earlier epochs that it pays out
    (`released`). `total` is what the epoch's payout tree must add up to."""

    debits: tuple[Debit, ...]
    held: int = 0
    released: int = 0

    @property
    def total(self) -> int:
        return sum(debit.amount for debit in self.debits) - self.held + self.released

    def as_argument(self) -> tuple[list[tuple[bytes, int]], int, int]:
        return ([(debit.account_id, debit.amount) for debit in self.debits], self.held, self.released)


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    payout_root: bytes
    receipts_root: bytes
    total: int
    claimed: int
    receipt_count: int
    committed_at: int

    @property
    def unclaimed(self) -> int:
        return self.total - self.claimed
