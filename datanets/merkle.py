"""Merkle roots over row hashes, compatible with OpenZeppelin's MerkleProof (sorted pairs).

Leaves are the rows' content hashes in ascending order; each parent is keccak256 of its two
children sorted, and an odd node is carried up unchanged. The empty tree's root is 32 zero bytes.
"""

from __future__ import annotations

from eth_utils import keccak

EMPTY_ROOT = "0x" + "00" * 32


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def merkle_root(leaf_hashes: list[str]) -> str:
    if not leaf_hashes:
        return EMPTY_ROOT
    level = sorted(bytes.fromhex(h.removeprefix("0x")) for h in leaf_hashes)
    while len(level) > 1:
        parents = [_hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
    return "0x" + level[0].hex()


def merkle_proof(leaf_hashes: list[str], leaf: str) -> list[str]:
    """The sibling path from `leaf` to the root, for MerkleProof.verify on chain."""
    level = sorted(bytes.fromhex(h.removeprefix("0x")) for h in leaf_hashes)
    index = level.index(bytes.fromhex(leaf.removeprefix("0x")))
    proof: list[str] = []
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append("0x" + level[sibling].hex())
        parents = [_hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
        index //= 2
    return proof


def verify_proof(proof: list[str], root: str, leaf: str) -> bool:
    computed = bytes.fromhex(leaf.removeprefix("0x"))
    for sibling in proof:
        computed = _hash_pair(computed, bytes.fromhex(sibling.removeprefix("0x")))
    return "0x" + computed.hex() == root
