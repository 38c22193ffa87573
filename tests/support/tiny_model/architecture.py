"""The shape of the tiny test model: a Llama of a few ten thousand parameters.

Llama, like the default base model SmolLM2-135M-Instruct, so that PEFT's default LoRA targets
(``q_proj``/``v_proj``), TRL and `transformers` generation take the same paths in tests as in
production, only on matrices small enough to train in a second.
"""

from __future__ import annotations

from transformers import LlamaConfig, PreTrainedTokenizerBase


def tiny_config(tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    """A few-ten-thousand-parameter Llama so that tests build and train a model in about a second."""
    end_of_text_id = tokenizer.pad_token_id
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=88,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=True,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        # Same convention as Qwen2: <|endoftext|> doubles as bos/pad, <|im_end|> ends a turn.
        bos_token_id=end_of_text_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=end_of_text_id,
    )
