"""Rough, honest estimates for the review step: memory, time and tokens, with the warnings people need.

They are estimates (and labelled so on the page): memory from parameter counts and the usual
bytes-per-parameter of each method, time from a FLOP count (6 × parameters per trained token) at a
throughput typical of the hardware. Good enough to tell minutes from hours and to warn about
a run that will not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Sustained training throughput, FLOP/s: a 2-core CPU in fp32, and a modern data-centre GPU in bf16.
THROUGHPUT = {"cpu": 2.0e10, "gpu": 2.0e14}
BYTES_PER_BASE_PARAMETER = {"lora": 4.0, "dora": 4.0, "qlora": 0.55}  # fp32 on CPU; 4-bit NF4 + scales
TINY_DATASET_ROWS = 100


@dataclass(frozen=True)
class Estimate:
    train_rows: int
    eval_rows: int
    train_tokens: int
    steps: int
    memory_gb: float
    minutes: float
    lora_parameters: int
    warnings: list[str] = field(default_factory=list)


def estimate(
    *,
    parameter_count: int,
    hidden_size: int,
    num_layers: int,
    rows: int,
    tokens: int,
    rows_over_length: int,
    spec: dict,
    hardware: str,
) -> Estimate:
    eval_rows = int(rows * spec.get("eval_fraction", 0.1))
    train_rows = max(0, rows - eval_rows)
    average = tokens / rows if rows else 0
    seq = spec.get("max_seq_length", 512)
    per_row = min(average, seq)
    epochs = spec.get("epochs", 1.0)
    batch = spec.get("batch_size", 8) * spec.get("grad_accumulation", 1)
    steps = spec.get("max_steps") or max(1, int(train_rows * epochs / max(1, batch) + 0.999))
    train_tokens = int(steps * batch * per_row)
    modules_per_layer = 7 if spec.get("target_modules", "auto") in ("auto", "attention_mlp") else 4
    lora_parameters = num_layers * modules_per_layer * 2 * hidden_size * spec.get("rank", 16)
    base_bytes = parameter_count * BYTES_PER_BASE_PARAMETER.get(spec.get("method", "lora"), 4.0)
    adapter_bytes = lora_parameters * 16  # weights, grads and two Adam moments in fp32
    activation_bytes = spec.get("batch_size", 8) * seq * hidden_size * num_layers * 34
    memory_gb = (base_bytes + adapter_bytes + activation_bytes) / 2**30
    minutes = 6 * parameter_count * train_tokens / THROUGHPUT.get(hardware, THROUGHPUT["cpu"]) / 60
    warnings = []
    if rows_over_length:
        warnings.append(
            f"{rows_over_length} row(s) are longer than the maximum sequence length ({seq} tokens) and "
            "will be cut; raise the length or accept that their endings are not learned"
        )
    if rows < TINY_DATASET_ROWS:
        warnings.append(
            f"only {rows} rows: the adapter may memorise them rather than learn; add data if you can"
        )
    if eval_rows == 0:
        warnings.append("no evaluation split: you will see training loss only")
    return Estimate(
        train_rows,
        eval_rows,
        train_tokens,
        steps,
        round(memory_gb, 2),
        round(minutes, 1),
        lora_parameters,
        warnings,
    )
