"""The Merkle tree of one epoch's payouts: who gets how many OPEN base units, and the proofs to claim.

Leaves are (address, uint256) in OpenZeppelin's StandardMerkleTree format, exactly what
AttributionSettlement.claim verifies. One leaf per account: the settlement job sums an account's
shares over all the epoch's receipts first, because the contract pays each account once per epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eth_utils import is_address, to_checksum_address

from contracts.merkle_tree import StandardMerkleTree, leaf_hash, process_proof

LEAF_TYPES = ("address", "uint256")


class InvalidPayouts(ValueError):
    """The payouts cannot form a tree: empty, a bad address, a negative or oversized amount."""


@dataclass(frozen=True)
class Payout:
    account: str
    amount: int
    proof: tuple[bytes, ...]


class PayoutTree:
    """Build from {account: amount}; read `root`, `total` and each account's `payout(...)` with its proof.

    Accounts with a zero amount are left out (nothing to claim). Addresses are compared checksummed,
    so "0xabc..." and "0xABC..." are the same account.
    """

    def __init__(self, amounts: Mapping[str, int]) -> None:
        merged: dict[str, int] = {}
        for account, amount in amounts.items():
            if not is_address(account):
                raise InvalidPayouts(f"{account!r} is not an address")
            if not isinstance(amount, int) or amount < 0 or amount >= 2**256:
                raise InvalidPayouts(
                    f"amount for {account} must be an integer in [0, 2**256), got {amount!r}"
                )
            key = to_checksum_address(account)
            merged[key] = merged.get(key, 0) + amount
        self.amounts = {account: amount for account, amount in sorted(merged.items()) if amount > 0}
        if not self.amounts:
            raise InvalidPayouts("an epoch needs at least one non-zero payout")
        self.total = sum(self.amounts.values())
        self._index = {account: index for index, account in enumerate(self.amounts)}
        self._tree = StandardMerkleTree([(a, n) for a, n in self.amounts.items()], LEAF_TYPES)

    @property
    def root(self) -> bytes:
        return self._tree.root

    def payout(self, account: str) -> Payout:
        key = to_checksum_address(account)
        if key not in self.amounts:
            raise KeyError(f"{key} has no payout in this epoch")
        return Payout(key, self.amounts[key], tuple(self._tree.proof_at(self._index[key])))

    def payouts(self) -> list[Payout]:
        return [self.payout(account) for account in self.amounts]


def payout_leaf(account: str, amount: int) -> bytes:
    return leaf_hash(LEAF_TYPES, (to_checksum_address(account), amount))


def verify_payout(root: bytes, account: str, amount: int, proof: tuple[bytes, ...] | list[bytes]) -> bool:
    """Check a proof in Python against a root, e.g. one read from chain, without a transaction."""
    return process_proof(payout_leaf(account, amount), proof) == root
