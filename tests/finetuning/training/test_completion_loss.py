"""The loss through the LM head on labelled positions only is the model's own loss, gradients included."""

from __future__ import annotations

import copy

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from modelfactory.finetuning.training.completion_loss import completion_loss, supports_completion_head
from modelfactory.finetuning.training.data import IGNORE_INDEX


@pytest.fixture
def lora_model(tiny_base_model):
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_base_model, dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    return get_peft_model(base, config)


def padded_batch(vocab: int):
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(3, vocab, (3, 12), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 9:] = 0  # right padding, as the collator pads
    labels = input_ids.clone()
    labels[:, :5] = IGNORE_INDEX  # the prompt
    labels[attention_mask == 0] = IGNORE_INDEX
    labels[2, :] = IGNORE_INDEX  # a row with nothing left to learn
    return input_ids, attention_mask, labels


def trainable_grads(model) -> list[torch.Tensor]:
    return [p.grad.clone() for p in model.parameters() if p.requires_grad]


def test_the_completion_head_loss_and_gradients_equal_the_full_logits_loss(lora_model):
    reference = copy.deepcopy(lora_model)
    input_ids, attention_mask, labels = padded_batch(lora_model.config.vocab_size)

    expected = reference(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    expected.backward()
    loss, correct, labelled = completion_loss(lora_model, input_ids, labels, attention_mask)
    loss.backward()

    assert labelled.item() == int((labels[:, 1:] != IGNORE_INDEX).sum())
    assert 0 <= correct.item() <= labelled.item()
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)
    for got, want in zip(trainable_grads(lora_model), trainable_grads(reference), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_with_gradient_accumulation_the_loss_is_divided_by_the_whole_batchs_labelled_tokens(lora_model):
    input_ids, attention_mask, labels = padded_batch(lora_model.config.vocab_size)
    mean, _, labelled = completion_loss(lora_model, input_ids, labels, attention_mask)

    batch = 4 * labelled
    share, _, _ = completion_loss(lora_model, input_ids, labels, attention_mask, num_items_in_batch=batch)

    torch.testing.assert_close(share, mean / 4)


def test_models_that_scale_or_cap_their_logits_keep_trls_path(lora_model):
    assert supports_completion_head(lora_model)
    lora_model.get_base_model().config.final_logit_softcapping = 30.0
    assert not supports_completion_head(lora_model)
