"""Rough, honest estimates for the review step: memory, time and tokens, with the warnings people need.

They are estimates (and labelled so on the page): memory from parameter counts and the usual
bytes-per-parameter of each method. Time is the whole job as its owner waits for it: the training steps,
the periodic evaluations, and the base-versus-adapter evaluation at the end (two passes over the eval
split and greedy answers to a few held-out prompts, twice), plus loading and saving. The training speed is
the one this machine measured on earlier jobs with the same base model when there are some (the median
of their tokens per second: `selectors.observed_training_speed`), else a FLOP count (6 × parameters per
trained token) at a throughput measured for the hardware class. Calibrated on SmolLM2-135M with the Quick
preset on the 2-core development machine (see the training README for the figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Sustained training throughput, FLOP/s at 6 × parameters per token: measured on a 2-core AVX-512 CPU in
# fp32 (SmolLM2-135M, LoRA, completion-only head: ~200 tokens/s), and typical of a data-centre GPU in bf16.
THROUGHPUT = {"cpu": 1.6e11, "gpu": 2.0e14}
FORWARD_SHARE = 0.7
"""An evaluation pass per token, as a share of a training step's time per token. A forward alone is a
third of the work, but evaluation batches are not grouped by length and the final report projects every
position through the LM head: 0.7 is what the Quick runs on SmolLM2 measured."""
EVAL_MAX_NEW_TOKENS = 64
"""Held-out prompts are answered greedily by the base and by the adapter at the end (`services`'
``JOB_HELD_OUT_PROMPTS``, one batch), up to this many tokens each."""
DECODE_SECONDS_PER_PARAMETER = {"cpu": 1.0e-9, "gpu": 5.0e-12}
"""One batched greedy decoding step (HF generate, batch 8) costs about this much per base-model parameter:
0.13 s for 135M parameters on the CPU measured."""
FIXED_SECONDS = {"cpu": 15.0, "gpu": 60.0}
"""Loading the base model and tokenizer, attaching LoRA, saving checkpoints and the adapter."""
BYTES_PER_BASE_PARAMETER = {"lora": 4.0, "dora": 4.0, "qlora": 0.55}  # fp32 on CPU; 4-bit NF4 + scales
TINY_DATASET_ROWS = 100


@dataclass(frozen=True)
class RowsOverLength:
    """Rows training will cut at the maximum sequence length (`selectors.rows_over_length`)."""

    count: int
    exact: bool = True
    """False when too many rows were near the limit to encode them all: ``count`` is then an estimate."""


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
    tokens_per_second: float = 0.0
    """The training speed the time assumes."""
    speed_measured: bool = False
    """True when that speed was measured on earlier jobs here, False when computed from FLOPs."""


def planned_steps(*, max_steps: int | None, train_rows: int, epochs: float, rows_per_step: int) -> int:
    """The optimizer steps a job will take: `max_steps` when set, else its epochs over the training rows."""
    return max_steps or max(1, int(train_rows * epochs / max(1, rows_per_step) + 0.999))


def estimate(
    *,
    parameter_count: int,
    hidden_size: int,
    num_layers: int,
    rows: int,
    tokens: int,
    rows_over_length: RowsOverLength | int,
    spec: dict,
    hardware: str,
    observed_tokens_per_second: float | None = None,
    template_tokens_per_row: int = 0,
) -> Estimate:
    """The review step's estimate; ``observed_tokens_per_second`` is this machine's measured training speed
    on the same base model (None: computed from the FLOP count); ``template_tokens_per_row`` what the chat
    template adds to each row's own tokens."""
    eval_rows = int(rows * spec.get("eval_fraction", 0.1))
    train_rows = max(0, rows - eval_rows)
    average = tokens / rows + template_tokens_per_row if rows else 0
    seq = spec.get("max_seq_length", 512)
    per_row = min(average, seq)
    epochs = spec.get("epochs", 1.0)
    batch = spec.get("batch_size", 8) * spec.get("grad_accumulation", 1)
    steps = planned_steps(
        max_steps=spec.get("max_steps"), train_rows=train_rows, epochs=epochs, rows_per_step=batch
    )
    train_tokens = int(steps * batch * per_row)
    modules_per_layer = 7 if spec.get("target_modules", "auto") in ("auto", "attention_mlp") else 4
    lora_parameters = num_layers * modules_per_layer * 2 * hidden_size * spec.get("rank", 16)
    base_bytes = parameter_count * BYTES_PER_BASE_PARAMETER.get(spec.get("method", "lora"), 4.0)
    adapter_bytes = lora_parameters * 16  # weights, grads and two Adam moments in fp32
    activation_bytes = spec.get("batch_size", 8) * seq * hidden_size * num_layers * 34
    memory_gb = (base_bytes + adapter_bytes + activation_bytes) / 2**30
    minutes = (
        _seconds(
            parameter_count=parameter_count,
            train_tokens=train_tokens,
            eval_tokens=int(eval_rows * per_row),
            steps=steps,
            spec=spec,
            hardware=hardware if hardware in THROUGHPUT else "cpu",
            observed_tokens_per_second=observed_tokens_per_second,
        )
        / 60
    )
    warnings = []
    if isinstance(rows_over_length, int):
        rows_over_length = RowsOverLength(rows_over_length)
    if rows_over_length.count:
        warnings.append(
            f"{'' if rows_over_length.exact else 'about '}{rows_over_length.count} row(s) are longer than "
            f"the maximum sequence length ({seq} tokens) and will be cut; raise the length or accept that "
            "their endings are not learned"
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
        tokens_per_second=round(_tokens_per_second(parameter_count, hardware, observed_tokens_per_second), 1),
        speed_measured=bool(observed_tokens_per_second and observed_tokens_per_second > 0),
    )


@dataclass(frozen=True)
class EffectiveBatch:
    """Rows per optimizer step: what the learning rate acts on, which ``batch_size`` alone does not say.

    Gradients are accumulated over ``grad_accumulation`` batches, and with N GPUs (DDP, see
    `training.distributed`) each GPU trains its own batches before the gradients are averaged.
    """

    batch_size: int
    grad_accumulation: int
    on_one_device: int
    on_more_gpus: list[tuple[int, int]]
    """(GPUs, effective batch) for every multi-GPU choice this machine offers."""


def effective_batches(spec: dict, *, gpu_count: int) -> EffectiveBatch:
    batch, accumulation = spec.get("batch_size", 8), spec.get("grad_accumulation", 1)
    return EffectiveBatch(
        batch_size=batch,
        grad_accumulation=accumulation,
        on_one_device=batch * accumulation,
        on_more_gpus=[(gpus, batch * accumulation * gpus) for gpus in range(2, gpu_count + 1)],
    )


def _seconds(
    *,
    parameter_count: int,
    train_tokens: int,
    eval_tokens: int,
    steps: int,
    spec: dict,
    hardware: str,
    observed_tokens_per_second: float | None,
) -> float:
    """Wall time of the whole job: training, periodic and final evaluation, generation, fixed costs."""
    tokens_per_second = _tokens_per_second(parameter_count, hardware, observed_tokens_per_second)
    periodic_evals = steps // max(1, spec.get("eval_every_steps", 50)) if eval_tokens else 0
    forward_passes = periodic_evals + (2 if eval_tokens else 0)  # the final report runs base and adapter
    evaluation = forward_passes * eval_tokens * FORWARD_SHARE / tokens_per_second
    generation = 2 * EVAL_MAX_NEW_TOKENS * DECODE_SECONDS_PER_PARAMETER[hardware] * parameter_count
    return FIXED_SECONDS[hardware] + train_tokens / tokens_per_second + evaluation + generation


def _tokens_per_second(parameter_count: int, hardware: str, observed: float | None) -> float:
    if observed and observed > 0:
        return observed
    return THROUGHPUT.get(hardware, THROUGHPUT["cpu"]) / (6 * max(1, parameter_count))
