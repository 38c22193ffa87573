"""OpenZeppelin's StandardMerkleTree in Python, so that `MerkleProof.verify` accepts our proofs.

Mirrors @openzeppelin/merkle-tree (v1) exactly, because the contracts and any third-party verifier use
that library's conventions:
- a leaf is keccak256(keccak256(abi.encode(...values))): hashed twice, so that a 64-byte inner node can
  never be passed off as a leaf (a second-preimage attack on single-hashed trees);
- leaves are sorted by hash, inner nodes hash the sorted pair, so a proof needs no left/right flags;
- the tree is a complete binary tree stored in one array: leaves fill the end in reverse order,
  node i has children 2i+1 and 2i+2, the root is node 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import encode
from eth_utils import keccak


class MerkleTreeError(ValueError):
    """The tree cannot be built or the value is not in it."""


def leaf_hash(leaf_types: Sequence[str], values: Sequence[Any]) -> bytes:
    return keccak(keccak(encode(list(leaf_types), list(values))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from `leaf`; what OpenZeppelin's `MerkleProof.processProof` computes."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


class StandardMerkleTree:
    """A tree over `values`, each a tuple encoded with `leaf_types` (e.g. ("address", "uint256"))."""

    def __init__(self, values: Sequence[Sequence[Any]], leaf_types: Sequence[str]) -> None:
        if not values:
            raise MerkleTreeError("a Merkle tree needs at least one value")
        self.leaf_types = tuple(leaf_types)
        self.values = [tuple(v) for v in values]
        hashed = sorted(
            ((leaf_hash(self.leaf_types, value), index) for index, value in enumerate(self.values)),
        )
        count = len(hashed)
        self._tree: list[bytes] = [b""] * (2 * count - 1)
        self._tree_index_of_value: dict[int, int] = {}
        for position, (hash_, value_index) in enumerate(hashed):
            tree_index = len(self._tree) - 1 - position
            self._tree[tree_index] = hash_
            self._tree_index_of_value[value_index] = tree_index
        for i in range(len(self._tree) - 1 - count, -1, -1):
            self._tree[i] = hash_pair(self._tree[2 * i + 1], self._tree[2 * i + 2])

    @property
    def root(self) -> bytes:
        return self._tree[0]

    def proof_at(self, value_index: int) -> list[bytes]:
        """The sibling hashes from the value's leaf up to (not including) the root."""
        index = self._tree_index_of_value[value_index]
        proof = []
        while index > 0:
            sibling = index - 1 if index % 2 == 0 else index + 1
            proof.append(self._tree[sibling])
            index = (index - 1) // 2
        return proof

    def proof(self, value: Sequence[Any]) -> list[bytes]:
        wanted = tuple(value)
        for index, candidate in enumerate(self.values):
            if candidate == wanted:
                return self.proof_at(index)
        raise MerkleTreeError(f"{wanted!r} is not a value of this tree")

    def verify(self, value: Sequence[Any], proof: Sequence[bytes]) -> bool:
        return process_proof(leaf_hash(self.leaf_types, value), proof) == self.root


def bytes32_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a StandardMerkleTree over 32-byte hashes (leaf type "bytes32").

    Used for a datanet version's row hashes and an epoch's receipt hashes: anyone holding the rows
    (receipts) can rebuild it and compare with the root on chain.
    """
    for h in hashes:
        if len(h) != 32:
            raise MerkleTreeError(f"expected 32-byte hashes, got {len(h)} bytes")
    return StandardMerkleTree([(h,) for h in hashes], ("bytes32",)).root
