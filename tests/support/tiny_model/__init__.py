"""A test fixture: a tiny Llama with its own ChatML BPE tokenizer, trained on CPU in about two seconds.

Tests need a *real* causal LM (real weights, tokenizer files and chat template loaded through
`transformers`) so that fine-tuning, serving and attribution run the same code paths as with the
default base model, SmolLM2-135M-Instruct -- but one that builds in seconds, needs no download
and lives in a temporary directory. ``tests/conftest.py``'s session fixture ``tiny_base_model``
builds it with :func:`build_tiny_model`. Product code never imports this package.
"""

from .architecture import tiny_config
from .build_report import BuildReport
from .builder import build_tiny_model
from .chat_format import CHATML_TEMPLATE
from .tokenizer import train_bpe_tokenizer

__all__ = [
    "CHATML_TEMPLATE",
    "BuildReport",
    "build_tiny_model",
    "tiny_config",
    "train_bpe_tokenizer",
]
