"""The demo architecture is a standard small Llama that PEFT and the rest of the stack accept."""

from __future__ import annotations

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaForCausalLM

from modelfactory.demo_model.architecture import demo_config, tiny_config
from modelfactory.demo_model.tokenizer import train_bpe_tokenizer
from tests.support.tiny_corpus import synthetic_texts


def _lora(model):
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def test_peft_lora_attaches_to_the_demo_architecture(tiny_build):
    output_dir, _ = tiny_build
    peft_model = _lora(AutoModelForCausalLM.from_pretrained(output_dir))

    trainable = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable
    assert all("lora_" in name for name in trainable)
    assert any("q_proj" in name for name in trainable)
    assert any("v_proj" in name for name in trainable)

    batch = torch.randint(3, peft_model.config.vocab_size, (2, 16))
    peft_model(input_ids=batch, labels=batch).loss.backward()
    assert all(p.grad is not None for name, p in peft_model.named_parameters() if name in trainable)

    # The full-size demo shape too (no training needed to check that the modules are found).
    tokenizer = train_bpe_tokenizer(synthetic_texts(50), vocab_size=300)
    demo = _lora(LlamaForCausalLM(demo_config(tokenizer)))
    trainable_count, total_count = demo.get_nb_trainable_parameters()
    assert 0 < trainable_count < total_count / 20


def test_demo_size_has_a_few_million_parameters_and_tiny_far_fewer():
    tokenizer = train_bpe_tokenizer(synthetic_texts(50), vocab_size=300)
    demo = demo_config(tokenizer)
    demo.vocab_size = 4096  # what the demo vocabulary reaches on the seed corpus

    demo_parameters = LlamaForCausalLM(demo).num_parameters()
    tiny_parameters = LlamaForCausalLM(tiny_config(tokenizer)).num_parameters()

    assert 2_000_000 < demo_parameters < 10_000_000
    assert tiny_parameters < 100_000
    assert demo.tie_word_embeddings
    assert demo.max_position_embeddings == 512
    assert (demo.eos_token_id, demo.pad_token_id) == (tokenizer.eos_token_id, tokenizer.pad_token_id)
