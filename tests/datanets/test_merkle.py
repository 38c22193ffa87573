from __future__ import annotations

from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from datanets.merkle import EMPTY_ROOT, merkle_proof, merkle_root, verify_proof

leaf_hashes = st.lists(
    st.binary(min_size=1, max_size=8).map(lambda b: "0x" + keccak(b).hex()),
    min_size=1,
    max_size=40,
    unique=True,
)


def test_root_of_nothing_is_32_zero_bytes():
    assert merkle_root([]) == EMPTY_ROOT


def test_root_of_one_row_is_its_double_hashed_leaf_as_openzeppelin_computes_it():
    from contracts.merkle_tree import leaf_hash

    row = keccak(b"row")
    assert merkle_root(["0x" + row.hex()]) == "0x" + leaf_hash(("bytes32",), (row,)).hex()


def test_a_version_root_is_the_root_the_chain_registry_is_given():
    from contracts.merkle_tree import bytes32_root

    rows = [keccak(bytes([i])) for i in range(7)]
    assert merkle_root(["0x" + r.hex() for r in rows]) == "0x" + bytes32_root(rows).hex()


@given(leaf_hashes)
def test_every_leaf_proves_its_membership_against_the_root(leaves):
    root = merkle_root(leaves)
    for leaf in leaves:
        assert verify_proof(merkle_proof(leaves, leaf), root, leaf)


@given(leaf_hashes)
def test_root_does_not_depend_on_row_order(leaves):
    assert merkle_root(leaves) == merkle_root(list(reversed(leaves)))


@given(leaf_hashes, st.binary(min_size=9, max_size=12))
def test_a_row_outside_the_version_cannot_prove_membership(leaves, outsider):
    stranger = "0x" + keccak(outsider).hex()
    root = merkle_root(leaves)
    assert not verify_proof(merkle_proof(leaves, leaves[0]), root, stranger)
