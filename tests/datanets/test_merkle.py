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


def test_root_of_one_leaf_is_the_leaf():
    leaf = "0x" + keccak(b"row").hex()
    assert merkle_root([leaf]) == leaf


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
