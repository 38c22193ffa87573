"""What a caller of the engine sees: errors stay with their request, streaming, cancellation, threads."""

from __future__ import annotations

import shutil
import threading

import pytest
import torch

from inference.engine import Engine
from inference.errors import (
    AdapterCorrupt,
    AdapterIncompatible,
    AdapterNotFound,
    EngineError,
    PromptTooLong,
    RequestCancelled,
)
from inference.request import Request
from inference.sampling import SamplingParams
from tests.inference.factories import (
    AdapterSpec,
    LetterTokenizer,
    reference_logits,
    save_peft_adapters,
    tiny_llama,
)

GREEDY = SamplingParams(max_tokens=5, ignore_eos=True)


def _request(prompt, adapter=None, **sampling) -> Request:
    params = SamplingParams(**{"max_tokens": 5, "ignore_eos": True, **sampling})
    return Request(prompt_token_ids=prompt, adapter=adapter, sampling=params)


def _greedy_reference(adapters, adapter, prompt, count):
    tokens = list(prompt)
    for _ in range(count):
        tokens.append(int(reference_logits(adapters, adapter, tokens)[-1].argmax()))
    return tokens[len(prompt) :]


def test_bad_requests_fail_alone_while_the_others_are_served(engine, llama_adapters, tmp_path):
    corrupt = tmp_path / "corrupt"
    shutil.copytree(llama_adapters.paths["mlp-r8"], corrupt)
    (corrupt / "adapter_model.safetensors").write_bytes(b"\x00garbage")
    engine.register_adapter("corrupt", corrupt)
    other_base = save_peft_adapters(tiny_llama(hidden=32), [AdapterSpec("narrow", 4, ["q_proj"])], tmp_path)
    engine.register_adapter("other-base", other_base.paths["narrow"])

    good = [engine.submit(_request([1, 2, 3], "qv-r4")), engine.submit(_request([4, 5], None))]
    bad = {
        AdapterNotFound: engine.submit(_request([1, 2], "no-such-adapter")),
        AdapterCorrupt: engine.submit(_request([1, 2], "corrupt")),
        AdapterIncompatible: engine.submit(_request([1, 2], "other-base")),
        PromptTooLong: engine.submit(_request(list(range(256)) * 2, "qv-r4")),
    }
    good.append(engine.submit(_request([7, 8, 9], "all-r16")))
    engine.run_until_idle()

    for error_type, handle in bad.items():
        with pytest.raises(error_type):
            handle.result(timeout=0)
    assert [h.result(timeout=0).token_ids for h in good] == [
        _greedy_reference(llama_adapters, "qv-r4", [1, 2, 3], 5),
        _greedy_reference(llama_adapters, None, [4, 5], 5),
        _greedy_reference(llama_adapters, "all-r16", [7, 8, 9], 5),
    ]
    assert engine.stats()["failed"] == 4


def test_registering_a_pickled_adapter_fails_at_once(engine, llama_adapters, tmp_path):
    pickled = tmp_path / "pickled"
    shutil.copytree(llama_adapters.paths["qv-r4"], pickled)
    (pickled / "adapter_model.safetensors").rename(pickled / "adapter_model.bin")
    with pytest.raises(AdapterIncompatible, match="pickle"):
        engine.register_adapter("pickled", pickled)


def test_replacing_an_adapter_while_serving_switches_to_the_new_weights(engine, llama_adapters):
    engine.register_adapter("live", llama_adapters.paths["qv-r4"])
    before = engine.submit(_request([3, 1, 4], "live"))
    engine.run_until_idle()
    engine.register_adapter("live", llama_adapters.paths["all-r16"])
    after = engine.submit(_request([3, 1, 4], "live"))
    engine.run_until_idle()
    assert before.result().token_ids == _greedy_reference(llama_adapters, "qv-r4", [3, 1, 4], 5)
    assert after.result().token_ids == _greedy_reference(llama_adapters, "all-r16", [3, 1, 4], 5)
    engine.remove_adapter("live")
    with pytest.raises(AdapterNotFound):
        engine.submit(_request([1], "live")).result(timeout=0)


def test_a_cancelled_request_stops_and_frees_its_memory(engine):
    long = engine.submit(_request([1, 2, 3], "qv-r4", max_tokens=200))
    short = engine.submit(_request([4, 5, 6], "mlp-r8", max_tokens=8))
    while engine.stats()["generated_tokens"] < 6:
        engine.step()
    long.cancel()
    engine.run_until_idle()
    with pytest.raises(RequestCancelled):
        long.result(timeout=0)
    assert long.completion.finish_reason == "cancelled"
    assert 0 < len(long.completion.token_ids) < 200
    assert len(short.result(timeout=0).token_ids) == 8
    stats = engine.stats()
    assert stats["kv_blocks_free"] == stats["kv_blocks_total"]


def test_tokens_stream_from_a_background_thread_while_others_submit(engine):
    engine.start()
    try:
        handles = []
        lock = threading.Lock()

        def client(index: int) -> None:
            handle = engine.submit(
                _request([index + 1, index + 2], ["qv-r4", "ko-r32", None][index % 3], max_tokens=6)
            )
            with lock:
                handles.append(handle)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for handle in handles:
            streamed = [event.token_id for event in handle]
            assert streamed == handle.result(timeout=30).token_ids
            assert len(streamed) == 6
    finally:
        engine.stop()


def test_the_same_seed_samples_the_same_tokens_whatever_else_is_in_the_batch(engine):
    params = {"temperature": 0.9, "top_p": 0.9, "top_k": 50, "seed": 1234, "max_tokens": 8}
    alone = engine.submit(_request([5, 6, 7], "all-r16", **params))
    engine.run_until_idle()
    crowd = [engine.submit(_request([9, 9], "qv-r4", temperature=1.0, max_tokens=8)) for _ in range(4)]
    together = engine.submit(_request([5, 6, 7], "all-r16", **params))
    crowd.append(engine.submit(_request([5, 6, 7], "all-r16", **{**params, "seed": 99})))
    engine.run_until_idle()
    assert alone.result().token_ids == together.result().token_ids
    assert crowd[-1].result().token_ids != alone.result().token_ids


def test_top_k_one_is_greedy(engine):
    greedy = engine.submit(_request([2, 7, 1], "ko-r32", max_tokens=6))
    top1 = engine.submit(_request([2, 7, 1], "ko-r32", max_tokens=6, temperature=1.5, top_k=1, seed=3))
    engine.run_until_idle()
    assert greedy.result().token_ids == top1.result().token_ids


def test_generation_stops_at_a_stop_string_and_cuts_it_from_the_text(llama_adapters):
    engine = Engine(tiny_llama(seed=0), tokenizer=LetterTokenizer(), kv_cache_bytes=1 << 20, block_size=8)
    free = engine.generate(["hello"], sampling=SamplingParams(max_tokens=12, ignore_eos=True))[0]
    stop = free.text[4:6]
    cut = free.text.find(stop)
    stopped = engine.generate(
        ["hello"], sampling=SamplingParams(max_tokens=12, stop=(stop,), ignore_eos=True)
    )[0]
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[:cut]


def test_a_prompt_longer_than_the_context_is_refused_with_the_limit():
    engine = Engine(tiny_llama(seed=0), enable_lora=False, kv_cache_bytes=1 << 20, max_model_len=16)
    handle = engine.submit(_request(list(range(20))))
    with pytest.raises(PromptTooLong, match="context is 16"):
        handle.result(timeout=0)
    assert isinstance(handle.completion.error, EngineError)


def test_stats_and_prometheus_report_queue_batches_and_adapter_tiers(engine):
    engine.generate([[1, 2, 3]] * 3, adapter=["qv-r4", "mlp-r8", None], sampling=GREEDY)
    stats = engine.stats()
    assert stats["finished"] == 3
    assert stats["generated_tokens"] == 15
    assert stats["adapters"]["disk_loads"] == 2
    assert stats["adapters"]["disk_load"]["p50_s"] is not None
    assert set(stats["resident_adapters"]["device"]) == {"qv-r4@1", "mlp-r8@1"}
    text = engine.prometheus()
    assert "modelfactory_engine_time_to_first_token_seconds_bucket" in text
    assert "modelfactory_engine_adapters_host_bytes" in text


def test_a_linear_merge_equals_peft_concatenated_weighted_adapter(engine, llama_adapters):
    peft_model = llama_adapters.peft_model
    if "qv-plus-all" not in peft_model.peft_config:
        peft_model.add_weighted_adapter(
            ["qv-r4", "all-r16"], [0.7, 0.3], "qv-plus-all", combination_type="cat"
        )
    merged = Request(prompt_token_ids=[8, 3, 5], adapters=[("qv-r4", 0.7), ("all-r16", 0.3)], sampling=GREEDY)
    handle = engine.submit(merged)
    engine.run_until_idle()
    assert handle.result().token_ids == _greedy_reference(llama_adapters, "qv-plus-all", [8, 3, 5], 5)


def test_ties_and_dare_merges_are_built_once_per_recipe_and_are_deterministic(engine):
    def merged(method: str):
        request = Request(
            prompt_token_ids=[8, 3, 5],
            adapters=[("all-r16", 0.5), ("all-r64-rslora", 0.5)],
            merge=method,
            density=0.5,
            sampling=GREEDY,
        )
        return engine.submit(request)

    first = [merged("ties"), merged("dare_ties")]
    engine.run_until_idle()
    loads = engine.stats()["adapters"]["disk_loads"]
    again = [merged("ties"), merged("dare_ties")]
    engine.run_until_idle()
    assert [h.result().token_ids for h in first] == [h.result().token_ids for h in again]
    assert engine.stats()["adapters"]["disk_loads"] == loads  # served from the cache, not rebuilt
    assert torch.is_tensor(torch.tensor(first[0].result().token_ids))
