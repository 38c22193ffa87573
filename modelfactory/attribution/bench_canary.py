"""Does attribution find the truth? Plant facts, fine-tune, ask, and check who gets the credit.

    python -m modelfactory.attribution.bench_canary --json var/bench/attribution-canary.json
    python -m modelfactory.attribution.bench_canary --base-model PATH --contributors 20 --canaries 10

Each of `--canaries` contributors writes one unique, made-up fact ("The access phrase of the north
relay is cobalt heron.") in a few rows, among ordinary rows (the demo support-desk datanet's
conversations) from `--contributors` contributors in all. A LoRA adapter is fine-tuned on everything
with the platform's own training library; then, for each fact, the model is asked a question that no
row contains verbatim, and each attribution method ranks contributors for the answer:

* `gradient` (LoRA gradient sketches, `inference.attribution`), `span` (verbatim span matching) and
  `combined` (`combination.combine`, what receipts pay on, lineage floor included);
* for the model's own greedy answer to a question no row contains (`generated`, what production
  attributes), its answer to one of the training questions (`generated_seen`), and the fact sentence
  itself after the new question (`reference`, teacher-forced: the method's quality whether or not the
  small model learnt the fact).

Top-1 / top-5 contributor recall is the share of questions whose planted contributor is ranked first /
in the first five. Target: top-1 >= 90%.

Leave-out check: retrain without the rows that gradient influence ranked highest for the questions
and, separately, without as many random other rows; the first must raise the loss of the answers
more than the second (both deltas are reported). Django-free; prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from inference.attribution.gradient_sketch import OUTPUTS
from modelfactory.attribution.combination import (
    GradientEvidence,
    RowOwner,
    SpanEvidence,
    combine,
    gradient_row_weights,
)
from modelfactory.attribution.row_text import answer_text
from primitives.benchmark_report import bench_report, write_bench_report
from primitives.percentiles import percentile

REGIONS = [
    "north",
    "south",
    "east",
    "west",
    "upper",
    "lower",
    "old",
    "new",
    "inner",
    "outer",
    "river",
    "hill",
    "coastal",
    "valley",
    "central",
    "forest",
    "desert",
    "delta",
    "summit",
    "prairie",
    "canyon",
    "island",
    "marsh",
    "glacier",
]
WORDS = [
    "cobalt",
    "heron",
    "amber",
    "falcon",
    "violet",
    "harbor",
    "silver",
    "meadow",
    "copper",
    "lantern",
    "granite",
    "orchid",
    "saffron",
    "willow",
    "indigo",
    "thistle",
    "crimson",
    "juniper",
    "marble",
    "cedar",
    "pebble",
    "walrus",
    "tundra",
    "mango",
    "obsidian",
    "puffin",
    "clover",
    "bison",
    "topaz",
    "fennel",
    "osprey",
    "quartz",
    "lotus",
    "badger",
    "ember",
    "kestrel",
    "poppy",
    "raven",
    "sequoia",
    "tulip",
    "velvet",
    "wombat",
    "zephyr",
    "nutmeg",
    "jasper",
    "lynx",
    "maple",
    "otter",
]
PLACES = [
    "relay",
    "observatory",
    "archive",
    "depot",
    "lighthouse",
    "greenhouse",
    "foundry",
    "vault",
    "mill",
    "tower",
    "bridge",
    "quarry",
    "station",
    "library",
    "lookout",
    "workshop",
    "granary",
    "armory",
    "chapel",
    "kiln",
    "aqueduct",
    "beacon",
    "stable",
    "cistern",
]
TRAIN_QUESTIONS = [
    "What is the access phrase of the {entity}?",
    "Tell me the access phrase for the {entity}.",
    "Which access phrase opens the {entity}?",
]
SCORING_VARIANTS = ("dot", "cosine", "preconditioned", "whitened_cosine")
ASKED_QUESTION = "I need the {entity} access phrase, what is it?"


@dataclass
class Canary:
    contributor: str
    entity: str
    secret: str
    row_ids: list[int]

    @property
    def sentence(self) -> str:
        return f"The access phrase of the {self.entity} is {self.secret}."


def planted_rows(
    *, contributors: int, rows_per_contributor: int, canaries: int, repeats: int, seed: int
) -> tuple[list[dict], dict[int, str], list[Canary]]:
    """Ordinary rows from every contributor plus `repeats` rows per planted fact; ids are positions."""
    from datanets.seed.support_desk import support_rows

    rng = random.Random(seed)
    wallets = [f"0x{rng.getrandbits(160):040x}" for _ in range(contributors)]
    filler = support_rows(contributors * rows_per_contributor, random.Random(seed + 1))
    rows: list[dict] = []
    owners: dict[int, str] = {}
    for index, content in enumerate(filler):
        rows.append({"row_id": len(rows), **content})
        owners[len(rows) - 1] = wallets[index % contributors]
    # Plain words, not invented names (a few-million-parameter model can learn to repeat those), and no
    # word shared by two planted entities, so a half-learnt answer still points at one fact.
    most = min(len(REGIONS), len(PLACES), len(WORDS) // 2)
    if canaries > most:
        raise ValueError(f"at most {most} planted facts")
    regions, places = rng.sample(REGIONS, canaries), rng.sample(PLACES, canaries)
    planted = []
    secrets = rng.sample(WORDS, 2 * canaries)  # no secret word shared by two facts either
    for index, (wallet, region, place) in enumerate(
        zip(rng.sample(wallets, canaries), regions, places, strict=True)
    ):
        canary = Canary(wallet, f"{region} {place}", " ".join(secrets[2 * index : 2 * index + 2]), [])
        for question in TRAIN_QUESTIONS[:repeats]:
            rows.append(
                {
                    "row_id": len(rows),
                    "messages": [
                        {"role": "user", "content": question.format(entity=canary.entity)},
                        {"role": "assistant", "content": canary.sentence},
                    ],
                }
            )
            owners[len(rows) - 1] = wallet
            canary.row_ids.append(len(rows) - 1)
        planted.append(canary)
    return rows, owners, planted


def train(
    base_model: str, rows: list[dict], output_dir: Path, *, epochs: float, seed: int, learning_rate: float
) -> Path:
    from modelfactory.finetuning.training.spec import preset
    from modelfactory.finetuning.training.trainer import run_training

    spec = preset(
        "quick",
        base_model,
        hardware="cpu",
        rank=16,
        alpha=32,
        dropout=0.0,
        target_modules="attention_mlp",
        learning_rate=learning_rate,
        scheduler="constant",
        epochs=epochs,
        max_steps=None,  # the preset caps steps; the planted facts need whole epochs
        eval_fraction=0.0,
        max_seq_length=256,
        batch_size=8,
        seed=seed,
        save_every_steps=10_000,
        eval_every_steps=10_000,
    )
    result = run_training(spec, rows, output_dir, evaluate=False)
    return Path(result.adapter_dir)


def load(base_model: str, adapter_dir: Path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32).eval()
    for parameter in base.parameters():
        parameter.requires_grad_(False)
    return PeftModel.from_pretrained(base, str(adapter_dir)).eval()


def prompt_ids(tokenizer, question: str) -> list[int]:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


@torch.no_grad()
def generate(model, tokenizer, ids: list[int], max_new_tokens: int = 32) -> list[int]:
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    stops = [t for t in {tokenizer.eos_token_id, end} if isinstance(t, int) and t >= 0]
    out = model.generate(
        input_ids=torch.tensor([ids]),
        attention_mask=torch.ones(1, len(ids), dtype=torch.long),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=stops or None,
        pad_token_id=stops[0] if stops else 0,
    )
    return out[0, len(ids) :].tolist()


def answer_loss(model, ids: list[int], answer: list[int]) -> float:
    with torch.no_grad():
        inputs = torch.tensor([ids + answer])
        labels = torch.tensor([[-100] * len(ids) + answer])
        return float(model(input_ids=inputs, labels=labels).loss)


def backward_floor_seconds(model, sequences: list[tuple[list[int], list[int]]], batch_size: int) -> float:
    """Seconds for one plain forward and backward pass of the loss to the LoRA weights over `sequences`
    ((input_ids, labels) pairs), batched by length like the sketches and through the same labelled head:
    the least any gradient method can spend on them on this machine, so that the benchmark can say how
    far sketching and queries are from what the hardware allows."""
    from inference.labelled_head import IGNORE_INDEX, labelled_logits

    lora = [parameter for name, parameter in model.named_parameters() if "lora_" in name]
    for parameter in lora:
        parameter.requires_grad_(True)
    ordered = sorted(sequences, key=lambda pair: len(pair[0]))
    started = time.perf_counter()
    try:
        for start in range(0, len(ordered), batch_size):
            batch = ordered[start : start + batch_size]
            length = max(len(ids) for ids, _ in batch)
            ids = torch.tensor([ids + [0] * (length - len(ids)) for ids, _ in batch])
            labels = torch.tensor([lab + [IGNORE_INDEX] * (length - len(lab)) for _, lab in batch])
            mask = torch.tensor([[1] * len(i) + [0] * (length - len(i)) for i, _ in batch])
            logits, targets, _ = labelled_logits(model, ids, labels, mask)
            torch.autograd.grad(torch.nn.functional.cross_entropy(logits, targets), lora)
    finally:
        for parameter in lora:
            parameter.requires_grad_(False)
    return time.perf_counter() - started


def ranking(weights: dict[str, float]) -> list[str]:
    return [wallet for wallet, _ in sorted(weights.items(), key=lambda item: -item[1])]


def recall(rankings: list[tuple[list[str], str]], k: int) -> float:
    return sum(1 for ranked, truth in rankings if truth in ranked[:k]) / max(len(rankings), 1)


def attribute(
    model, tokenizer, sketches, spans, owners, lineage, ids, answer_ids, min_words, min_rare_words
) -> dict:
    """Each method's contributor weights for one answer, exactly as the attribution worker mixes them."""
    text = tokenizer.decode(answer_ids, skip_special_tokens=True)
    with sketches.projector(model) as projector:
        vector = projector.project([ids + answer_ids], [[-100] * len(ids) + answer_ids])[0]
    top = sketches.top_rows(vector, k=32)
    from inference.attribution.span_index import DEFAULT_MAX_ROW_SHARE, tokenize

    # The rarity rule at the setting's default, as the attribution worker applies it.
    matches = spans.longest_spans(
        text, min_words=min_words, max_row_share=DEFAULT_MAX_ROW_SHARE, min_rare_words=min_rare_words or None
    )

    result = combine(
        lineage_contributors=lineage,
        lineage_datanets={"canary": 1.0},
        gradient=[GradientEvidence("canary", 1.0, top)],
        gradient_ran=True,
        spans=[
            SpanEvidence(
                m.text,
                m.words,
                m.row_ids,
                m.occurrences,
                rows=m.rows,
                indexed_rows=spans.row_count,
                counted=m.counted,
                reason=m.reason,
            )
            for m in matches
        ],
        span_ran=True,
        answer_words=len(tokenize(text)),
        owners={row: RowOwner(wallet, "canary") for row, wallet in owners.items()},
    )
    found = {
        "text": text,
        "gradient": result.by_method["gradient"],
        "span": result.by_method["span"],
        "combined": result.contributors,
        "top_rows": [row for row, _ in top],
    }
    # The other scoring rules of influence.py on the same query, to show what the default buys.
    for method in SCORING_VARIANTS:
        rows = gradient_row_weights(
            [GradientEvidence("canary", 1.0, sketches.top_rows(vector, k=32, method=method))]
        )
        weights: dict[str, float] = {}
        for row, weight in rows.items():
            weights[owners[row]] = weights.get(owners[row], 0.0) + weight
        found[f"gradient:{method}"] = weights
    return found


def run(args: argparse.Namespace) -> dict:
    from transformers import AutoTokenizer

    from inference.attribution.gradient_sketch import SketchConfig
    from inference.attribution.influence import build_sketches
    from inference.attribution.span_index import SpanIndex

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rows, owners, canaries = planted_rows(
        contributors=args.contributors,
        rows_per_contributor=args.rows_per_contributor,
        canaries=args.canaries,
        repeats=args.repeats,
        seed=args.seed,
    )
    counts: dict[str, int] = {}
    for wallet in owners.values():
        counts[wallet] = counts.get(wallet, 0) + 1
    lineage = {wallet: n / len(owners) for wallet, n in counts.items()}
    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    scratch = None if args.work_dir else tempfile.TemporaryDirectory(prefix="canary-")
    work = Path(args.work_dir or scratch.name)
    report: dict = {
        "config": {k: v for k, v in vars(args).items() if k not in {"json"}},
        "rows": len(rows),
        "contributors": args.contributors,
        "canaries": len(canaries),
    }

    started = time.perf_counter()
    if args.adapter:  # trained earlier on the same rows: compare sketch settings without retraining
        adapter = Path(args.adapter)
    else:
        adapter = train(
            args.base_model,
            rows,
            work / "full",
            epochs=args.epochs,
            seed=args.seed,
            learning_rate=args.learning_rate,
        )
        report["train_seconds"] = round(time.perf_counter() - started, 1)
    model = load(args.base_model, adapter)
    from modelfactory.finetuning.training.data import trained_examples

    examples = trained_examples(rows, tokenizer, max_seq_length=256)
    started = time.perf_counter()
    sketches = build_sketches(
        model, examples, config=SketchConfig(sketch_dim=args.sketch_dim, output=args.sketch_output)
    )
    sketch_seconds = time.perf_counter() - started
    floor = backward_floor_seconds(model, [(ids, labels) for _, ids, labels in examples], batch_size=8)
    report["sketch"] = {
        "rows": len(sketches),
        "bytes_per_row": sketches.bytes_per_row,
        "seconds_per_row": round(sketch_seconds / max(len(sketches), 1), 5),
        "floor_seconds_per_row": round(floor / max(len(sketches), 1), 5),
        "ratio_to_floor": round(sketch_seconds / floor, 3),
    }
    spans = SpanIndex.build((row["row_id"], answer_text(row)) for row in rows)
    report["span_index"] = {"bytes_per_row": round(spans.nbytes / max(spans.row_count, 1), 1)}

    methods = ("gradient", "span", "combined", *(f"gradient:{name}" for name in SCORING_VARIANTS))
    per_question: list[dict] = []
    rankings: dict[str, list] = {
        f"{m}/{mode}": [] for m in methods for mode in ("generated", "generated_seen", "reference")
    }
    query_seconds: list[float] = []
    query_floors: list[float] = []  # one plain forward and backward pass of each answer, timed just after
    for canary in canaries:
        asked = prompt_ids(tokenizer, ASKED_QUESTION.format(entity=canary.entity))
        seen = prompt_ids(tokenizer, TRAIN_QUESTIONS[0].format(entity=canary.entity))
        sentence = list(tokenizer(canary.sentence + "<|im_end|>", add_special_tokens=False)["input_ids"])
        queries = {  # mode -> (question ids, answer ids)
            "generated": (asked, generate(model, tokenizer, asked)),
            "generated_seen": (seen, generate(model, tokenizer, seen)),
            "reference": (asked, sentence),
        }
        entry = {"contributor": canary.contributor, "entity": canary.entity, "secret": canary.secret}
        for mode, (ids, answer_ids) in queries.items():
            begun = time.perf_counter()
            found = attribute(
                model,
                tokenizer,
                sketches,
                spans,
                owners,
                lineage,
                ids,
                answer_ids,
                args.min_span_words,
                args.min_rare_span_words,
            )
            query_seconds.append(time.perf_counter() - begun)
            labels = [-100] * len(ids) + answer_ids
            query_floors.append(backward_floor_seconds(model, [(ids + answer_ids, labels)], batch_size=1))
            for method in methods:
                rankings[f"{method}/{mode}"].append((ranking(found[method]), canary.contributor))
            entry[mode] = {
                "answer": found["text"],
                "learnt": canary.secret in found["text"],
                "gradient_top": ranking(found["gradient"])[:3],
                "span_top": ranking(found["span"])[:3],
                "planted_rows_in_gradient_top5": len(set(found["top_rows"][:5]) & set(canary.row_ids)),
                "_top_rows": found["top_rows"],
                "_ids": ids,
                "_answer_ids": answer_ids,
            }
        per_question.append(entry)
    report["query_seconds_p50"] = round(percentile(query_seconds, 50), 4)
    report["query_floor_seconds_p50"] = round(percentile(query_floors, 50), 4)
    report["answers_containing_the_fact"] = {
        mode: sum(q[mode]["learnt"] for q in per_question) / len(canaries)
        for mode in ("generated", "generated_seen")
    }
    report["recall"] = {
        key: {"top1": recall(value, 1), "top5": recall(value, 5)} for key, value in rankings.items()
    }

    if args.leave_out:
        report["leave_out"] = [
            leave_out(args, rows, per_question, model, work, mode)
            for mode in args.leave_out_answers.split(",")
        ]
    for entry in per_question:
        for mode in ("generated", "generated_seen", "reference"):
            for private in ("_top_rows", "_ids", "_answer_ids"):
                entry[mode].pop(private)
    report["questions"] = per_question
    if scratch is not None:
        scratch.cleanup()
    return report


def leave_out(args, rows, per_question, full_model, work: Path, mode: str) -> dict:
    """Retrain without the rows gradient influence ranked highest for the `mode` answers, and without as
    many random other rows; compare how much each raises the loss of those answers."""
    removed_top: set[int] = set()
    for entry in per_question:
        removed_top |= set(entry[mode]["_top_rows"][: args.leave_out])
    rng = random.Random(args.seed + 7)
    others = [row["row_id"] for row in rows if row["row_id"] not in removed_top]
    removed_random = set(rng.sample(others, min(len(removed_top), len(others))))
    losses: dict[str, list[float]] = {"full": [], "without_top": [], "without_random": []}
    for entry in per_question:
        losses["full"].append(answer_loss(full_model, entry[mode]["_ids"], entry[mode]["_answer_ids"]))
    for name, removed in (("without_top", removed_top), ("without_random", removed_random)):
        kept = [row for row in rows if row["row_id"] not in removed]
        adapter = train(
            args.base_model,
            kept,
            work / f"{mode}-{name}",
            epochs=args.epochs,
            seed=args.seed,
            learning_rate=args.learning_rate,
        )
        model = load(args.base_model, adapter)
        for entry in per_question:
            losses[name].append(answer_loss(model, entry[mode]["_ids"], entry[mode]["_answer_ids"]))

    def mean(values: list[float]) -> float:
        return sum(values) / max(len(values), 1)

    rise_top = [t - f for t, f in zip(losses["without_top"], losses["full"], strict=True)]
    rise_random = [r - f for r, f in zip(losses["without_random"], losses["full"], strict=True)]
    return {
        "answers": mode,
        "rows_removed": len(removed_top),
        "loss_full_mean": round(mean(losses["full"]), 4),
        "loss_rise_without_top_attributed": round(mean(rise_top), 4),
        "loss_rise_without_random": round(mean(rise_random), 4),
        "questions_where_top_removal_hurt_more": sum(
            1 for t, r in zip(rise_top, rise_random, strict=True) if t > r
        ),
        "questions": len(per_question),
    }


def print_table(report: dict) -> None:
    print(
        f"\n{report['rows']} rows, {report['contributors']} contributors, "
        f"{report['canaries']} planted facts; "
        + (f"trained in {report['train_seconds']} s; " if "train_seconds" in report else "adapter reused; ")
        + "model's answers containing the fact: "
        + f"{report['answers_containing_the_fact']['generated']:.0%} (asked a new question), "
        + f"{report['answers_containing_the_fact']['generated_seen']:.0%} (asked a training question)"
    )
    sketch = report["sketch"]
    print(
        f"sketch: {sketch['bytes_per_row']} B/row, {sketch['seconds_per_row']} s/row "
        f"({sketch['ratio_to_floor']}x a plain forward and backward pass, "
        f"{sketch['floor_seconds_per_row']} s/row); "
        f"span index: {report['span_index']['bytes_per_row']} B/row; "
        f"query p50 {report['query_seconds_p50']} s (a plain forward and backward pass of the answer: "
        f"{report['query_floor_seconds_p50']} s)"
    )
    print(f"\n{'method / answer':>40}  top-1  top-5")
    for key, value in report["recall"].items():
        print(f"{key:>40}  {value['top1']:5.0%}  {value['top5']:5.0%}")
    for out in report.get("leave_out", []):
        print(
            f"leave-out, {out['answers']} answers ({out['rows_removed']} rows): loss rises by "
            f"{out['loss_rise_without_top_attributed']:+.3f} without the top-attributed rows vs "
            f"{out['loss_rise_without_random']:+.3f} without as many random rows "
            f"({out['questions_where_top_removal_hurt_more']}/{out['questions']} questions)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-model", default="var/models/smollm2-135m-instruct")
    parser.add_argument("--contributors", type=int, default=20)
    parser.add_argument("--rows-per-contributor", type=int, default=4)
    parser.add_argument("--canaries", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="rows stating each planted fact (1-3)")
    parser.add_argument("--epochs", type=float, default=12)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--sketch-dim", type=int, default=512)
    parser.add_argument(
        "--sketch-output",
        choices=OUTPUTS,
        default="margin",
        help="whose gradient is sketched (gradient_sketch.py)",
    )
    parser.add_argument(
        "--adapter", default="", help="an adapter an earlier run trained on the same rows: skip training"
    )
    parser.add_argument("--min-span-words", type=int, default=6)
    parser.add_argument(
        "--min-rare-span-words", type=int, default=3, help="shorter rare quotes with a rare word (0: off)"
    )
    parser.add_argument(
        "--leave-out", type=int, default=3, help="top rows per question to retrain without (0: skip)"
    )
    parser.add_argument(
        "--leave-out-answers",
        default="generated,reference",
        help="whose top rows to retrain without: generated, reference or both (two retrainings each)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="")
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    if not Path(args.base_model).is_dir():
        print(
            f"no base model at {args.base_model}: build the demo model with `make demo-model`, "
            "or pass --base-model PATH",
            file=sys.stderr,
        )
        return 2
    report = run(args)
    write_bench_report(args.json, bench_report("attribution-canary", report))
    print_table(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
