"""The tiny fixture is a standard small Llama that PEFT and the rest of the stack accept."""

from __future__ import annotations

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaForCausalLM

from tests.support.tiny_corpus import synthetic_texts
from tests.support.tiny_model.architecture import tiny_config
from tests.support.tiny_model.tokenizer import train_bpe_tokenizer


def test_peft_lora_attaches_to_the_tiny_model_and_trains_only_its_adapters(tiny_build):
    output_dir, _ = tiny_build
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(output_dir), config)

    trainable = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable
    assert all("lora_" in name for name in trainable)
    assert any("q_proj" in name for name in trainable)
    assert any("v_proj" in name for name in trainable)

    batch = torch.randint(3, peft_model.config.vocab_size, (2, 16))
    peft_model(input_ids=batch, labels=batch).loss.backward()
    assert all(p.grad is not None for name, p in peft_model.named_parameters() if name in trainable)


def test_tiny_config_is_a_tied_llama_of_under_100k_parameters_with_chatml_token_roles():
    tokenizer = train_bpe_tokenizer(synthetic_texts(50), vocab_size=300)
    config = tiny_config(tokenizer)

    assert LlamaForCausalLM(config).num_parameters() < 100_000
    assert config.tie_word_embeddings
    assert (config.eos_token_id, config.pad_token_id) == (tokenizer.eos_token_id, tokenizer.pad_token_id)
