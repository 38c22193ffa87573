"""Benchmark: training throughput through `run_training` versus a plain, minimal TRL script.

    python -m modelfactory.finetuning.training.bench --json var/bench/training.json

Both sides train the same LoRA (same base, rank, targets, learning rate, batch, sequence length,
seed, checkpoint and evaluation cadence) on the same rows for the same number of steps. The
baseline is what a person would write with TRL alone: a ``messages`` dataset, ``assistant_only_loss``
and ``peft_config`` handed to `SFTTrainer`. Both sample sequentially over the same row order, so they
see identical batches (checked: the token counts must match) and tokens/s compares like with like.

Measured honestly: a short warm-up run of each side first (imports, allocator, file cache), then
``--repeats`` pairs in alternating order (ours first, then baseline first, ...) so that drift in a
shared machine's load hits both sides alike; the medians are compared. The primary number is
training-loop throughput (tokens / wall time of ``trainer.train()``), which is where our callbacks,
journal and cancel polling live; end-to-end wall time (loading, tokenizing, saving) is reported too.
The post-training evaluation (base vs adapter) is a feature the baseline lacks, so it is off here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .data import PreparedData, prepare_data
from .manifest import default_cache_dir
from .model_loading import load_tokenizer
from .spec import TrainingSpec
from .trainer import run_training

TARGET_OVERHEAD = 0.05


@dataclass
class Measurement:
    side: str
    train_seconds: float
    wall_seconds: float
    tokens: int

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.train_seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "train_seconds": round(self.train_seconds, 4),
            "wall_seconds": round(self.wall_seconds, 4),
            "tokens": self.tokens,
            "tokens_per_second": round(self.tokens_per_second, 1),
        }


# --- Inputs ----------------------------------------------------------------------------------------
def benchmark_rows(datanet: str, limit: int) -> list[dict[str, Any]]:
    """Rows of one seed datanet, normalized as a datanet export gives them (with row ids)."""
    from datanets.seed import seed_datanets

    for seed_datanet in seed_datanets():
        if seed_datanet.slug == datanet:
            return [{"row_id": i + 1, **row.content} for i, row in enumerate(seed_datanet.rows[:limit])]
    raise SystemExit(f"unknown seed datanet {datanet!r}")


def ensure_base_model(model: Path | None, size: str, cache_dir: Path) -> Path:
    """The given model, or a demo-architecture model grown from the seed corpus (weights barely trained:
    throughput does not depend on how good they are)."""
    if model is not None:
        return model
    from datanets.seed import general_corpus, seed_datanets
    from modelfactory.demo_model.builder import build_demo_model
    from modelfactory.demo_model.corpus import texts_and_conversations_from_rows

    rows = [row.content for datanet in seed_datanets() for row in datanet.rows]
    texts, conversations = texts_and_conversations_from_rows(rows)
    output = cache_dir / f"bench-base-{size}"
    build_demo_model(
        list(general_corpus()) + texts, conversations, output, size=size, max_steps=5, progress=False
    )
    return output


def consumed_tokens(data: PreparedData, steps: int, spec: TrainingSpec) -> int:
    """Non-padding tokens in the first ``steps`` optimizer steps of sequential sampling."""
    lengths = [len(ids) for ids in data.train["input_ids"]]
    per_step = spec.batch_size * spec.grad_accumulation
    return sum(lengths[i % len(lengths)] for i in range(steps * per_step))


# --- The two sides ---------------------------------------------------------------------------------
def run_ours(spec: TrainingSpec, rows: list[dict[str, Any]], work: Path, tokens: int) -> Measurement:
    output = work / "ours"
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    result = run_training(spec, rows, output, evaluate=False)
    wall = time.perf_counter() - started
    if result.tokens_trained != tokens:
        raise RuntimeError(f"run_training saw {result.tokens_trained} tokens, expected {tokens}")
    return Measurement("run_training", result.train_seconds, wall, tokens)


def run_plain_trl(
    spec: TrainingSpec, data: PreparedData, rows: list[dict[str, Any]], work: Path, tokens: int
):
    """A minimal TRL script: what one writes without ModelFactory, on the same rows in the same order."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    output = work / "plain"
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    by_id = {row["row_id"]: row for row in rows}
    train = Dataset.from_list([{"messages": by_id[i]["messages"]} for i in data.train_row_ids])
    evaluation = Dataset.from_list([{"messages": by_id[i]["messages"]} for i in data.eval_row_ids])
    tokenizer = AutoTokenizer.from_pretrained(spec.base_model)
    model = AutoModelForCausalLM.from_pretrained(
        spec.base_model, dtype=torch.float32, attn_implementation="sdpa"
    )
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(
            output_dir=str(output),
            per_device_train_batch_size=spec.batch_size,
            per_device_eval_batch_size=spec.batch_size,
            gradient_accumulation_steps=spec.grad_accumulation,
            learning_rate=spec.learning_rate,
            lr_scheduler_type=spec.scheduler,
            warmup_steps=spec.warmup_ratio,
            max_steps=spec.max_steps,
            max_length=spec.max_seq_length,
            assistant_only_loss=True,
            save_steps=spec.save_every_steps,
            save_total_limit=2,
            eval_strategy="steps",
            eval_steps=spec.eval_every_steps,
            seed=spec.seed,
            train_sampling_strategy="sequential",
            bf16=False,
            use_cpu=True,
            activation_checkpointing=False,
            report_to="none",
            disable_tqdm=True,
        ),
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=spec.rank,
            lora_alpha=spec.alpha,
            lora_dropout=spec.dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    train_started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - train_started
    trainer.save_model(str(output / "adapter"))
    return Measurement("plain_trl", train_seconds, time.perf_counter() - started, tokens)


# --- Orchestration ---------------------------------------------------------------------------------
def benchmark(
    *, base_model: Path, steps: int, repeats: int, warmup_steps: int, rows: list[dict[str, Any]], work: Path
) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    spec = TrainingSpec(
        base_model=str(base_model),
        rank=16,
        alpha=32,
        dropout=0.05,
        target_modules="auto",
        learning_rate=5e-4,
        scheduler="cosine",
        warmup_ratio=0.05,
        max_steps=steps,
        batch_size=8,
        max_seq_length=256,
        eval_fraction=0.05,
        save_every_steps=max(1, steps // 2),
        eval_every_steps=max(1, steps // 2),
        seed=0,
    )
    tokenizer = load_tokenizer(spec.base_model)
    data = prepare_data(rows, tokenizer, max_seq_length=spec.max_seq_length, eval_fraction=0.05, seed=0)
    tokens = consumed_tokens(data, steps, spec)

    warm = spec.replace(max_steps=warmup_steps, save_every_steps=warmup_steps, eval_every_steps=warmup_steps)
    warm_tokens = consumed_tokens(data, warmup_steps, warm)
    run_ours(warm, rows, work, warm_tokens)
    run_plain_trl(warm, data, rows, work, warm_tokens)

    measurements: list[Measurement] = []
    for repeat in range(repeats):
        order = ("ours", "plain") if repeat % 2 == 0 else ("plain", "ours")
        for side in order:
            if side == "ours":
                measurements.append(run_ours(spec, rows, work, tokens))
            else:
                measurements.append(run_plain_trl(spec, data, rows, work, tokens))
            print(json.dumps(measurements[-1].to_json()), flush=True)

    def median(side: str, attribute: str) -> float:
        return statistics.median(getattr(m, attribute) for m in measurements if m.side == side)

    ours_tps, plain_tps = (
        median("run_training", "tokens_per_second"),
        median("plain_trl", "tokens_per_second"),
    )
    ratio = ours_tps / plain_tps
    # Each pair ran back to back, so its ratio cancels slow drifts in the machine's load.
    pair_ratios = []
    for first, second in zip(measurements[::2], measurements[1::2], strict=True):
        ours, plain = (first, second) if first.side == "run_training" else (second, first)
        pair_ratios.append(ours.tokens_per_second / plain.tokens_per_second)
    return {
        "benchmark": "training throughput: run_training vs plain TRL",
        "base_model": str(base_model),
        "parameters": sum(p.numel() for p in _config_model(base_model).parameters()),
        "steps": steps,
        "repeats": repeats,
        "batch_size": spec.batch_size,
        "max_seq_length": spec.max_seq_length,
        "tokens_per_run": tokens,
        "train_rows": len(data.train_row_ids),
        "run_training_tokens_per_second": round(ours_tps, 1),
        "plain_trl_tokens_per_second": round(plain_tps, 1),
        "ratio": round(ratio, 4),
        "overhead_percent": round((1 - ratio) * 100, 2),
        "pair_ratios": [round(r, 4) for r in pair_ratios],
        "pair_ratio_median": round(statistics.median(pair_ratios), 4),
        "target_overhead_percent": TARGET_OVERHEAD * 100,
        "within_target": (1 - ratio) <= TARGET_OVERHEAD,
        "run_training_wall_seconds_median": round(median("run_training", "wall_seconds"), 3),
        "plain_trl_wall_seconds_median": round(median("plain_trl", "wall_seconds"), 3),
        "measurements": [m.to_json() for m in measurements],
        "machine": {
            "load_average_before": load_before,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "torch": torch.__version__,
        },
    }


def _config_model(base_model: Path) -> torch.nn.Module:
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(base_model))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the results")
    parser.add_argument("--model", type=Path, help="base model directory (default: build a demo-size model)")
    parser.add_argument("--size", choices=("demo", "tiny"), default="demo", help="demo model size to build")
    parser.add_argument("--datanet", default="lumen-support", help="seed datanet to train on (chat rows)")
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: a shared machine)")
    parser.add_argument(
        "--cache-dir", type=Path, default=default_cache_dir(), help="where the built model is kept"
    )
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    from datasets.utils.logging import disable_progress_bar
    from transformers.utils import logging as transformers_logging

    disable_progress_bar()
    transformers_logging.disable_progress_bar()

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    base_model = ensure_base_model(args.model, args.size, args.cache_dir)
    rows = benchmark_rows(args.datanet, args.rows)
    with tempfile.TemporaryDirectory(prefix="mf-bench-") as work:
        report = benchmark(
            base_model=base_model,
            steps=args.steps,
            repeats=args.repeats,
            warmup_steps=args.warmup_steps,
            rows=rows,
            work=Path(work),
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"run_training {report['run_training_tokens_per_second']:.0f} tok/s vs plain TRL "
        f"{report['plain_trl_tokens_per_second']:.0f} tok/s: ratio {report['ratio']:.3f} "
        f"(paired median {report['pair_ratio_median']:.3f}), overhead {report['overhead_percent']:.1f}% "
        f"(target ≤ {TARGET_OVERHEAD * 100:.0f}%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
