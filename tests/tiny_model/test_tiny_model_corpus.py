"""The tiny model's corpus preparation: held-out hygiene, packing, cache key and learning-rate schedule."""

from __future__ import annotations

import math

import pytest
import torch

from tests.support.tiny_model.blocks import pack_into_blocks, split_documents
from tests.support.tiny_model.corpus import corpus_hash
from tests.support.tiny_model.pretrain import learning_rate_at


def test_held_out_documents_are_disjoint_from_training_documents():
    documents = [f"document {i}" for i in range(40)]

    train, held_out = split_documents(documents, held_out_fraction=0.05, seed=0)

    assert len(held_out) == 2
    assert sorted(train + held_out) == sorted(documents)
    assert not set(train) & set(held_out)
    assert split_documents(documents, held_out_fraction=0.05, seed=0) == (train, held_out)


def test_packing_cuts_the_token_stream_into_full_blocks():
    blocks = pack_into_blocks([[1, 2, 3], [4, 5], [6, 7, 8, 9]], block_size=4)
    assert torch.equal(blocks, torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]]))

    # A held-out set shorter than one block still yields one (shorter) block to evaluate on.
    assert torch.equal(pack_into_blocks([[1, 2, 3]], block_size=8), torch.tensor([[1, 2, 3]]))


def test_corpus_hash_changes_with_any_text_or_message():
    chat = [[{"role": "user", "content": "a"}]]
    base = corpus_hash(["x", "y"], chat)

    assert corpus_hash(["x", "y"], chat) == base
    assert corpus_hash(["x", "y "], chat) != base
    assert corpus_hash(["xy"], chat) != base
    assert corpus_hash(["x", "y"], [[{"role": "user", "content": "b"}]]) != base


def test_learning_rate_warms_up_then_decays_by_cosine_to_the_floor():
    def lr(step: int) -> float:
        return learning_rate_at(step, peak=1.0, warmup_steps=10, total_steps=110, min_ratio=0.1)

    assert lr(0) == pytest.approx(0.1)
    assert lr(9) == pytest.approx(1.0)
    assert lr(60) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr(110) == pytest.approx(0.1)
    assert all(lr(s) >= lr(s + 1) for s in range(10, 120))
