"""The post-training evaluation on the tiny model: eval loss and ROUGE-L, base versus adapter."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from modelfactory.finetuning.training.data import chat_template_of
from modelfactory.finetuning.training.evaluation import SKIP_TEXT_ROW, TEXT_METRIC, greedy_answers
from modelfactory.finetuning.training.model_loading import load_tokenizer
from modelfactory.finetuning.training.text_metrics import rouge_l_f1
from modelfactory.finetuning.training.trainer import run_training

from .factories import mixed_rows, tiny_spec

PROMPTS = 4


def is_text_row(row_id) -> bool:
    return 1000 <= row_id < 2000  # `mixed_rows` numbers its plain-text rows from 1000


@pytest.fixture(scope="module")
def evaluated_run(tiny_base_model, tmp_path_factory):
    spec = tiny_spec(tiny_base_model, max_steps=12, eval_fraction=0.3)
    result = run_training(
        spec, mixed_rows(), tmp_path_factory.mktemp("evaluated") / "job", held_out_prompts=PROMPTS
    )
    return result, json.loads(result.manifest_path.read_text())["eval_row_ids"]


def test_evaluation_reports_rouge_l_for_base_and_adapter_on_held_out_rows(evaluated_run):
    result, eval_row_ids = evaluated_run
    evaluation = result.evaluation

    assert evaluation["metric"] == TEXT_METRIC
    assert evaluation["held_out_rows"] == len(eval_row_ids)
    assert evaluation["scored_rows"] == len(evaluation["samples"]) == PROMPTS
    assert evaluation["max_new_tokens"] > 0
    for sample in evaluation["samples"]:
        assert not is_text_row(sample["row_id"])
        assert sample["row_id"] in eval_row_ids
        assert sample["base_rouge_l"] == round(rouge_l_f1(sample["base_answer"], sample["reference"]), 4)
        assert sample["adapter_rouge_l"] == round(
            rouge_l_f1(sample["adapter_answer"], sample["reference"]), 4
        )
    for side in ("base", "adapter"):
        scores = [s[f"{side}_rouge_l"] for s in evaluation["samples"]]
        assert evaluation[f"{side}_rouge_l"] == pytest.approx(sum(scores) / len(scores), abs=1e-4)
        assert 0.0 <= evaluation[f"{side}_rouge_l"] <= 1.0
    # The loss fields the job page and the comparison page already read are still there.
    assert evaluation["adapter_eval_loss"] < evaluation["base_eval_loss"]
    assert evaluation["eval_tokens"] > 0


def test_plain_text_held_out_rows_are_left_out_of_the_text_metric_with_the_reason(evaluated_run):
    result, eval_row_ids = evaluated_run
    text_rows = [row_id for row_id in eval_row_ids if is_text_row(row_id)]

    skipped = {group["reason"]: group for group in result.evaluation["skipped"]}

    assert text_rows, "the seeded split should hold out at least one plain-text row"
    assert list(skipped) == [SKIP_TEXT_ROW]
    assert skipped[SKIP_TEXT_ROW]["rows"] == len(text_rows)
    assert skipped[SKIP_TEXT_ROW]["row_ids"] == text_rows[:5]


def test_the_manifest_keeps_the_text_metric_next_to_the_loss(evaluated_run):
    result, _ = evaluated_run
    manifest = json.loads(result.manifest_path.read_text())

    assert manifest["evaluation"]["adapter_rouge_l"] == result.evaluation["adapter_rouge_l"]
    assert (
        manifest["evaluation"]["samples"][0]["base_rouge_l"]
        == result.evaluation["samples"][0]["base_rouge_l"]
    )


def test_without_held_out_rows_there_is_nothing_to_score_and_no_mean(tiny_base_model, tmp_path):
    spec = tiny_spec(tiny_base_model, max_steps=1, eval_fraction=0.0)
    result = run_training(spec, mixed_rows(), tmp_path / "job")

    evaluation = result.evaluation
    assert (evaluation["held_out_rows"], evaluation["scored_rows"], evaluation["samples"]) == (0, 0, [])
    assert evaluation["base_rouge_l"] is None
    assert evaluation["adapter_rouge_l"] is None
    assert evaluation["base_eval_loss"] is None


def test_answers_generated_in_a_batch_match_answers_generated_one_at_a_time(tiny_base_model):
    tokenizer = load_tokenizer(str(tiny_base_model))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_base_model), dtype=torch.float32).eval()
    template, _ = chat_template_of(tokenizer)
    prompts = [
        [{"role": "user", "content": "What is 2 plus 3?"}],
        [{"role": "user", "content": "Tell me a long story about the sea and the ships on it, please."}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    ]

    batched = greedy_answers(
        model, tokenizer, prompts, chat_template=template, max_new_tokens=12, batch_size=3
    )
    alone = [
        greedy_answers(model, tokenizer, [p], chat_template=template, max_new_tokens=12)[0] for p in prompts
    ]

    assert batched == alone
    assert tokenizer.padding_side == load_tokenizer(str(tiny_base_model)).padding_side  # restored
