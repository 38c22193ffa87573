"""Presence / frequency penalties and logit bias change a request's tokens exactly as the plain reference
processor says, and nothing about the other requests of its batch."""

from __future__ import annotations

import pytest
import torch

from inference.errors import EngineError
from inference.logit_processing import adjust_logits, reference_adjusted_logits
from inference.request import Request
from inference.sampling import SamplingParams
from tests.inference.factories import reference_logits

PROMPTS = [([3, 1, 4, 1, 5], "qv-r4"), ([9, 2, 6], None), ([5, 3, 5, 8, 9, 7], "all-r16"), ([2, 7], "mlp-r8")]


def _params(**sampling) -> SamplingParams:
    return SamplingParams(**{"max_tokens": 10, "ignore_eos": True, **sampling})


def _submit(engine, prompt, adapter, **sampling):
    return engine.submit(Request(prompt_token_ids=prompt, adapter=adapter, sampling=_params(**sampling)))


def _reference_greedy(adapters, adapter, prompt, params: SamplingParams) -> list[int]:
    """PEFT's logits for each prefix, through the plain reference processor, then argmax."""
    generated: list[int] = []
    for _ in range(params.max_tokens):
        logits = reference_logits(adapters, adapter, prompt + generated)[-1]
        generated.append(int(reference_adjusted_logits(logits, params, generated).argmax()))
    return generated


def _alone(engine, prompt, adapter, **sampling) -> list[int]:
    handle = _submit(engine, prompt, adapter, **sampling)
    engine.run_until_idle()
    return handle.result(timeout=0).token_ids


def test_a_bias_of_plus_100_forces_a_token_and_minus_100_bans_it(engine):
    plain = {(tuple(prompt), adapter): _alone(engine, prompt, adapter) for prompt, adapter in PROMPTS}
    favourite = plain[(tuple(PROMPTS[0][0]), PROMPTS[0][1])][0]

    forced = _submit(engine, *PROMPTS[0], logit_bias={7: 100})
    sampled_forced = _submit(engine, *PROMPTS[2], logit_bias={11: 100}, temperature=1.0, seed=5)
    banned = _submit(engine, *PROMPTS[0], logit_bias={favourite: -100})
    others = [(prompt, adapter, _submit(engine, prompt, adapter)) for prompt, adapter in PROMPTS]
    engine.run_until_idle()

    assert forced.result(timeout=0).token_ids == [7] * 10
    assert sampled_forced.result(timeout=0).token_ids == [11] * 10
    assert favourite not in banned.result(timeout=0).token_ids
    for prompt, adapter, handle in others:  # rows without any of it, in the same steps: as alone
        assert handle.result(timeout=0).token_ids == plain[(tuple(prompt), adapter)]


@pytest.mark.parametrize(
    "penalties",
    [
        {"frequency_penalty": 1.5},
        {"presence_penalty": 2.0},
        {"frequency_penalty": 0.5, "presence_penalty": 0.7, "logit_bias": {200: 1.5, 17: -2.0}},
        {"frequency_penalty": -2.0},
    ],
)
def test_penalties_change_greedy_outputs_exactly_as_the_reference_processor_says(
    engine, llama_adapters, penalties
):
    plain = {(tuple(prompt), adapter): _alone(engine, prompt, adapter) for prompt, adapter in PROMPTS}
    penalised = [
        (prompt, adapter, _submit(engine, prompt, adapter, **penalties)) for prompt, adapter in PROMPTS
    ]
    bystanders = [(prompt, adapter, _submit(engine, prompt, adapter)) for prompt, adapter in PROMPTS]
    engine.run_until_idle()

    changed = 0
    for prompt, adapter, handle in penalised:
        tokens = handle.result(timeout=0).token_ids
        assert tokens == _reference_greedy(llama_adapters, adapter, prompt, _params(**penalties))
        changed += tokens != plain[(tuple(prompt), adapter)]
    assert changed, "the penalties should change at least one answer of these repetitive tiny models"
    for prompt, adapter, handle in bystanders:
        assert handle.result(timeout=0).token_ids == plain[(tuple(prompt), adapter)]


def test_penalties_count_generated_tokens_not_the_prompt(engine, llama_adapters):
    prompt = [181] * 6  # the tiny base model's favourite token, all over the prompt
    params = _params(presence_penalty=2.0, max_tokens=4)
    handle = _submit(engine, prompt, None, presence_penalty=2.0, max_tokens=4)
    engine.run_until_idle()
    tokens = handle.result(timeout=0).token_ids
    assert tokens == _reference_greedy(llama_adapters, None, prompt, params)
    first = reference_logits(llama_adapters, None, prompt)[-1].argmax()
    assert tokens[0] == first  # nothing generated yet: nothing penalised


def test_sampled_rows_with_penalties_draw_from_the_adjusted_distribution(engine):
    params = {"temperature": 0.8, "seed": 31, "frequency_penalty": 1.0, "logit_bias": {40: 4.0}}
    alone = _alone(engine, *PROMPTS[2], **params)
    crowd = [_submit(engine, prompt, adapter, temperature=1.0) for prompt, adapter in PROMPTS]
    together = _submit(engine, *PROMPTS[2], **params)
    unpenalised = _submit(engine, *PROMPTS[2], temperature=0.8, seed=31)
    engine.run_until_idle()
    assert together.result(timeout=0).token_ids == alone
    assert unpenalised.result(timeout=0).token_ids != alone
    assert all(handle.result(timeout=0).token_ids for handle in crowd)


def test_the_batched_processor_equals_the_plain_reference_row_by_row():
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(5, 64, generator=generator)
    params = [
        _params(frequency_penalty=0.4, presence_penalty=-1.2),
        _params(),
        _params(logit_bias={3: 50.0, 60: -7.5}),
        _params(frequency_penalty=-2.0, logit_bias={3: 1.0}),
        _params(presence_penalty=2.0),
    ]
    histories = [[1, 1, 5, 63, 1], [2, 2], [], [3, 3, 3, 9], [0]]
    rows = [0, 2, 3, 4]

    got = adjust_logits(logits, rows, [params[r] for r in rows], [histories[r] for r in rows])

    for position, row in enumerate(rows):
        expected = reference_adjusted_logits(logits[row], params[row], histories[row])
        assert (got[position] - expected).abs().max() < 1e-6  # float32 vs Python-float arithmetic
    assert torch.equal(logits, torch.randn(5, 64, generator=torch.Generator().manual_seed(3)))  # untouched


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"logprobs": 21}, "logprobs must be None"),
        ({"logprobs": -1}, "logprobs must be None"),
        ({"logprobs": True}, "logprobs must be None"),
        ({"prompt_logprobs": 30}, "prompt_logprobs must be None"),
        ({"presence_penalty": 2.5}, "presence_penalty must be between -2 and 2"),
        ({"frequency_penalty": -2.01}, "frequency_penalty must be between -2 and 2"),
        ({"logit_bias": {5: 100.5}}, "between -100 and 100"),
        ({"logit_bias": {5: -101}}, "between -100 and 100"),
        ({"logit_bias": {-1: 1.0}}, "token ids"),
        ({"logit_bias": {"5": 1.0}}, "token ids"),
        ({"logit_bias": ((5, 1.0), (5, 2.0))}, "twice"),
        ({"logit_bias": {5: "high"}}, "must be a number"),
        ({"stop": ("",)}, "must not be empty"),
    ],
)
def test_out_of_range_values_are_refused_with_what_is_allowed(fields, message):
    with pytest.raises(ValueError, match=message):
        SamplingParams(**fields)


def test_a_bias_on_a_token_outside_the_vocabulary_fails_that_request_alone(engine):
    bad = _submit(engine, [1, 2], None, logit_bias={256: 5.0})
    good = _submit(engine, [1, 2], None, logit_bias={255: 5.0})
    engine.run_until_idle()
    with pytest.raises(EngineError, match="vocabulary has 256 tokens"):
        bad.result(timeout=0)
    assert len(good.result(timeout=0).token_ids) == 10


def test_a_mapping_bias_is_stored_as_sorted_pairs():
    assert SamplingParams(logit_bias={9: 1, 2: -3.5}).logit_bias == ((2, -3.5), (9, 1.0))
