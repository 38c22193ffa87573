"""Merkle roots over a version's row hashes: the very tree the chain's DatanetRegistry records.

One implementation serves both sides: OpenZeppelin's StandardMerkleTree over `bytes32` leaves
(`contracts.merkle_tree`), so a contributor holding a row can prove its membership with
`MerkleProof.verify` against the root on chain. Hashes travel here as 0x-hex strings, as the
database stores them. The empty version's root is 32 zero bytes (no tree can be built from nothing).
"""

from __future__ import annotations

from contracts.merkle_tree import StandardMerkleTree, leaf_hash, process_proof

EMPTY_ROOT = "0x" + "00" * 32
LEAF_TYPES = ("bytes32",)


def _bytes(hex_hash: str) -> bytes:
    return bytes.fromhex(hex_hash.removeprefix("0x"))


def _tree(leaf_hashes: list[str]) -> StandardMerkleTree:
    return StandardMerkleTree([(_bytes(h),) for h in leaf_hashes], LEAF_TYPES)


def merkle_root(leaf_hashes: list[str]) -> str:
    if not leaf_hashes:
        return EMPTY_ROOT
    return "0x" + _tree(leaf_hashes).root.hex()


def merkle_proof(leaf_hashes: list[str], leaf: str) -> list[str]:
    """The sibling path from `leaf` to the root, for MerkleProof.verify on chain."""
    return ["0x" + node.hex() for node in _tree(leaf_hashes).proof((_bytes(leaf),))]


def verify_proof(proof: list[str], root: str, leaf: str) -> bool:
    computed = process_proof(leaf_hash(LEAF_TYPES, (_bytes(leaf),)), [_bytes(node) for node in proof])
    return "0x" + computed.hex() == root
