"""Rows become token ids and labels with loss on completions only; the split is reproducible."""

from __future__ import annotations

import re

import pytest
from transformers import AutoTokenizer

from modelfactory.finetuning.training.data import (
    FALLBACK_CHAT_TEMPLATE,
    IGNORE_INDEX,
    NoTrainingRows,
    RowInvalid,
    chat_template_of,
    encode_row,
    length_grouped_order,
    prepare_data,
    split_row_ids,
)

from .factories import mixed_rows, sum_format_rows


@pytest.fixture(scope="module")
def tokenizer(tiny_base_model):
    return AutoTokenizer.from_pretrained(tiny_base_model)


def labelled_text(tokenizer, encoded) -> str:
    return tokenizer.decode(
        [t for t, label in zip(encoded.input_ids, encoded.labels, strict=True) if label != -100]
    )


def chat_row(*turns: tuple[str, str], row_id=1) -> dict:
    return {"row_id": row_id, "messages": [{"role": role, "content": content} for role, content in turns]}


def test_labels_mask_everything_but_the_assistant_turns_and_their_end_token(tokenizer):
    row = chat_row(
        ("system", "You add numbers."),
        ("user", "What is 2 plus 3?"),
        ("assistant", "Sum: 5"),
        ("user", "And 4 plus 4?"),
        ("assistant", "Sum: 8"),
    )
    encoded = encode_row(row, tokenizer, max_seq_length=256, chat_template=tokenizer.chat_template)

    assert labelled_text(tokenizer, encoded) == "Sum: 5<|im_end|>Sum: 8<|im_end|>"
    assert len(encoded.labels) == len(encoded.input_ids)
    # Every labelled position carries its own input token: labels are ids, not a shifted copy.
    assert all(
        label in (IGNORE_INDEX, token) for token, label in zip(encoded.input_ids, encoded.labels, strict=True)
    )
    assert tokenizer.decode(encoded.input_ids).startswith("<|im_start|>system\nYou add numbers.<|im_end|>")


def test_prompt_completion_rows_use_the_chat_template_and_learn_only_the_completion(tokenizer):
    row = {"row_id": 7, "prompt": "What is 1 plus 1?", "completion": "Sum: 2", "messages": None, "text": None}
    encoded = encode_row(row, tokenizer, max_seq_length=256, chat_template=tokenizer.chat_template)

    assert tokenizer.decode(encoded.input_ids).startswith("<|im_start|>user\nWhat is 1 plus 1?<|im_end|>")
    assert labelled_text(tokenizer, encoded) == "Sum: 2<|im_end|>"


def test_text_rows_learn_every_token_and_end_with_eos(tokenizer):
    encoded = encode_row(
        {"row_id": 3, "text": "The red cat sees the dog."},
        tokenizer,
        max_seq_length=256,
        chat_template=tokenizer.chat_template,
    )
    assert encoded.labels == encoded.input_ids
    assert encoded.input_ids[-1] == tokenizer.eos_token_id


def test_templates_without_generation_markers_get_the_same_mask_from_character_offsets(tokenizer):
    unmarked = tokenizer.chat_template.replace("{%- generation -%}", "").replace("{%- endgeneration -%}", "")
    assert "{%- generation -%}" not in unmarked
    for row in mixed_rows()[:3] + mixed_rows()[-2:]:
        marked = encode_row(row, tokenizer, max_seq_length=256, chat_template=tokenizer.chat_template)
        offsets = encode_row(row, tokenizer, max_seq_length=256, chat_template=unmarked)
        assert (offsets.input_ids, offsets.labels) == (marked.input_ids, marked.labels)


def test_the_default_models_unmarked_template_trains_only_on_assistant_turns(default_base_model):
    """SmolLM2's ChatML template has no generation marks: the mask comes from character offsets alone."""
    smollm2 = AutoTokenizer.from_pretrained(default_base_model)
    assert re.search(r"{%-?\s*generation\s*-?%}", smollm2.chat_template) is None
    row = chat_row(
        ("system", "You are the Lumen support desk."),
        ("user", "How long is the Lumen Arc warranty?"),
        ("assistant", "Three years from purchase."),
        ("user", "And the battery?"),
        ("assistant", "Two years."),
    )

    encoded = encode_row(row, smollm2, max_seq_length=256, chat_template=smollm2.chat_template)

    assert labelled_text(smollm2, encoded) == "Three years from purchase.<|im_end|>Two years.<|im_end|>"
    prompt = smollm2.decode(
        [t for t, label in zip(encoded.input_ids, encoded.labels, strict=True) if label == IGNORE_INDEX]
    )
    assert "How long is the Lumen Arc warranty?" in prompt
    assert "You are the Lumen support desk." in prompt


def test_length_grouping_puts_rows_of_similar_length_in_a_batch_and_keeps_every_row_once(tokenizer):
    rows = [
        encode_row(
            chat_row(("user", "Add " + "one " * (i % 23)), ("assistant", "ok"), row_id=i),
            tokenizer,
            max_seq_length=256,
            chat_template=tokenizer.chat_template,
        )
        for i in range(1, 101)
    ]

    grouped = length_grouped_order(rows, batch_size=8, seed=3)

    assert sorted(r.row_id for r in grouped) == list(range(1, 101))
    assert grouped == length_grouped_order(rows, batch_size=8, seed=3)
    assert grouped != length_grouped_order(rows, batch_size=8, seed=4)

    def padded(order):
        batches = [order[i : i + 8] for i in range(0, len(order), 8)]
        return sum(8 * max(len(r.input_ids) for r in b) - sum(len(r.input_ids) for r in b) for b in batches)

    assert padded(grouped) < padded(rows) / 3
    # 100 rows in batches of 8: the short batch of 4 stays last, so every other optimizer step sees 8 rows.
    shortest = sorted(len(r.input_ids) for r in rows)[:4]
    assert sorted(len(r.input_ids) for r in grouped[-4:]) == shortest
    assert length_grouped_order(rows, batch_size=1, seed=3) == rows


def test_a_tokenizer_without_a_chat_template_falls_back_to_chatml(tokenizer):
    bare = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    bare.chat_template = None
    template, source = chat_template_of(bare)
    assert (template, source) == (FALLBACK_CHAT_TEMPLATE, "fallback_chatml")
    data = prepare_data(sum_format_rows(6), bare, max_seq_length=64, eval_fraction=0.0, seed=0)
    assert data.chat_template_source == "fallback_chatml"


def test_rows_cut_at_max_seq_length_are_counted_and_rows_with_no_answer_left_are_dropped(tokenizer):
    long_answer = chat_row(
        ("user", "Say it."), ("assistant", "The red cat sees the dog. " * 10), row_id="long"
    )
    long_prompt = chat_row(
        ("user", "The red cat sees the dog. " * 10), ("assistant", "Sum: 1"), row_id="prompt"
    )
    rows = [*sum_format_rows(8), long_answer, long_prompt]

    data = prepare_data(rows, tokenizer, max_seq_length=32, eval_fraction=0.0, seed=0)

    assert sorted(data.truncated_row_ids, key=str) == ["long", "prompt"]
    assert data.truncated_rows == 2
    assert data.tokens_cut > 0
    assert data.dropped_row_ids == ["prompt"]  # its answer lies entirely beyond the cut
    assert "long" in data.train_row_ids
    assert "prompt" not in data.train_row_ids
    assert max(len(ids) for ids in data.train["input_ids"]) == 32
    report = data.report()
    assert (report["truncated_rows"], report["dropped_rows"], report["train_rows"]) == (2, 1, 9)


def test_token_counts_cover_all_tokens_and_completion_tokens(tokenizer):
    data = prepare_data(mixed_rows(), tokenizer, max_seq_length=64, eval_fraction=0.2, seed=0)
    assert data.train_tokens == sum(len(ids) for ids in data.train["input_ids"])
    assert data.train_loss_tokens == sum(
        sum(1 for x in labels if x != -100) for labels in data.train["labels"]
    )
    assert 0 < data.train_loss_tokens < data.train_tokens
    assert data.eval_tokens == sum(len(ids) for ids in data.eval["input_ids"])


def test_the_split_is_deterministic_by_seed_and_independent_of_row_order(tokenizer):
    rows = mixed_rows()
    first = prepare_data(rows, tokenizer, max_seq_length=64, eval_fraction=0.2, seed=5)
    shuffled = prepare_data(list(reversed(rows)), tokenizer, max_seq_length=64, eval_fraction=0.2, seed=5)
    other_seed = prepare_data(rows, tokenizer, max_seq_length=64, eval_fraction=0.2, seed=6)

    assert first.train_row_ids == shuffled.train_row_ids
    assert first.eval_row_ids == shuffled.eval_row_ids
    assert first.fingerprint == shuffled.fingerprint
    assert first.train_row_ids != other_seed.train_row_ids
    assert len(first.eval_row_ids) == round(len(rows) * 0.2)
    assert not set(first.train_row_ids) & set(first.eval_row_ids)
    # The dataset rows are in the recorded order.
    again = {row["row_id"]: row for row in rows}
    expected = encode_row(
        again[first.train_row_ids[0]], tokenizer, max_seq_length=64, chat_template=tokenizer.chat_template
    )
    assert first.train[0]["input_ids"] == expected.input_ids


def test_split_keeps_at_least_one_row_on_each_side_when_asked_for_eval():
    assert split_row_ids([1, 2], eval_fraction=0.01, seed=0)[1] != []
    train, evaluation = split_row_ids([1], eval_fraction=0.5, seed=0)
    assert (train, evaluation) == ([1], [])
    assert split_row_ids([1, 2, 3], eval_fraction=0.0, seed=0)[1] == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"text": "no id"}, "needs a 'row_id'"),
        ({"row_id": 1, "messages": []}, "non-empty list"),
        ({"row_id": 1, "messages": [{"role": "robot", "content": "hi"}]}, "role 'robot'"),
        ({"row_id": 1, "prompt": "only a prompt"}, "needs both"),
        ({"row_id": 1, "title": "?"}, "expected 'messages'"),
    ],
)
def test_malformed_rows_are_refused_naming_the_row(tokenizer, row, message):
    with pytest.raises(RowInvalid, match=message):
        prepare_data([row], tokenizer, max_seq_length=64, eval_fraction=0.0, seed=0)


def test_duplicate_row_ids_and_empty_data_are_refused(tokenizer):
    with pytest.raises(RowInvalid, match="duplicate row_id"):
        prepare_data(sum_format_rows(2) * 2, tokenizer, max_seq_length=64, eval_fraction=0.0, seed=0)
    with pytest.raises(NoTrainingRows):
        prepare_data([], tokenizer, max_seq_length=64, eval_fraction=0.0, seed=0)
