"""CLI of the benchmark: build the workload once, run each system in a subprocess, print and save.

Workloads (`--workload`): "requests" (independent prompts; the default), "chat" (multi-turn conversations
sharing a system prompt: prefix caching, `engine` against `engine_no_prefix_cache`) and "long-prompt"
(long prompts arriving while streams decode: chunked prefill, `engine` against `engine_unchunked`).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inference.bench.report import ROUND_LATENCIES, sweep_text, table, targets, targets_text
from inference.bench.systems import SYSTEMS, run_system
from inference.bench.workload import (
    RANDOM_SHAPES,
    Workload,
    build_base_model,
    chat_conversations,
    write_adapter_files,
    zipf_requests,
)
from primitives.benchmark_report import bench_report, write_bench_report

#: The default base model (`make base-model` prepares it); without it, random weights of its shape.
DEFAULT_BASE_MODEL = Path("var/models/smollm2-135m-instruct")
DEFAULT_RANDOM_SHAPE = "smollm2"
# engine_attributed is opt-in: its round (worker start-up, then the drain of its backlog) took 13-26 s on
# the toy4m workload against 35 s for the five others together, and it needs both cores of this machine.
DEFAULT_SYSTEMS = {
    "requests": ["engine", "base_only", "peft_swap", "peft_mixed", "hf_generate"],
    # the PEFT and plain-HF baselines are static batches of independent prompts: not run on these two
    "chat": ["engine", "engine_no_prefix_cache", "base_only"],
    "long-prompt": ["engine", "engine_unchunked"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.bench", description=__doc__)
    parser.add_argument(
        "--base-model",
        help=f"a local HF model directory (default: {DEFAULT_BASE_MODEL} when it exists, "
        f"else random weights of its shape, {DEFAULT_RANDOM_SHAPE})",
    )
    parser.add_argument(
        "--random-base",
        choices=sorted(RANDOM_SHAPES),
        help="random Llama of this shape instead (smollm2: the default model's; toy4m: ~4M parameters)",
    )
    parser.add_argument("--adapters", type=int, default=100, help="registered adapters (1 to 5,000)")
    parser.add_argument("--ranks", default="8,16,32,64")
    parser.add_argument("--targets", default="q_proj,v_proj", help="LoRA target modules of the adapters")
    parser.add_argument(
        "--unique-files", type=int, default=256, help="distinct adapter files behind the names"
    )
    parser.add_argument(
        "--workload", choices=sorted(DEFAULT_SYSTEMS), default="requests", help="see the module docstring"
    )
    parser.add_argument("--requests", type=int, default=128, help="requests, or long-prompt's streams")
    parser.add_argument("--conversations", type=int, default=32, help="chat: conversations")
    parser.add_argument("--turns", type=int, default=4, help="chat: turns per conversation")
    parser.add_argument("--system-len", type=int, default=256, help="chat: shared system prompt tokens")
    parser.add_argument(
        "--long-prompts", type=int, default=16, help="long-prompt: at most this many (while the streams run)"
    )
    parser.add_argument("--long-prompt-len", default="1024,1536", help="long-prompt: their length range")
    parser.add_argument("--long-every", type=float, default=1.0, help="long-prompt: seconds between them")
    parser.add_argument(
        "--max-prefill-tokens",
        type=int,
        default=512,
        help="the engine's max_prefill_tokens_per_step (prompt tokens per step; longer prompts are chunked)",
    )
    parser.add_argument(
        "--concurrency",
        default="32",
        help="closed-loop clients = static batch size; a list (32,64,128) sweeps, each with its own rounds",
    )
    parser.add_argument(
        "--prompt-len", default="16,64", help="uniform range of prompt tokens (chat: of each user turn)"
    )
    parser.add_argument(
        "--output-len", default="16,64", help="uniform range of generated tokens (chat: of each answer)"
    )
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per system (2 thrash when shared)"
    )
    parser.add_argument(
        "--systems",
        help=f"comma-separated, of {', '.join(SYSTEMS)} (default: by workload, "
        + "; ".join(f"{kind}: {','.join(names)}" for kind, names in DEFAULT_SYSTEMS.items())
        + ")",
    )
    parser.add_argument("--peft-swap-requests", type=int, default=16, help="peft_swap measures this prefix")
    parser.add_argument("--peft-mixed-max-adapters", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=1, help="rounds over all systems; best round is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--adapter-dir", type=Path, default=Path("var/bench/adapters"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workload-spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.systems = args.systems or ",".join(DEFAULT_SYSTEMS[args.workload])
    unknown = sorted(set(args.systems.split(",")) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    options = {
        "peft_swap_requests": args.peft_swap_requests,
        "peft_mixed_max_adapters": args.peft_mixed_max_adapters,
    }

    if args.worker:  # inside the subprocess of one system
        result = run_system(args.worker, Workload.load(args.workload_spec), options)
        args.out.write_text(json.dumps(result))
        return 0

    concurrencies = [int(c) for c in args.concurrency.split(",")]
    workload = _prepare(args)
    sweep: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for concurrency in concurrencies:
            workload.concurrency = concurrency
            results = _run_rounds(args, workload, Path(scratch), concurrency)
            sweep[concurrency] = {"results": results, "targets": targets(results)}
            _print_run(args, workload, concurrency, results)
    if len(concurrencies) > 1:
        print("\nsweep (best rounds):\n" + sweep_text({c: run["results"] for c, run in sweep.items()}))
    if args.json:
        record = {"args": {k: str(v) for k, v in vars(args).items()}}
        if len(concurrencies) == 1:
            record |= sweep[concurrencies[0]]
        else:
            record["by_concurrency"] = {str(c): run for c, run in sweep.items()}
        write_bench_report(args.json, bench_report(f"engine-{args.workload}", record))
    return 0


def _run_rounds(args: argparse.Namespace, workload: Workload, scratch: Path, concurrency: int) -> dict:
    """`--repeats` interleaved rounds over the systems at one concurrency; each system's best round."""
    results: dict[str, dict] = {}
    spec = scratch / f"workload-{concurrency}.json"
    workload.save(spec)
    for round_index in range(args.repeats):
        for system in args.systems.split(","):
            out = scratch / f"{system}.json"
            began = time.perf_counter()
            command = [
                sys.executable,
                "-m",
                "inference.bench",
                "--worker",
                system,
                "--workload-spec",
                str(spec),
                "--out",
                str(out),
                *_option_args(args),
            ]
            completed = subprocess.run(command, capture_output=True, text=True)
            if completed.returncode != 0:
                print(f"{system} failed:\n{completed.stderr[-3000:]}", file=sys.stderr)
                continue
            result = json.loads(out.read_text())
            result["rounds"] = [*results.get(system, {}).get("rounds", []), result["tokens_per_s"]]
            latencies = {key: result.get(key) for key in ROUND_LATENCIES}
            result["round_latencies"] = [*results.get(system, {}).get("round_latencies", []), latencies]
            if system not in results or result["tokens_per_s"] > results[system]["tokens_per_s"]:
                results[system] = result
            else:
                results[system]["rounds"] = result["rounds"]
                results[system]["round_latencies"] = result["round_latencies"]
            took = time.perf_counter() - began
            print(
                f"  concurrency {concurrency} round {round_index + 1} {system}: "
                f"{result['tokens_per_s']:.0f} tok/s ({took:.0f} s)",
                file=sys.stderr,
            )
    return results


def _print_run(args: argparse.Namespace, workload: Workload, concurrency: int, results: dict) -> None:
    base = workload.base_model or f"random {workload.random_shape} Llama"
    shape = {
        "requests": f"requests: {args.requests} (Zipf a={args.zipf}), prompt {args.prompt_len}",
        "chat": f"chat: {args.conversations} conversations x {args.turns} turns (Zipf a={args.zipf}), "
        f"system prompt {args.system_len}, user turns {args.prompt_len}",
        "long-prompt": f"long-prompt: {args.requests} streams (Zipf a={args.zipf}), "
        f"prompt {args.prompt_len}; "
        f"long prompts of {args.long_prompt_len} tokens, one every {args.long_every} s while they run "
        f"(at most {args.long_prompts})",
    }[args.workload]
    print(
        f"\nbase: {base}; adapters: {args.adapters} (ranks {args.ranks}, targets {args.targets}); "
        f"{shape}, concurrency {concurrency}, output {args.output_len}, "
        f"max prefill tokens/step {args.max_prefill_tokens}, threads {args.threads}, "
        f"best of {args.repeats} round(s)\n"
    )
    print(table(results))
    if args.repeats > 1:
        print(
            "\nevery round (tok/s): "
            + "; ".join(
                f"{name} " + ", ".join(f"{rate:.0f}" for rate in result["rounds"])
                for name, result in results.items()
            )
        )
    print("\ntargets:\n" + targets_text(targets(results)))


def _prepare(args: argparse.Namespace) -> Workload:
    base_model = args.base_model
    if (
        base_model is None
        and args.random_base is None
        and DEFAULT_BASE_MODEL.joinpath("config.json").is_file()
    ):
        base_model = str(DEFAULT_BASE_MODEL)
    workload = Workload(
        base_model=None if args.random_base else base_model,
        random_shape=args.random_base or DEFAULT_RANDOM_SHAPE,
        seed=args.seed,
        threads=args.threads,
        concurrency=int(args.concurrency.split(",")[0]),
        targets=args.targets.split(","),
        adapters={},
        adapter_ranks={},
    )
    model = build_base_model(workload)
    ranks = [int(r) for r in args.ranks.split(",")]
    files = write_adapter_files(
        model, workload.targets, ranks, min(args.adapters, args.unique_files), args.adapter_dir, args.seed
    )
    for index in range(args.adapters):
        path, rank = files[index % len(files)]
        workload.adapters[f"adapter-{index}"] = str(path)
        workload.adapter_ranks[f"adapter-{index}"] = rank
    workload.kind = args.workload
    workload.max_prefill_tokens = args.max_prefill_tokens
    vocab = model.config.vocab_size
    if args.workload == "chat":
        rng = random.Random(args.seed + 1)
        workload.system_prompt = [rng.randrange(vocab) for _ in range(args.system_len)]
        workload.conversations = chat_conversations(
            list(workload.adapters),
            args.conversations,
            args.turns,
            args.zipf,
            _range(args.prompt_len),
            _range(args.output_len),
            vocab,
            args.seed,
        )
        return workload
    workload.requests = zipf_requests(
        list(workload.adapters),
        args.requests,
        args.zipf,
        _range(args.prompt_len),
        _range(args.output_len),
        vocab,
        args.seed,
    )
    if args.workload == "long-prompt":
        workload.long_every_s = args.long_every
        long_lens = _range(args.long_prompt_len)
        names = list(workload.adapters)
        workload.long_prompts = zipf_requests(
            names, args.long_prompts, args.zipf, long_lens, (1, 1), vocab, args.seed + 2
        )
    return workload


def _range(text: str) -> tuple[int, int]:
    low, high = (int(v) for v in text.split(","))
    return low, high


def _option_args(args: argparse.Namespace) -> list[str]:
    return [
        "--peft-swap-requests",
        str(args.peft_swap_requests),
        "--peft-mixed-max-adapters",
        str(args.peft_mixed_max_adapters),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
