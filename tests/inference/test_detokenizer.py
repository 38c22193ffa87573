"""Streaming text is decoded a few tokens at a time, and adds up to exactly what the tokens say."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from inference.detokenizer import REPLACEMENT, incremental_text
from inference.scheduler import Sequence

TEXTS = [
    "Plain words, punctuation; and numbers 12345.",
    "Accents: héllo wörld, naïve café — and an emoji 🙂 then CJK 漢字 at the end",
    "  leading spaces\nnew lines\n\n and tabs\tinside",
]


@pytest.fixture(scope="module")
def tokenizer(tiny_base_model):
    return AutoTokenizer.from_pretrained(tiny_base_model)


def stream(tokenizer, token_ids: list[int], prompt: list[int]) -> list[str]:
    sequence = Sequence(
        handle=None, token_ids=list(prompt), prompt_len=len(prompt), adapter_name=None, generator=None
    )
    deltas = []
    for index, token in enumerate(token_ids):
        sequence.token_ids.append(token)
        deltas.append(incremental_text(tokenizer, sequence, flush=index == len(token_ids) - 1))
    return deltas


@pytest.mark.parametrize("text", TEXTS)
def test_the_streamed_pieces_add_up_to_the_whole_decode_and_never_show_half_a_character(tokenizer, text):
    token_ids = tokenizer(text, add_special_tokens=False)["input_ids"]

    deltas = stream(tokenizer, token_ids, prompt=tokenizer("Hi", add_special_tokens=False)["input_ids"])

    assert "".join(deltas) == tokenizer.decode(token_ids, skip_special_tokens=True)
    assert not any(REPLACEMENT in delta for delta in deltas)


def test_a_character_cut_by_the_end_of_the_answer_is_given_out_as_it_is(tokenizer):
    token_ids = tokenizer("ok 🙂", add_special_tokens=False)["input_ids"]
    cut = next(n for n in range(1, len(token_ids)) if tokenizer.decode(token_ids[:n]).endswith(REPLACEMENT))

    deltas = stream(tokenizer, token_ids[:cut], prompt=[])

    assert "".join(deltas) == tokenizer.decode(token_ids[:cut])
