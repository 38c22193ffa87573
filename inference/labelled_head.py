"""A causal LM's logits computed only at the positions that carry a label.

With loss on completions only, most positions of a chat row (system prompt, question, padding) carry no
label, yet a causal LM's own forward projects every position through the LM head: for SmolLM2 that is a
576 × 49,152 matrix, a fifth of the model's FLOPs, run forward and backward for tokens whose loss is thrown
away. Here the backbone runs as usual, the hidden states of the labelled positions are gathered first, and
only those go through the head. The trainer's loss (`finetuning/training/completion_loss.py`) and the
attribution worker's gradient sketches (`attribution/gradient_sketch.py`) both use it, so a row's
gradient is taken exactly as training took it.

Only for models whose logits are exactly the head applied to the backbone's last hidden state
(`supports_labelled_head`); others (scaled or soft-capped logits, MoE router losses) keep the full forward.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100

_LOGIT_TRANSFORMS = (
    "final_logit_softcapping",
    "logit_scale",
    "output_multiplier",
    "lm_head_multiplier",
    "logits_scaling",
)
"""Config fields with which a model changes its logits after the head; such models keep the full path."""


def causal_lm(model: torch.nn.Module) -> torch.nn.Module:
    """The transformers causal LM inside a PEFT wrapper (or the model itself)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def supports_labelled_head(model: torch.nn.Module) -> bool:
    """Whether the model's logits are exactly its head applied to the backbone's last hidden state."""
    lm = causal_lm(model)
    config = getattr(lm, "config", None)
    if config is None or not hasattr(lm, "base_model_prefix"):
        return False
    config = config.get_text_config()
    if any(getattr(config, name, None) is not None for name in _LOGIT_TRANSFORMS):
        return False
    if getattr(config, "output_router_logits", False):
        return False
    backbone = getattr(lm, lm.base_model_prefix, None)
    head = lm.get_output_embeddings()
    return isinstance(backbone, torch.nn.Module) and isinstance(head, torch.nn.Linear)


def labelled_logits(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    labels: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits [n, vocab] float32, targets [n], rows [n]) for the n labelled next-token predictions.

    Position t predicts labels[:, t + 1] (HF's shift); `rows` says which example each one belongs to, so
    callers can take per-example means. Call only where `supports_labelled_head(model)`.
    """
    lm = causal_lm(model)
    backbone = getattr(lm, lm.base_model_prefix)
    hidden = backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
    targets = labels[:, 1:]
    mask = targets != IGNORE_INDEX
    logits = lm.get_output_embeddings()(hidden[:, :-1][mask]).float()
    rows = torch.arange(labels.shape[0], device=labels.device).unsqueeze(1).expand_as(mask)[mask]
    return logits, targets[mask], rows
