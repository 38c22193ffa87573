"""Benchmark: training throughput through `run_training` versus a plain, minimal TRL script.

    python -m modelfactory.finetuning.training.bench_training --json var/bench/training.json

Both sides train the same LoRA on the default base model, SmolLM2-135M-Instruct (``--base-model``
for another), with the same rank, targets, learning rate, batch, sequence length, seed, checkpoint
and evaluation cadence, on the same rows of a seed datanet for the same number of steps. The
baseline is what a person would write with TRL alone: a conversational prompt/completion dataset
with ``completion_only_loss`` and ``peft_config`` handed to `SFTTrainer`. (Not ``assistant_only_loss``
on a ``messages`` dataset: TRL needs ``{% generation %}`` marks in the chat template for that, which
SmolLM2's template lacks and TRL 1.16 refuses to patch in.) The rows are single-answer chats, so the
completion is that one answer and both sides put the loss on the same tokens (TRL's completion also
takes the newline after ``<|im_end|>``). Both sample sequentially over the same row order, so they see
identical batches and tokens/s compares like with like.

Measured honestly: a short warm-up run of each side first (imports, allocator, file cache), then
``--repeats`` pairs in alternating order (ours first, then baseline first, ...) so that drift in a
shared machine's load hits both sides alike; the medians are compared. The primary number is
training-loop throughput (tokens / wall time of ``trainer.train()``), which is where our callbacks,
journal and cancel polling live; end-to-end wall time (loading, tokenizing, saving) is reported too.
The post-training evaluation (base vs adapter) is a feature the baseline lacks, so it is off here.
The defaults (a few steps of batch 4 on 64 rows, one thread) finish in a few minutes on two CPU
cores; raise ``--steps`` and ``--repeats`` for a number to quote.
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

from primitives.benchmark_report import bench_report, write_bench_report

from .data import PreparedData
from .model_loading import load_tokenizer
from .spec import TrainingSpec
from .trainer import prepare_spec_data, run_training

TARGET_OVERHEAD = 0.05
#: The default base model, as `make base-model` prepares it.
DEFAULT_BASE_MODEL = Path("var/models/smollm2-135m-instruct")


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
    """The first ``limit`` single-answer chats of one seed datanet, as a datanet export gives them.

    Single-answer, so that the baseline's prompt/completion split (everything up to the answer,
    then the answer) puts its loss on the tokens of `run_training`'s assistant mask (plus the
    template's newline after the answer's end-of-turn token).
    """
    from datanets.seed import seed_datanets

    for seed_datanet in seed_datanets():
        if seed_datanet.slug != datanet:
            continue
        chats = [row.content for row in seed_datanet.rows if _is_single_answer_chat(row.content)]
        if not chats:
            raise SystemExit(f"seed datanet {datanet!r} has no single-answer chat rows")
        return [{"row_id": i + 1, **content} for i, content in enumerate(chats[:limit])]
    raise SystemExit(f"unknown seed datanet {datanet!r}")


def _is_single_answer_chat(content: dict[str, Any]) -> bool:
    messages = content.get("messages") or []
    roles = [message["role"] for message in messages]
    return bool(roles) and roles[-1] == "assistant" and roles.count("assistant") == 1


def existing_base_model(path: Path) -> Path:
    """``path`` if it holds a model; otherwise stop with how to get the default one."""
    if not (path / "config.json").is_file():
        hint = " (run `make base-model`)" if path == DEFAULT_BASE_MODEL else ""
        raise SystemExit(f"no model in {path}{hint}")
    return path


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
    """A minimal TRL script: what one writes without ModelFactory, on the same rows in the same order.

    Each chat becomes a conversational prompt/completion pair (the turns before the answer, then
    the answer) and ``completion_only_loss`` masks the prompt: the plain-TRL way to train on answers
    only with a chat template that has no ``{% generation %}`` marks.
    """
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    output = work / "plain"
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    by_id = {row["row_id"]: row for row in rows}
    train = Dataset.from_list([_prompt_completion(by_id[i]) for i in data.train_row_ids])
    evaluation = Dataset.from_list([_prompt_completion(by_id[i]) for i in data.eval_row_ids])
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
            completion_only_loss=True,
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


def _prompt_completion(row: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
    return {"prompt": messages[:-1], "completion": messages[-1:]}


# --- Orchestration ---------------------------------------------------------------------------------
def benchmark(
    *,
    base_model: Path,
    steps: int,
    repeats: int,
    warmup_steps: int,
    batch_size: int,
    max_seq_length: int,
    rows: list[dict[str, Any]],
    work: Path,
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
        batch_size=batch_size,
        max_seq_length=max_seq_length,
        eval_fraction=0.05,
        save_every_steps=max(1, steps // 2),
        eval_every_steps=max(1, steps // 2),
        seed=0,
    )
    tokenizer = load_tokenizer(spec.base_model)
    data = prepare_spec_data(spec, rows, tokenizer)  # the baseline trains on the same batches, in order
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
    parser.add_argument(
        "--base-model",
        type=Path,
        default=DEFAULT_BASE_MODEL,
        help=f"base model directory (default: {DEFAULT_BASE_MODEL}, the default base model)",
    )
    parser.add_argument("--datanet", default="lumen-support", help="seed datanet to train on (chat rows)")
    parser.add_argument("--rows", type=int, default=64, help="its first single-answer chats to use")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="measured pairs (ours, baseline)")
    parser.add_argument("--warmup-steps", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: a shared machine)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    from datasets.utils.logging import disable_progress_bar
    from transformers.utils import logging as transformers_logging

    disable_progress_bar()
    transformers_logging.disable_progress_bar()

    base_model = existing_base_model(args.base_model)
    rows = benchmark_rows(args.datanet, args.rows)
    with tempfile.TemporaryDirectory(prefix="mf-bench-") as work:
        report = benchmark(
            base_model=base_model,
            steps=args.steps,
            repeats=args.repeats,
            warmup_steps=args.warmup_steps,
            batch_size=args.batch_size,
            max_seq_length=args.max_seq_length,
            rows=rows,
            work=Path(work),
        )
    write_bench_report(args.json, bench_report("training", report))
    print(
        f"run_training {report['run_training_tokens_per_second']:.0f} tok/s vs plain TRL "
        f"{report['plain_trl_tokens_per_second']:.0f} tok/s: ratio {report['ratio']:.3f} "
        f"(paired median {report['pair_ratio_median']:.3f}), overhead {report['overhead_percent']:.1f}% "
        f"(target ≤ {TARGET_OVERHEAD * 100:.0f}%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
