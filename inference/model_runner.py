"""One engine step on the model: lay the scheduled tokens out flat, run the forward, return logits.

The Hugging Face model runs unchanged except for two things it cannot see: its attention is the paged
implementation (`paged_attention.py`) and its target projections are `MultiLoraLayer`s. Both read the
step's metadata (KV slots, which sequences attend over which blocks; which tokens use which adapter
rows), built here once per step.

Each scheduled sequence computes `num_scheduled` tokens from `num_computed` on: a decode one token, a
prompt a chunk (all of it, or part of it under chunked prefill, or what a prefix-cache hit left). The
flat layout is: one-token sequences (decode attention over the cache, in place), then chunks starting at
position 0 (attention over their own fresh keys), then chunks with keys already in the cache (attention
over those and their own). Only a sequence whose chunk reaches its last token goes through the LM head
(`logits_to_keep` as indices) and samples; a prompt whose request asked for prompt logprobs also keeps
the chunk's positions whose logprobs it does not have yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from inference.kv_cache import PagedKVCache, slot
from inference.lora_batch import LoraBatch
from inference.lora_layers import MultiLoraModel
from inference.paged_attention import DecodeLayout, PagedAttentionBatch, build_context_prefill, build_prefill
from inference.scheduler import Sequence


@dataclass
class StepOutput:
    """`logits[i]`: the next-token logits of `order[i]` [seqs, vocab] (the sequences whose scheduled
    tokens reach their end: they sample). `prompt_logits[sequence] = (first, rows)`: for a sequence that
    wants prompt logprobs, the logits at prompt positions first, first + 1, ... (row j predicts prompt
    token first + j + 1); possibly no rows."""

    order: list[Sequence]
    logits: torch.Tensor
    prompt_logits: dict[Sequence, tuple[int, torch.Tensor]] = field(default_factory=dict)


class ModelRunner:
    def __init__(
        self, model: nn.Module, kv_cache: PagedKVCache, lora: MultiLoraModel | None, device: torch.device
    ):
        self.model = model
        self.kv = kv_cache
        self.lora = lora
        self.device = device

    @torch.inference_mode()
    def execute(self, decode: list[Sequence], prefill: list[Sequence]) -> StepOutput:
        """Compute every scheduled sequence's `num_scheduled` tokens; logits for those that end."""
        scheduled = [*decode, *prefill]
        # one-token sequences, fresh chunks, chunks over cached keys; each group by adapter (LoRA segments
        # of one adapter are then contiguous)
        single = sorted((s for s in scheduled if s.num_scheduled == 1), key=_adapter_order)
        chunks = [s for s in scheduled if s.num_scheduled > 1]
        fresh = sorted((s for s in chunks if s.num_computed == 0), key=_adapter_order)
        context = sorted((s for s in chunks if s.num_computed > 0), key=_adapter_order)
        layout = [*single, *fresh, *context]
        block_size = self.kv.block_size
        input_ids: list[int] = []
        positions: list[int] = []
        slots: list[int] = []
        query_lens = [sequence.num_scheduled for sequence in layout]
        starts: dict[Sequence, int] = {}  # where each sequence's tokens begin in the flat layout
        for sequence in layout:
            starts[sequence] = len(input_ids)
            new = range(sequence.num_computed, sequence.num_computed + sequence.num_scheduled)
            input_ids.extend(sequence.token_ids[new.start : new.stop])
            positions.extend(new)
            slots.extend(slot(sequence.blocks[p // block_size], p, block_size) for p in new)
        device = self.device
        decode_layout = prefill_layout = context_layout = None
        if single:
            contexts = [sequence.num_computed + 1 for sequence in single]
            decode_layout = DecodeLayout(slice(0, len(single)), contexts, [s.blocks for s in single])
        end = len(single)
        if fresh:
            tokens = sum(s.num_scheduled for s in fresh)
            prefill_layout = build_prefill(slice(end, end + tokens), [s.num_scheduled for s in fresh], device)
            end += tokens
        if context:
            context_layout = build_context_prefill(
                slice(end, len(input_ids)),
                [s.num_scheduled for s in context],
                [s.num_computed for s in context],
                [s.blocks for s in context],
                block_size,
                device,
            )
        attention = PagedAttentionBatch(
            self.kv, torch.tensor(slots, device=device), decode_layout, prefill_layout, context_layout
        )
        order = [s for s in layout if s.num_computed + s.num_scheduled == len(s.token_ids)]
        keep = [torch.tensor([starts[s] + s.num_scheduled - 1 for s in order], dtype=torch.long)]
        prompt_rows: dict[Sequence, tuple[int, int, int]] = {}  # sequence -> (first position, rows)
        kept = len(order)
        for sequence in layout:
            if not sequence.wants_prompt_logits:
                continue
            first = max(sequence.num_computed, sequence.prompt_logits_from)
            last = min(sequence.num_computed + sequence.num_scheduled, sequence.prompt_len - 1)
            assert sequence.num_computed <= sequence.prompt_logits_from, "prompt logits were skipped"
            count = max(0, last - first)
            start = starts[sequence] + first - sequence.num_computed
            keep.append(torch.arange(start, start + count))
            prompt_rows[sequence] = (first, kept, kept + count)
            kept += count
        if self.lora is not None:
            adapters = [sequence.resident for sequence in layout]
            self.lora.context.batch = LoraBatch.build(query_lens, adapters, device)
        try:
            output = self.model(
                input_ids=torch.tensor([input_ids], device=device),
                position_ids=torch.tensor([positions], device=device),
                use_cache=False,
                logits_to_keep=(keep[0] if len(keep) == 1 else torch.cat(keep)).to(device),
                paged_batch=attention,
            )
        finally:
            if self.lora is not None:
                self.lora.context.batch = None
        logits = output.logits[0]
        prompt_logits = {
            sequence: (first, logits[begin:end]) for sequence, (first, begin, end) in prompt_rows.items()
        }
        return StepOutput(order, logits[: len(order)], prompt_logits)


def _adapter_order(sequence: Sequence) -> tuple[int, str, int]:
    key = sequence.resident.key if sequence.resident is not None else None
    return (1, "", 0) if key is None else (0, key[0], key[1])
