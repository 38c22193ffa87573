"""Each request's logprobs, of generated and of prompt tokens, in mixed batches: log_softmax of PEFT's
logits for the same prefix."""

from __future__ import annotations

import torch

from inference.engine import Engine
from inference.logprobs import reference_token_logprobs, token_logprobs
from inference.request import Request
from inference.sampling import SamplingParams
from tests.inference.conftest import LLAMA_ADAPTERS, random_prompt
from tests.inference.factories import reference_logits, tiny_llama

TOLERANCE = 1e-4


def _submit(engine: Engine, prompt: list[int], adapter: str | None, **sampling):
    params = SamplingParams(**{"max_tokens": 6, "ignore_eos": True, **sampling})
    return engine.submit(Request(prompt_token_ids=prompt, adapter=adapter, sampling=params))


def _reference_logprobs(adapters, adapter, prompt, tokens) -> torch.Tensor:
    """PEFT's (or, for the base, the plain model's) log_softmax at every position of prompt + tokens."""
    return torch.log_softmax(reference_logits(adapters, adapter, prompt + tokens), dim=-1)


def _assert_top(got, expected_row: torch.Tensor, k: int) -> None:
    expected = torch.topk(expected_row, k)
    assert [token for token, _ in got] == expected.indices.tolist()
    assert (
        max(abs(value - e) for (_, value), e in zip(got, expected.values.tolist(), strict=True)) < TOLERANCE
    )


def _assert_generated_logprobs_match(adapters, adapter, prompt, completion, k: int) -> None:
    expected = _reference_logprobs(adapters, adapter, prompt, completion.token_ids)
    assert len(completion.logprobs) == len(completion.top_logprobs) == len(completion.token_ids)
    for index, token in enumerate(completion.token_ids):
        row = expected[len(prompt) - 1 + index]
        assert abs(completion.logprobs[index] - row[token].item()) < TOLERANCE, f"{adapter}: token {index}"
        _assert_top(completion.top_logprobs[index], row, k)


def test_generated_token_logprobs_in_a_mixed_batch_equal_peft_log_softmax(engine, llama_adapters):
    generator = torch.Generator().manual_seed(21)
    names = [None, *[spec.name for spec in LLAMA_ADAPTERS]]
    asked, silent = [], []
    for index in range(14):
        prompt, adapter = random_prompt(generator), names[index % len(names)]
        if index % 2 == 0:
            asked.append((prompt, adapter, _submit(engine, prompt, adapter, logprobs=5)))
        else:  # greedy rows without logprobs, and sampled rows with them, in the same steps
            silent.append(_submit(engine, prompt, adapter))
            sampled = {"logprobs": 5, "temperature": 1.0, "seed": index}
            asked.append((prompt, adapter, _submit(engine, prompt, adapter, **sampled)))
    engine.run_until_idle()

    for prompt, adapter, handle in asked:
        completion = handle.result(timeout=0)
        _assert_generated_logprobs_match(llama_adapters, adapter, prompt, completion, k=5)
        if handle.request.sampling.greedy:
            assert completion.logprobs == [top[0][1] for top in completion.top_logprobs]
    for handle in silent:
        completion = handle.result(timeout=0)
        assert completion.logprobs is None
        assert completion.top_logprobs is None
        assert completion.prompt_logprobs is None
        assert completion.prompt_top_logprobs is None


def test_prompt_logprobs_equal_peft_log_softmax_over_the_whole_prompt(engine, llama_adapters):
    generator = torch.Generator().manual_seed(22)
    submitted = []
    for adapter in [None, "qv-r4", "all-r64-rslora", "ko-r32", None]:
        prompt = random_prompt(generator, low=2)
        submitted.append((prompt, adapter, _submit(engine, prompt, adapter, prompt_logprobs=3, max_tokens=3)))
    one_token = _submit(engine, [42], "mlp-r8", prompt_logprobs=2, max_tokens=2)
    engine.run_until_idle()

    for prompt, adapter, handle in submitted:
        completion = handle.result(timeout=0)
        expected = _reference_logprobs(llama_adapters, adapter, prompt, [])
        assert completion.prompt_logprobs[0] is None
        assert completion.prompt_top_logprobs[0] == ()
        assert len(completion.prompt_logprobs) == len(completion.prompt_top_logprobs) == len(prompt)
        for position in range(1, len(prompt)):
            row = expected[position - 1]
            assert abs(completion.prompt_logprobs[position] - row[prompt[position]].item()) < TOLERANCE
            _assert_top(completion.prompt_top_logprobs[position], row, 3)
        assert completion.logprobs is None  # prompt logprobs alone do not turn on the answer's
    assert one_token.result(timeout=0).prompt_logprobs == [None]


def test_logprobs_zero_reports_only_the_chosen_token_and_streams_with_each_token(engine, llama_adapters):
    handle = _submit(engine, [5, 9, 2], "gate-down-r12", logprobs=0)
    plain = _submit(engine, [5, 9, 2], "gate-down-r12")
    engine.run_until_idle()

    completion = handle.result(timeout=0)
    assert completion.top_logprobs == [()] * 6
    assert completion.token_ids == plain.result(timeout=0).token_ids  # asking changes nothing chosen
    expected = _reference_logprobs(llama_adapters, "gate-down-r12", [5, 9, 2], completion.token_ids)
    for index, token in enumerate(completion.token_ids):
        assert abs(completion.logprobs[index] - expected[2 + index, token].item()) < TOLERANCE
    events = list(handle)
    assert [event.logprob for event in events] == completion.logprobs
    assert all(event.logprob is None and event.top_logprobs == () for event in plain)


def test_a_preempted_request_computes_its_prompt_logprobs_once(llama_adapters):
    engine = Engine(tiny_llama(seed=0), kv_cache_bytes=48 * 1024, block_size=4)  # forces preemption
    for spec in LLAMA_ADAPTERS:
        engine.register_adapter(spec.name, llama_adapters.paths[spec.name])
    computed: list = []
    execute = engine.runner.execute

    def counting_execute(*args, **kwargs):
        output = execute(*args, **kwargs)
        computed.extend(output.prompt_logits)
        return output

    engine.runner.execute = counting_execute
    generator = torch.Generator().manual_seed(23)
    submitted = []
    for index in range(16):
        prompt, adapter = random_prompt(generator, low=2), LLAMA_ADAPTERS[index % len(LLAMA_ADAPTERS)].name
        submitted.append(
            (prompt, adapter, _submit(engine, prompt, adapter, max_tokens=12, prompt_logprobs=1))
        )
    engine.run_until_idle()

    assert engine.stats()["preemptions"] > 0
    assert len(computed) == len(set(computed)) == len(submitted)
    for prompt, adapter, handle in submitted:
        completion = handle.result(timeout=0)
        expected = _reference_logprobs(llama_adapters, adapter, prompt, [])
        got = torch.tensor(completion.prompt_logprobs[1:])
        assert (got - expected[torch.arange(len(prompt) - 1), prompt[1:]]).abs().max() < TOLERANCE


def test_the_batched_logprobs_equal_the_plain_per_row_reference():
    generator = torch.Generator().manual_seed(24)
    logits = torch.randn(6, 256, generator=generator) * 3
    tokens = torch.randint(0, 256, (6,), generator=generator).tolist()
    top_k = [5, None, 0, 20, 1, None]

    got = token_logprobs(logits, tokens, top_k)

    for row, k in enumerate(top_k):
        if k is None:
            assert got[row] is None
            continue
        expected = reference_token_logprobs(logits[row], tokens[row], k)
        assert abs(got[row].logprob - expected.logprob) < 1e-6
        assert [token for token, _ in got[row].top] == [token for token, _ in expected.top]
        assert all(abs(a[1] - b[1]) < 1e-6 for a, b in zip(got[row].top, expected.top, strict=True))
