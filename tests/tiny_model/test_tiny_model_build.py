"""The tiny-model fixture's builder: it learns, it loads, it caches, it never half-publishes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.support.tiny_corpus import synthetic_conversations, synthetic_texts
from tests.support.tiny_model.build_report import REPORT_FILENAME, read_complete_report
from tests.support.tiny_model.builder import build_tiny_model


def test_tiny_model_learns_something_held_out_perplexity_drops_well_below_untrained(tiny_build):
    _, report = tiny_build

    # An untrained model is roughly uniform over the vocabulary; anything far below means a bug
    # in the evaluation rather than a good model.
    assert report.perplexity_untrained > report.vocab_size / 4
    assert report.perplexity_trained < 0.5 * report.perplexity_untrained
    assert report.perplexity_trained < 10  # the toy grammar is highly predictable
    assert report.held_out_documents > 0
    assert report.held_out_tokens > 0
    assert report.steps == 150
    assert report.tokens_seen == report.steps * 16 * 64


def test_built_model_loads_with_plain_transformers_and_generates(tiny_build):
    output_dir, report = tiny_build
    assert (output_dir / "model.safetensors").is_file()
    assert json.loads((output_dir / REPORT_FILENAME).read_text())["corpus_hash"] == report.corpus_hash

    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    model = AutoModelForCausalLM.from_pretrained(output_dir)
    assert model.config.model_type == "llama"
    assert model.config.tie_word_embeddings
    assert sum(p.numel() for p in model.parameters()) == report.parameter_count
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<|im_end|>", "<|endoftext|>")

    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 3 plus 4?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    output = model.generate(**prompt, max_new_tokens=24, do_sample=False)
    answer = tokenizer.decode(output[0, prompt["input_ids"].shape[1] :])

    # Pre-training on rendered chats taught the format: it answers in kind and ends its turn.
    assert "plus" in answer
    assert answer.endswith("<|im_end|>")


def test_second_build_with_same_corpus_reuses_cache_without_training(tiny_build, corpus):
    output_dir, first = tiny_build
    weights_mtime = (output_dir / "model.safetensors").stat().st_mtime_ns

    def fail_if_training(step: int, loss: float) -> None:
        raise AssertionError("a cached build must not train")

    texts, conversations = corpus
    second = build_tiny_model(texts, conversations, output_dir, on_step=fail_if_training)

    assert second.from_cache
    assert second == first
    assert (output_dir / "model.safetensors").stat().st_mtime_ns == weights_mtime


def test_changed_corpus_or_force_rebuilds_instead_of_reusing(tmp_path: Path):
    texts, conversations = synthetic_texts(60), synthetic_conversations(20)
    output_dir = tmp_path / "model"
    first = build_tiny_model(texts, conversations, output_dir, max_steps=5)

    changed = build_tiny_model(texts[:-1], conversations, output_dir, max_steps=5)
    forced = build_tiny_model(texts[:-1], conversations, output_dir, max_steps=5, force=True)

    assert not changed.from_cache
    assert changed.corpus_hash != first.corpus_hash
    assert not forced.from_cache
    assert forced.created_at >= changed.created_at
    assert read_complete_report(output_dir).corpus_hash == changed.corpus_hash


def test_interrupted_build_leaves_no_model_that_looks_complete(tmp_path: Path, corpus):
    texts, conversations = corpus
    output_dir = tmp_path / "model"

    def interrupt_mid_training(step: int, loss: float) -> None:
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_tiny_model(texts, conversations, output_dir, on_step=interrupt_mid_training)

    assert not output_dir.exists()
    assert read_complete_report(output_dir) is None
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_interrupted_rebuild_keeps_the_previous_complete_model(tmp_path: Path):
    texts, conversations = synthetic_texts(60), synthetic_conversations(20)
    output_dir = tmp_path / "model"
    previous = build_tiny_model(texts, conversations, output_dir, max_steps=5)

    def crash(step: int, loss: float) -> None:
        raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        build_tiny_model(texts, conversations, output_dir, force=True, on_step=crash)

    assert read_complete_report(output_dir) == previous
    AutoModelForCausalLM.from_pretrained(output_dir)  # still loadable


def test_leftovers_of_a_killed_build_are_cleared_and_never_mistaken_for_a_model(tmp_path: Path):
    output_dir = tmp_path / "model"
    leftover = tmp_path / ".model.staging-deadbeef"  # what a SIGKILL mid-build leaves behind
    leftover.mkdir()
    (leftover / "config.json").write_text("{}")

    assert read_complete_report(output_dir) is None
    build_tiny_model(synthetic_texts(60), synthetic_conversations(20), output_dir, max_steps=5)

    assert not leftover.exists()
    assert read_complete_report(output_dir) is not None


def test_same_seed_builds_identical_weights(tmp_path: Path):
    texts, conversations = synthetic_texts(60), synthetic_conversations(20)
    builds = [build_tiny_model(texts, conversations, tmp_path / name, max_steps=10) for name in ("a", "b")]
    weights = [AutoModelForCausalLM.from_pretrained(tmp_path / name).state_dict() for name in ("a", "b")]

    assert builds[0].perplexity_trained == builds[1].perplexity_trained
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
