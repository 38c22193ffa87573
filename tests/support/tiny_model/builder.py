"""Build the tiny test model end to end: tokenizer, pre-training, save, report.

The result is an ordinary `transformers` checkpoint (safetensors weights, a fast tokenizer with a
ChatML template), so fine-tuning with TRL/PEFT, serving and attribution treat it exactly like the
default base model in tests -- at a size that builds in about two seconds on one CPU thread.

Builds are cached (same corpus and recipe: the existing model is reused) and published atomically
(a build killed midway never leaves a directory that looks like a finished model), so a test run
interrupted while the fixture builds cannot poison the next one.
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

from primitives.atomic_files import exclusive_build_lock, staged_directory

from .architecture import tiny_config
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
RECIPE_VERSION = 2

#: Enough for the toy corpus to be learnt (held-out perplexity far below untrained), in ~2 s.
TINY_STEPS = 150


@dataclass(frozen=True)
class BuildRecipe:
    """Everything besides the corpus that determines the model; it is part of the cache key."""

    vocab_size: int
    block_size: int
    held_out_fraction: float
    pretrain: PretrainSettings


def tiny_recipe(*, max_steps: int = TINY_STEPS, seed: int = 0) -> BuildRecipe:
    """The tiny model's recipe; a fixed step count keeps builds deterministic."""
    settings = PretrainSettings(
        max_steps=max_steps, batch_size=16, learning_rate=1e-2, warmup_steps=10, seed=seed
    )
    return BuildRecipe(vocab_size=512, block_size=64, held_out_fraction=0.1, pretrain=settings)


def build_config_of(recipe: BuildRecipe) -> dict[str, object]:
    """The cache-relevant part of a recipe as JSON-able data (display-only knobs left out)."""
    config = dataclasses.asdict(recipe)
    config["pretrain"].pop("num_threads")
    config["recipe_version"] = RECIPE_VERSION
    return config


def build_tiny_model(
    texts: Sequence[str],
    chat_conversations: Sequence[Conversation] | None,
    output_dir: Path,
    *,
    max_steps: int = TINY_STEPS,
    seed: int = 0,
    force: bool = False,
    on_step: StepCallback | None = None,
) -> BuildReport:
    """Train tokenizer and model on ``texts`` + ``chat_conversations`` and save them to ``output_dir``.

    Returns the existing report without training when ``output_dir`` already holds a complete
    build of the same corpus and recipe, unless ``force``. ``on_step`` is called after every
    optimizer step and may raise to abort -- the old ``output_dir``, if any, is then left as it was.
    """
    output_dir = Path(output_dir)
    conversations = list(chat_conversations or [])
    validate_conversations(conversations)
    recipe = tiny_recipe(max_steps=max_steps, seed=seed)
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
            logger.info("reusing the tiny model in %s (same corpus and recipe)", output_dir)
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

    config = tiny_config(tokenizer)
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
        parameter_count=parameter_count,
        vocab_size=len(tokenizer),
        steps=result.steps,
        tokens_seen=result.tokens_seen,
        train_seconds=round(result.train_seconds, 2),
        build_seconds=round(time.perf_counter() - started, 2),
        perplexity_untrained=round(result.perplexity_untrained, 3),
        perplexity_trained=round(result.perplexity_trained, 3),
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
