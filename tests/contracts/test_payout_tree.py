"""The Python payout tree is OpenZeppelin's StandardMerkleTree, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.merkle_tree import StandardMerkleTree, bytes32_root, leaf_hash
from contracts.payout_tree import InvalidPayouts, PayoutTree, payout_leaf, verify_payout

VECTORS = json.loads((Path(__file__).parent / "data" / "openzeppelin_merkle_tree_vectors.json").read_text())


@pytest.mark.parametrize("case", VECTORS["payouts"], ids=lambda case: f"{len(case['values'])} leaves")
def test_roots_and_proofs_equal_those_of_openzeppelins_javascript_library(case):
    values = [(to_checksum_address(account), int(amount)) for account, amount in case["values"]]
    tree = StandardMerkleTree(values, ("address", "uint256"))

    assert "0x" + tree.root.hex() == case["root"]
    for index, expected in enumerate(case["proofs"]):
        assert ["0x" + node.hex() for node in tree.proof_at(index)] == expected


def test_bytes32_roots_equal_openzeppelins_for_row_and_receipt_hashes():
    hashes = [bytes.fromhex(h[2:]) for h in VECTORS["bytes32"]["values"]]
    assert "0x" + bytes32_root(hashes).hex() == VECTORS["bytes32"]["root"]


def test_a_leaf_is_the_double_hash_of_the_abi_encoded_account_and_amount():
    account = "0x" + "12" * 20
    assert payout_leaf(account, 5) == keccak(keccak(encode(["address", "uint256"], [account, 5])))
    assert payout_leaf(account, 5) == leaf_hash(("address", "uint256"), (account, 5))


def test_a_single_payout_is_its_own_root_with_an_empty_proof():
    tree = PayoutTree({"0x" + "12" * 20: 5})
    payout = tree.payout("0x" + "12" * 20)
    assert (tree.root, payout.proof) == (payout_leaf(payout.account, 5), ())


def test_the_same_account_in_two_spellings_is_one_leaf_with_the_summed_amount():
    lower = "0x" + "ab" * 20
    tree = PayoutTree({lower: 3, to_checksum_address(lower): 4, "0x" + "cd" * 20: 1})
    assert tree.amounts[to_checksum_address(lower)] == 7
    assert tree.total == 8


def test_zero_payouts_are_left_out_of_the_tree():
    tree = PayoutTree({"0x" + "ab" * 20: 0, "0x" + "cd" * 20: 1})
    assert list(tree.amounts) == [to_checksum_address("0x" + "cd" * 20)]
    with pytest.raises(KeyError):
        tree.payout("0x" + "ab" * 20)


@pytest.mark.parametrize(
    "amounts",
    [{}, {"0x" + "ab" * 20: 0}, {"not an address": 1}, {"0x" + "ab" * 20: -1}, {"0x" + "ab" * 20: 2**256}],
    ids=["empty", "only zeros", "bad address", "negative", "too large"],
)
def test_payouts_that_cannot_form_a_claimable_tree_are_refused(amounts):
    with pytest.raises(InvalidPayouts):
        PayoutTree(amounts)


def test_a_tampered_amount_or_proof_does_not_verify():
    tree = PayoutTree({"0x" + f"{n:02x}" * 20: n * 10 for n in range(1, 6)})
    payout = tree.payouts()[2]
    assert verify_payout(tree.root, payout.account, payout.amount, payout.proof)
    assert not verify_payout(tree.root, payout.account, payout.amount + 1, payout.proof)
    assert not verify_payout(tree.root, payout.account, payout.amount, payout.proof[:-1])


def test_the_tree_does_not_depend_on_the_order_payouts_were_given_in():
    amounts = {"0x" + f"{n:02x}" * 20: n for n in range(1, 9)}
    assert PayoutTree(amounts).root == PayoutTree(dict(reversed(amounts.items()))).root


addresses = st.binary(min_size=20, max_size=20).map(lambda raw: to_checksum_address(raw))


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(addresses, st.integers(min_value=1, max_value=2**128), min_size=1, max_size=40))
def test_every_payout_of_any_tree_verifies_against_its_root(amounts):
    tree = PayoutTree(amounts)
    assert tree.total == sum(amounts.values())
    for payout in tree.payouts():
        assert verify_payout(tree.root, payout.account, payout.amount, payout.proof)
