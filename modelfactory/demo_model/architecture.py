"""The shapes of ModelFactory's home-made base models: a small Llama, and a tiny one for tests.

Llama is chosen because it is the architecture every downstream tool knows best: PEFT's default
LoRA targets (``q_proj``/``v_proj``), TRL, and `transformers` generation all work on it without
custom code, so the demo exercises the same paths a real base model would.
"""

from __future__ import annotations

from typing import Literal

from transformers import LlamaConfig, PreTrainedTokenizerBase

ModelSize = Literal["demo", "tiny"]
MODEL_SIZES: tuple[str, ...] = ("demo", "tiny")

DEMO_MAX_POSITIONS = 512


def demo_config(tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    """A ~4.2M-parameter Llama (4k vocab): about the largest that learns visibly in 3 minutes on 2 cores.

    Width beats depth at this budget: 4 layers of 256 keep the per-step cost low enough for a few
    hundred optimizer steps, and tied embeddings save a quarter of the parameters for a 4k vocab.
    """
    return _llama_config(
        tokenizer,
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=DEMO_MAX_POSITIONS,
    )


def tiny_config(tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    """A few-ten-thousand-parameter Llama so that tests build and train a model in about a second."""
    return _llama_config(
        tokenizer,
        hidden_size=32,
        intermediate_size=88,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )


def config_for_size(size: ModelSize, tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    """Look up the config for a named size; raises ValueError for unknown names."""
    if size == "demo":
        return demo_config(tokenizer)
    if size == "tiny":
        return tiny_config(tokenizer)
    raise ValueError(f"unknown model size {size!r}; expected one of {MODEL_SIZES}")


def _llama_config(tokenizer: PreTrainedTokenizerBase, **shape: int) -> LlamaConfig:
    end_of_text_id = tokenizer.pad_token_id
    return LlamaConfig(
        vocab_size=len(tokenizer),
        tie_word_embeddings=True,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        # Same convention as Qwen2: <|endoftext|> doubles as bos/pad, <|im_end|> ends a turn.
        bos_token_id=end_of_text_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=end_of_text_id,
        **shape,
    )
