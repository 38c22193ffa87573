"""On the real default model (SmolLM2-135M-Instruct: grouped-query attention with 9 query and 3 KV heads,
tied embeddings, 30 layers) a mixed batch of adapters gives PEFT's logits and greedy tokens."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from inference.engine import Engine
from inference.request import Request
from inference.sampling import SamplingParams
from tests.inference.factories import ATTENTION, MLP, AdapterSpec, reference_logits, save_peft_adapters

TOLERANCE = 1e-4

ADAPTERS = [
    AdapterSpec("qv-r8", 8, ["q_proj", "v_proj"]),
    AdapterSpec("all-r16", 16, ATTENTION + MLP),
    AdapterSpec("kv-mlp-r4", 4, ["k_proj", "v_proj", *MLP], alpha=16),
]

QUESTIONS = [
    "What is the capital of France?",
    "How do I boil an egg?",
    "Name three colours.",
    "What is a datanet?",
    "Write one sentence about the sea.",
    "How many legs does a spider have?",
]


@pytest.fixture(scope="module")
def smollm2(default_base_model):
    model = AutoModelForCausalLM.from_pretrained(default_base_model, dtype=torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(default_base_model)


def test_the_default_model_has_the_shape_these_tests_are_about(smollm2):
    model, _ = smollm2
    config = model.config
    assert (config.num_hidden_layers, config.num_attention_heads, config.num_key_value_heads) == (30, 9, 3)
    assert config.tie_word_embeddings
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def test_a_mixed_batch_on_the_default_model_matches_peft_logits_and_greedy_tokens(smollm2, tmp_path):
    model, tokenizer = smollm2
    adapters = save_peft_adapters(model, ADAPTERS, tmp_path, b_std=0.02)
    engine = Engine(model, tokenizer=tokenizer, kv_cache_bytes=64 << 20, block_size=16)
    names = [None, *[spec.name for spec in ADAPTERS]]
    try:
        for spec in ADAPTERS:
            engine.register_adapter(spec.name, adapters.paths[spec.name])
        submitted = []
        for index, question in enumerate(QUESTIONS):
            encoded = tokenizer.apply_chat_template(
                [{"role": "user", "content": question}], add_generation_prompt=True, return_dict=True
            )
            prompt = list(encoded["input_ids"])
            adapter = names[index % len(names)]
            request = Request(
                prompt_token_ids=prompt,
                adapter=adapter,
                sampling=SamplingParams(max_tokens=5, ignore_eos=True),
                keep_logits=True,
            )
            submitted.append((prompt, adapter, engine.submit(request)))
        engine.run_until_idle()
    finally:
        engine.close()

    for prompt, adapter, handle in submitted:
        completion = handle.result(timeout=0)
        full = prompt + completion.token_ids
        expected = reference_logits(adapters, adapter, full)[len(prompt) - 1 : len(full) - 1]
        got = torch.stack(completion.logits)
        assert completion.token_ids == expected.argmax(-1).tolist(), f"greedy tokens differ for {adapter}"
        assert (got - expected).abs().max().item() < TOLERANCE, f"logits differ for {adapter}"
    # The adapters really change the answers: otherwise matching PEFT would prove little.
    base_logits = reference_logits(adapters, None, submitted[1][0])
    adapted = reference_logits(adapters, submitted[1][1], submitted[1][0])
    assert (base_logits - adapted).abs().max().item() > 0.1
