"""One engine step on the model: lay the scheduled tokens out flat, run the forward, return logits.

The Hugging Face model runs unchanged except for two things it cannot see: its attention is the paged
implementation (`paged_attention.py`) and its target projections are `MultiLoraLayer`s. Both read the
step's metadata (KV slots, which sequences decode over which blocks; which tokens use which adapter rows),
built here once per step. Only each sequence's last position goes through the LM head (`logits_to_keep`
as indices), except for a prompt whose request asked for prompt logprobs: all its positions do, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from inference.kv_cache import PagedKVCache
from inference.lora_layers import LoraBatch, MultiLoraModel
from inference.paged_attention import DecodeLayout, PagedAttentionBatch, build_prefill
from inference.scheduler import Sequence


@dataclass
class StepOutput:
    """`logits[i]`: the next-token logits of `order[i]` [seqs, vocab]. `prompt_logits[sequence]`: for a
    prefill that wants prompt logprobs, the logits at its prompt positions 0 .. prompt_len - 2 (row j
    predicts prompt token j + 1) [prompt_len - 1, vocab]."""

    order: list[Sequence]
    logits: torch.Tensor
    prompt_logits: dict[Sequence, torch.Tensor] = field(default_factory=dict)


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
        """Run decodes (one new token each) and prefills (all uncomputed tokens)."""
        # decodes by adapter, then prompts by adapter (LoRA segments of one adapter are then contiguous)
        decode = sorted(decode, key=_adapter_order)
        prefill = sorted(prefill, key=_adapter_order)
        order = decode + prefill
        block_size = self.kv.block_size
        input_ids: list[int] = []
        positions: list[int] = []
        slots: list[int] = []
        query_lens: list[int] = [1] * len(decode)
        for sequence in decode:
            position = len(sequence.token_ids) - 1
            input_ids.append(sequence.token_ids[-1])
            positions.append(position)
            slots.append(sequence.blocks[position // block_size] * block_size + position % block_size)
        for sequence in prefill:
            # a prompt is computed whole in one step (a preempted request from its first token again), so
            # prefill attention needs only the step's own keys and values
            assert sequence.num_computed == 0, "prefill attention reads no cached keys"
            new = range(len(sequence.token_ids))
            input_ids.extend(sequence.token_ids)
            positions.extend(new)
            slots.extend(sequence.blocks[p // block_size] * block_size + p % block_size for p in new)
            query_lens.append(len(new))
        device = self.device
        decode_layout = prefill_layout = None
        if decode:
            contexts = [len(sequence.token_ids) for sequence in decode]
            decode_layout = DecodeLayout(slice(0, len(decode)), contexts, [s.blocks for s in decode])
        if prefill:
            prefill_layout = build_prefill(
                slice(len(decode), len(input_ids)), query_lens[len(decode) :], device
            )
        attention = PagedAttentionBatch(
            self.kv, torch.tensor(slots, device=device), decode_layout, prefill_layout
        )
        ends = torch.tensor(query_lens).cumsum(0)
        keep = [ends - 1]  # each sequence's last position first: logits[:len(order)] is one row each
        prompt_rows: dict[Sequence, tuple[int, int]] = {}
        kept = len(order)
        for index, sequence in enumerate(prefill, start=len(decode)):
            if sequence.wants_prompt_logits:
                start = int(ends[index]) - query_lens[index]
                keep.append(torch.arange(start, start + sequence.prompt_len - 1))
                prompt_rows[sequence] = (kept, kept + sequence.prompt_len - 1)
                kept += sequence.prompt_len - 1
        if self.lora is not None:
            adapters = [sequence.resident for sequence in order]
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
        for sequence in order:
            sequence.num_computed = len(sequence.token_ids)
        logits = output.logits[0]
        prompt_logits = {sequence: logits[begin:end] for sequence, (begin, end) in prompt_rows.items()}
        return StepOutput(order, logits[: len(order)], prompt_logits)


def _adapter_order(sequence: Sequence) -> tuple[int, str, int]:
    key = sequence.resident.key if sequence.resident is not None else None
    return (1, "", 0) if key is None else (0, key[0], key[1])
