"""Build ModelFactory's demo base model end to end: tokenizer, pre-training, save, report.

There is no model hub to download a base model from, so the demo grows its own from the seed
corpus. The result is an ordinary `transformers` checkpoint (safetensors weights, a fast
tokenizer with a ChatML template), so everything downstream -- fine-tuning with TRL/PEFT,
serving, evaluation -- treats it exactly like a downloaded model.

Builds are cached (same corpus and config: the existing model is reused) and published
atomically (a killed build never leaves a directory that looks like a finished model).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaForCausalLM
from transformers.utils import logging as transformers_logging

from .architecture import MODEL_SIZES, ModelSize, config_for_size
from .atomic_directory import exclusive_build_lock, staged_directory
from .blocks import pack_into_blocks, split_documents
from .build_report import BuildReport, read_complete_report
from .chat_format import END_OF_TEXT, IM_END
from .corpus import (
    Conversation,
    corpus_hash,
    pretraining_documents,
    tokenizer_training_texts,
    validate_conversations,
)
from .pretrain import PretrainSettings, StepCallback, pretrain
from .tokenizer import train_bpe_tokenizer

logger = logging.getLogger(__name__)

#: Bump when a code change makes old builds obsolete although corpus and settings are unchanged.
RECIPE_VERSION = 1

DEMO_TIME_BUDGET_S = 200.0


@dataclass(frozen=True)
class BuildRecipe:
    """Everything besides the corpus that determines the model; it is part of the cache key."""

    size: str
    vocab_size: int
    block_size: int
    held_out_fraction: float
    pretrain: PretrainSettings


def recipe_for(
    size: ModelSize,
    *,
    time_budget_s: float | None = None,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> BuildRecipe:
    """The recipe for a named size, with the caller's stopping rules (or the size's defaults).

    ``demo`` targets a build of under five minutes on two CPU cores; ``tiny`` is for tests and
    stops after a fixed number of steps so that it is deterministic.
    """
    if size == "demo":
        budget = time_budget_s if time_budget_s is not None or max_steps is not None else DEMO_TIME_BUDGET_S
        # Batch 8 beat batch 16 at equal tokens on the seed corpus (held-out ppl 234 vs 330 after
        # 200k tokens): with only a few hundred steps affordable, more updates win over bigger ones.
        settings = PretrainSettings(
            batch_size=8,
            learning_rate=3e-3,
            warmup_steps=20,
            max_steps=max_steps,
            time_budget_s=budget,
            seed=seed,
            progress=progress,
        )
        return BuildRecipe("demo", vocab_size=4096, block_size=256, held_out_fraction=0.05, pretrain=settings)
    if size == "tiny":
        steps = max_steps if max_steps is not None or time_budget_s is not None else 150
        settings = PretrainSettings(
            batch_size=16,
            learning_rate=1e-2,
            warmup_steps=10,
            max_steps=steps,
            time_budget_s=time_budget_s,
            # Tiny matrices gain nothing from a second thread, and on a busy machine two threads
            # stall each other at every op (a 2 s test build became 40 s beside a test run).
            num_threads=1,
            seed=seed,
            progress=progress,
        )
        return BuildRecipe("tiny", vocab_size=512, block_size=64, held_out_fraction=0.1, pretrain=settings)
    raise ValueError(f"unknown model size {size!r}; expected one of {MODEL_SIZES}")


def build_config_of(recipe: BuildRecipe) -> dict[str, object]:
    """The cache-relevant part of a recipe as JSON-able data (display-only knobs left out)."""
    config = dataclasses.asdict(recipe)
    config["pretrain"].pop("progress")
    config["pretrain"].pop("num_threads")
    config["recipe_version"] = RECIPE_VERSION
    return config


def build_demo_model(
    texts: Sequence[str],
    chat_conversations: Sequence[Conversation] | None,
    output_dir: Path,
    *,
    size: ModelSize = "demo",
    time_budget_s: float | None = None,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    force: bool = False,
    on_step: StepCallback | None = None,
) -> BuildReport:
    """Train tokenizer and model on ``texts`` + ``chat_conversations`` and save them to ``output_dir``.

    Returns the existing report without training when ``output_dir`` already holds a complete
    build of the same corpus and recipe, unless ``force``. ``time_budget_s`` bounds the training
    loop (tokenizer training and evaluation add a few seconds); ``on_step`` is called after every
    optimizer step and may raise to abort -- the old ``output_dir``, if any, is then left as it was.
    """
    output_dir = Path(output_dir)
    conversations = list(chat_conversations or [])
    validate_conversations(conversations)
    recipe = recipe_for(size, time_budget_s=time_budget_s, max_steps=max_steps, seed=seed, progress=progress)
    expected_hash = corpus_hash(texts, conversations)
    expected_config = build_config_of(recipe)

    with exclusive_build_lock(output_dir):
        cached = read_complete_report(output_dir)
        if (
            not force
            and cached
            and cached.corpus_hash == expected_hash
            and cached.build_config == expected_config
        ):
            logger.info("reusing the demo model in %s (same corpus and recipe)", output_dir)
            cached.from_cache = True
            return cached
        with staged_directory(output_dir) as staging:
            report = _build_into(
                staging, texts, conversations, recipe, expected_hash, expected_config, on_step
            )
            report.output_dir = str(output_dir)
            report.write(staging)  # last file written: its presence marks the build complete
    return report


def _build_into(
    staging: Path,
    texts: Sequence[str],
    conversations: list[Conversation],
    recipe: BuildRecipe,
    expected_hash: str,
    expected_config: dict[str, object],
    on_step: StepCallback | None,
) -> BuildReport:
    started = time.perf_counter()
    torch.manual_seed(recipe.pretrain.seed)

    logger.info("training a %d-token BPE tokenizer", recipe.vocab_size)
    tokenizer = train_bpe_tokenizer(
        tokenizer_training_texts(texts, conversations), vocab_size=recipe.vocab_size
    )

    documents = pretraining_documents(texts, conversations, tokenizer)
    train_documents, held_out_documents = split_documents(
        documents, held_out_fraction=recipe.held_out_fraction, seed=recipe.pretrain.seed
    )
    train_ids = tokenizer(train_documents, add_special_tokens=False, verbose=False)["input_ids"]
    held_out_ids = tokenizer(held_out_documents, add_special_tokens=False, verbose=False)["input_ids"]
    train_blocks = pack_into_blocks(train_ids, recipe.block_size)
    held_out_blocks = pack_into_blocks(held_out_ids, recipe.block_size)

    config = config_for_size(recipe.size, tokenizer)  # type: ignore[arg-type]
    if recipe.block_size > config.max_position_embeddings:
        raise ValueError("block_size exceeds the model's max_position_embeddings")
    model = LlamaForCausalLM(config)
    model.generation_config = _generation_config(tokenizer)
    parameter_count = sum(p.numel() for p in model.parameters())
    logger.info(
        "pre-training %s parameters on %s tokens (%d documents, %d held out)",
        f"{parameter_count:,}",
        f"{train_blocks.numel():,}",
        len(documents),
        len(held_out_documents),
    )

    result = pretrain(model, train_blocks, held_out_blocks, recipe.pretrain, on_step=on_step)

    with _quiet_transformers_progress_bars():
        model.save_pretrained(staging)  # safetensors by default
        tokenizer.save_pretrained(staging)
        _check_loadable(staging)

    return BuildReport(
        output_dir=str(staging),
        size=recipe.size,
        parameter_count=parameter_count,
        vocab_size=len(tokenizer),
        steps=result.steps,
        tokens_seen=result.tokens_seen,
        train_seconds=round(result.train_seconds, 2),
        build_seconds=round(time.perf_counter() - started, 2),
        perplexity_untrained=round(result.perplexity_untrained, 3),
        perplexity_trained=round(result.perplexity_trained, 3),
        stopped_by=result.stopped_by,
        corpus_hash=expected_hash,
        corpus_documents=len(documents),
        held_out_documents=len(held_out_documents),
        train_tokens=int(sum(len(ids) for ids in train_ids)),
        held_out_tokens=int(sum(len(ids) for ids in held_out_ids)),
        build_config=expected_config,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _generation_config(tokenizer) -> GenerationConfig:
    # Stop at the end of an assistant turn *or* at a document boundary (plain-text continuation).
    return GenerationConfig(
        eos_token_id=[tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(END_OF_TEXT)],
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.pad_token_id,
    )


def _check_loadable(directory: Path) -> None:
    """Reload the saved files the way users will, before they are published as complete."""
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        model(**prompt)


@contextmanager
def _quiet_transformers_progress_bars() -> Iterator[None]:
    # One-shard "writing"/"loading" bars for a few-MB model are noise next to the training bar.
    were_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if were_enabled:
            transformers_logging.enable_progress_bar()
