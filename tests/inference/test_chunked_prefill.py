"""Chunked prefill: a prompt longer than the step's prefill budget is computed over several steps while the
running streams keep decoding, and the answers, logits and prompt logprobs are those of the whole prompt
computed at once."""

from __future__ import annotations

import pytest
import torch

from inference.engine import Engine
from inference.request import Request
from inference.sampling import SamplingParams
from tests.inference.conftest import LLAMA_ADAPTERS, random_prompt
from tests.inference.factories import reference_logits, tiny_llama

SAME = 1e-5
PEFT = 1e-4
NAMES = [None, "qv-r4", "all-r16", "ko-r32", "all-r64-rslora", "mlp-r8", "gate-down-r12"]


def _engine(adapters, chunk: int | None, **options) -> Engine:
    options = {"kv_cache_bytes": 4 << 20, "block_size": 8, **options}
    engine = Engine(tiny_llama(seed=0), max_prefill_tokens_per_step=chunk, **options)
    for spec in LLAMA_ADAPTERS:
        engine.register_adapter(spec.name, adapters.paths[spec.name])
    return engine


def _submit_all(engine: Engine, seed: int, count: int = 10, **sampling) -> list:
    generator = torch.Generator().manual_seed(seed)
    submitted = []
    for index in range(count):
        prompt = random_prompt(generator, low=1, high=70)
        params = SamplingParams(**{"max_tokens": 4, "ignore_eos": True, **sampling})
        name = NAMES[index % len(NAMES)]
        request = Request(prompt_token_ids=prompt, adapter=name, sampling=params, keep_logits=True)
        submitted.append((prompt, name, engine.submit(request)))
    engine.run_until_idle()
    return [(prompt, name, handle.result(timeout=0)) for prompt, name, handle in submitted]


@pytest.mark.parametrize("chunk", [3, 8, 13, 64])  # smaller than a block, one block, unaligned, larger
def test_chunked_and_whole_prompts_give_the_same_answers_and_logits(llama_adapters, chunk):
    with _engine(llama_adapters, None) as whole, _engine(llama_adapters, chunk) as chunked:
        expected = _submit_all(whole, seed=chunk)
        got = _submit_all(chunked, seed=chunk)

    for (prompt, name, mine), (_, _, theirs) in zip(got, expected, strict=True):
        assert mine.token_ids == theirs.token_ids
        assert (torch.stack(mine.logits) - torch.stack(theirs.logits)).abs().max() < SAME
        full = prompt + mine.token_ids
        reference = reference_logits(llama_adapters, name, full)[len(prompt) - 1 : len(full) - 1]
        assert (torch.stack(mine.logits) - reference).abs().max() < PEFT


@pytest.mark.parametrize("prefix_caching", [False, True])
def test_prompt_logprobs_are_right_when_the_prompt_is_chunked(llama_adapters, prefix_caching):
    with _engine(llama_adapters, 5, prefix_caching=prefix_caching) as engine:
        got = _submit_all(engine, seed=30, count=8, prompt_logprobs=2)
        got += _submit_all(engine, seed=30, count=8, prompt_logprobs=2)  # again: the prompts are cached

    for prompt, name, completion in got:
        assert len(completion.prompt_logprobs) == len(completion.prompt_top_logprobs) == len(prompt)
        expected = torch.log_softmax(reference_logits(llama_adapters, name, prompt), dim=-1)
        for position in range(1, len(prompt)):
            row = expected[position - 1]
            assert abs(completion.prompt_logprobs[position] - row[prompt[position]].item()) < PEFT
            assert [t for t, _ in completion.prompt_top_logprobs[position]] == row.topk(2).indices.tolist()


def test_a_long_prompt_is_prefilled_in_chunks_while_the_running_streams_keep_decoding(llama_adapters):
    with _engine(llama_adapters, 16, max_batched_tokens=24) as engine:
        streams = [
            engine.submit(
                Request(prompt_token_ids=[1, 2, 3], adapter=name, sampling=SamplingParams(max_tokens=40))
            )
            for name in ("qv-r4", None)
        ]
        for _ in range(3):
            engine.step()
        steps: list[tuple[int, int]] = []  # (decode tokens, prompt tokens) of each step
        execute = engine.runner.execute

        def recording(decode, prefill):
            steps.append((len(decode), sum(s.num_scheduled for s in prefill)))
            return execute(decode, prefill)

        engine.runner.execute = recording
        long_prompt = [(5 * i + 1) % 256 for i in range(150)]
        long = engine.submit(
            Request(prompt_token_ids=long_prompt, adapter="all-r16", sampling=SamplingParams(max_tokens=3))
        )
        while not long.done():
            engine.step()
        engine.run_until_idle()

    prefilling = [step for step in steps if step[1] > 0]
    assert len(prefilling) == -(-150 // 16)  # 10 steps of at most 16 prompt tokens ...
    assert all(decodes == 2 and tokens <= 16 for decodes, tokens in prefilling)  # ... each with both streams
    assert all(len(handle.result().token_ids) == 40 for handle in streams)
    reference = reference_logits(llama_adapters, "all-r16", long_prompt)[-1]
    assert long.result().token_ids[0] == int(reference.argmax())


def test_without_chunking_a_prompt_longer_than_the_budget_is_computed_whole_in_one_step(llama_adapters):
    with _engine(llama_adapters, None, max_batched_tokens=24) as engine:
        steps: list[int] = []
        execute = engine.runner.execute

        def recording(decode, prefill):
            steps.append(sum(s.num_scheduled for s in prefill))
            return execute(decode, prefill)

        engine.runner.execute = recording
        engine.generate([[(3 * i) % 256 for i in range(100)]], sampling=SamplingParams(max_tokens=2))

    assert steps[0] == 100
