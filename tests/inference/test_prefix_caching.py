"""Prefix caching changes nothing a caller sees but the time: answers and logits with the cache on equal
those with it off (and PEFT's), across multi-turn conversations sharing a system prompt, adapters and the
base mixed, preemption, and an adapter replaced between turns; blocks are shared only by the same model."""

from __future__ import annotations

from collections import Counter

import torch

from inference.engine import Engine
from inference.request import Request
from inference.sampling import SamplingParams
from tests.inference.conftest import LLAMA_ADAPTERS, random_prompt
from tests.inference.factories import reference_logits, tiny_llama

SYSTEM = [(7 * i + 3) % 256 for i in range(21)]  # 5 full blocks of 4 and one token: shared by everyone
SAME = 1e-5  # cache on vs off (the same engine code, other kernels for the cached part)
PEFT = 1e-4  # the engine vs PEFT, as in test_mixed_batches_match_peft
MIXED = [None, "qv-r4", "all-r16", None, "ko-r32", "qv-r4", "all-r64-rslora", "mlp-r8"]


def _engine(adapters, *, prefix_caching: bool = True, **options) -> Engine:
    options = {"kv_cache_bytes": 4 << 20, "block_size": 4, **options}
    engine = Engine(tiny_llama(seed=0), prefix_caching=prefix_caching, **options)
    for spec in LLAMA_ADAPTERS:
        engine.register_adapter(spec.name, adapters.paths[spec.name])
    return engine


def _request(prompt: list[int], adapter: str | None = None, max_tokens: int = 5, **fields) -> Request:
    params = SamplingParams(max_tokens=max_tokens, ignore_eos=True)
    return Request(prompt_token_ids=prompt, adapter=adapter, sampling=params, keep_logits=True, **fields)


def _chat(engine: Engine, names: list[str | None], turns: int, seed: int, check=None) -> list[list]:
    """Conversations (one per name) that all start with SYSTEM; each turn's prompt is the previous
    prompt, its answer and a new user message; every conversation's turn t runs in one batch.
    Returns, per conversation, its (prompt, completion) per turn."""
    generator = torch.Generator().manual_seed(seed)
    histories = [list(SYSTEM) for _ in names]
    turns_of: list[list] = [[] for _ in names]
    for _ in range(turns):
        handles = []
        for index, name in enumerate(names):
            prompt = histories[index] + random_prompt(generator, low=2, high=9)
            handles.append((prompt, engine.submit(_request(prompt, name))))
        while engine.step() or engine.scheduler.running or engine.scheduler.waiting:
            if check is not None:
                check(engine)
        for index, (prompt, handle) in enumerate(handles):
            completion = handle.result(timeout=0)
            turns_of[index].append((prompt, completion))
            histories[index] = prompt + completion.token_ids
    return turns_of


def _assert_same(cached: list[list], plain: list[list]) -> None:
    for conversation, other in zip(cached, plain, strict=True):
        for (prompt, got), (other_prompt, expected) in zip(conversation, other, strict=True):
            assert prompt == other_prompt
            assert got.token_ids == expected.token_ids
            assert (torch.stack(got.logits) - torch.stack(expected.logits)).abs().max() < SAME


def _assert_peft(adapters, names: list[str | None], turns_of: list[list]) -> None:
    for name, conversation in zip(names, turns_of, strict=True):
        for prompt, completion in conversation:
            full = prompt + completion.token_ids
            expected = reference_logits(adapters, name, full)[len(prompt) - 1 : len(full) - 1]
            assert completion.token_ids == expected.argmax(-1).tolist()
            assert (torch.stack(completion.logits) - expected).abs().max() < PEFT


def test_multi_turn_chats_of_adapters_and_the_base_answer_the_same_with_the_cache_on_and_off(
    llama_adapters,
):
    with _engine(llama_adapters) as on, _engine(llama_adapters, prefix_caching=False) as off:
        cached = _chat(on, MIXED, turns=3, seed=1)
        plain = _chat(off, MIXED, turns=3, seed=1)

        _assert_same(cached, plain)
        _assert_peft(llama_adapters, MIXED, cached)
        stats, off_stats = on.stats()["prefix_cache"], off.stats()["prefix_cache"]
        # turn 1 shares SYSTEM between same-model conversations; later turns reuse their own history
        assert stats["hit_tokens"] > 0.4 * stats["queried_tokens"]
        assert 0 < stats["hit_rate"] < 1
        assert off_stats["hit_tokens"] == off_stats["cached_blocks"] == 0
        assert on.stats()["prompt_tokens"] < off.stats()["prompt_tokens"]  # fewer tokens computed
        assert "modelfactory_engine_prefix_cache_hit_rate" in on.prometheus()
        assert "modelfactory_engine_prefix_cache_evictions" in on.prometheus()


def test_with_a_tiny_kv_cache_preemption_and_eviction_keep_answers_and_never_touch_blocks_in_use(
    llama_adapters,
):
    def blocks_are_sound(engine: Engine) -> None:
        cache = engine.scheduler.blocks
        held = Counter(block for sequence in engine.scheduler.running for block in sequence.blocks)
        for block, holders in held.items():
            assert cache.refs(block) == holders
            assert not cache.is_evictable(block)

    written: list[tuple[int, int, bool]] = []

    def recording(engine: Engine):
        execute = engine.runner.execute

        def execute_and_record(decode, prefill):
            size = engine.kv.block_size
            for sequence in [*decode, *prefill]:
                first, last = sequence.num_computed, sequence.num_computed + sequence.num_scheduled - 1
                for block in {sequence.blocks[p // size] for p in range(first, last + 1)}:
                    written.append((block, engine.scheduler.blocks.refs(block), cache_has(engine, block)))
            return execute(decode, prefill)

        engine.runner.execute = execute_and_record

    def cache_has(engine: Engine, block: int) -> bool:
        return engine.scheduler.blocks.is_published(block)

    tiny = {"kv_cache_bytes": 64 * 1024}  # ~62 blocks of 4 tokens for 8 conversations of 30-60 tokens
    with _engine(llama_adapters, **tiny) as on, _engine(llama_adapters, prefix_caching=False, **tiny) as off:
        recording(on)
        cached = _chat(on, MIXED, turns=3, seed=2, check=blocks_are_sound)
        plain = _chat(off, MIXED, turns=3, seed=2)

        _assert_same(cached, plain)
        _assert_peft(llama_adapters, MIXED, cached)
        stats = on.stats()
        assert stats["preemptions"] > 0
        assert stats["prefix_cache"]["evictions"] > 0
        assert stats["prefix_cache"]["hit_tokens"] > 0
        assert all(refs == 1 and not published for _, refs, published in written), (
            "a step wrote into a block that was shared or cached"
        )
        assert stats["kv_blocks_free"] == stats["kv_blocks_total"]  # all back: free or evictable


def test_a_replaced_adapter_answers_like_a_fresh_engine_and_never_reads_its_old_blocks(llama_adapters):
    with _engine(llama_adapters) as engine, _engine(llama_adapters) as fresh:
        engine.register_adapter("live", llama_adapters.paths["qv-r4"])
        fresh.register_adapter("live", llama_adapters.paths["all-r16"])
        prompt = [*SYSTEM, 5, 6, 7]
        first = engine.submit(_request(prompt, "live"))
        engine.run_until_idle()
        second_prompt = prompt + first.result().token_ids + [9, 10, 11]

        engine.register_adapter("live", llama_adapters.paths["all-r16"])  # same name, other weights
        hits = engine.stats()["prefix_cache"]["hit_tokens"]
        replaced = engine.submit(_request(second_prompt, "live"))
        engine.run_until_idle()
        assert engine.stats()["prefix_cache"]["hit_tokens"] == hits  # the old generation's blocks: no
        again = engine.submit(_request(second_prompt, "live"))  # the new generation's blocks: yes
        engine.run_until_idle()
        assert engine.stats()["prefix_cache"]["hit_tokens"] > hits
        expected = fresh.submit(_request(second_prompt, "live"))
        fresh.run_until_idle()

        for handle in (replaced, again):
            assert handle.result().token_ids == expected.result().token_ids
            got, want = torch.stack(handle.result().logits), torch.stack(expected.result().logits)
            assert (got - want).abs().max() < SAME
        _assert_peft(llama_adapters, ["all-r16"], [[(second_prompt, replaced.result())]])


def test_the_base_model_and_an_adapter_never_share_blocks_of_the_same_prompt(llama_adapters):
    with _engine(llama_adapters) as engine:
        prompt = [*SYSTEM, 40, 41, 42, 43]
        adapted = engine.submit(_request(prompt, "all-r16"))
        engine.run_until_idle()
        hits = engine.stats()["prefix_cache"]["hit_tokens"]
        base = engine.submit(_request(prompt))
        engine.run_until_idle()
        assert engine.stats()["prefix_cache"]["hit_tokens"] == hits
        adapted_again = engine.submit(_request(prompt, "all-r16"))
        base_again = engine.submit(_request(prompt))
        engine.run_until_idle()
        assert engine.stats()["prefix_cache"]["hit_tokens"] == hits + 2 * (len(prompt) - 1) // 4 * 4

        bases = [[(prompt, base.result())], [(prompt, base_again.result())]]
        _assert_peft(llama_adapters, [None, None], bases)
        _assert_peft(
            llama_adapters,
            ["all-r16", "all-r16"],
            [[(prompt, adapted.result())], [(prompt, adapted_again.result())]],
        )


def test_merges_share_blocks_only_with_the_same_recipe(llama_adapters):
    def merge(weights: tuple[float, float], method: str = "linear") -> Request:
        parts = [("qv-r4", weights[0]), ("all-r16", weights[1])]
        return _request([*SYSTEM, 1, 2, 3], adapters=parts, merge=method)

    with _engine(llama_adapters) as engine, _engine(llama_adapters) as fresh:
        first = engine.submit(merge((0.7, 0.3)))
        engine.run_until_idle()
        hits = engine.stats()["prefix_cache"]["hit_tokens"]
        other = engine.submit(merge((0.3, 0.7)))
        engine.run_until_idle()
        assert engine.stats()["prefix_cache"]["hit_tokens"] == hits  # other weights: another model
        same = engine.submit(merge((0.7, 0.3)))
        engine.run_until_idle()
        assert engine.stats()["prefix_cache"]["hit_tokens"] > hits
        alone = fresh.submit(merge((0.3, 0.7)))
        fresh.run_until_idle()

        assert same.result().token_ids == first.result().token_ids
        assert other.result().token_ids == alone.result().token_ids
        assert (torch.stack(other.result().logits) - torch.stack(alone.result().logits)).abs().max() < SAME


def test_a_request_for_prompt_logprobs_computes_them_instead_of_taking_cached_blocks(llama_adapters):
    with _engine(llama_adapters) as engine:
        prompt = [*SYSTEM, 11, 12, 13]
        engine.submit(_request(prompt, "ko-r32"))
        engine.run_until_idle()
        hits = engine.stats()["prefix_cache"]["hit_tokens"]
        params = SamplingParams(max_tokens=3, ignore_eos=True, prompt_logprobs=2)
        asked = engine.submit(Request(prompt_token_ids=prompt, adapter="ko-r32", sampling=params))
        engine.run_until_idle()
        assert engine.stats()["prefix_cache"]["hit_tokens"] == hits

        expected = torch.log_softmax(reference_logits(llama_adapters, "ko-r32", prompt), dim=-1)
        got = torch.tensor(asked.result().prompt_logprobs[1:])
        assert (got - expected[torch.arange(len(prompt) - 1), prompt[1:]]).abs().max() < PEFT


def test_cached_blocks_nobody_holds_count_as_free_when_a_new_prompt_needs_the_memory(llama_adapters):
    tiny = {"kv_cache_bytes": 13 * 4 * 512, "block_size": 4}  # 12 usable blocks of 4 tokens (512 B a token)
    first, second = list(range(1, 41)), list(range(101, 141))  # 10 blocks each, with the answer 11
    with _engine(llama_adapters, **tiny) as engine, _engine(llama_adapters) as fresh:
        assert engine.stats()["kv_blocks_total"] == 12
        engine.generate([first], sampling=SamplingParams(max_tokens=3, ignore_eos=True))
        stats = engine.stats()
        assert stats["prefix_cache"]["evictable_blocks"] == 10  # its full blocks, kept
        assert stats["kv_blocks_free"] == 12  # ... and counted as free

        (got,) = engine.generate(
            [second], adapter="qv-r4", sampling=SamplingParams(max_tokens=3, ignore_eos=True)
        )
        (expected,) = fresh.generate(
            [second], adapter="qv-r4", sampling=SamplingParams(max_tokens=3, ignore_eos=True)
        )

        assert got.token_ids == expected.token_ids
        assert engine.stats()["prefix_cache"]["evictions"] >= 8  # the least recently used went first
        assert engine.stats()["preemptions"] == 0
