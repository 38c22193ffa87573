"""ModelFactory's home-grown base model: a small Llama with a ChatML BPE tokenizer, trained on CPU.

No model hub is reachable, so the demo builds its own base model from the seed corpus. This
package is plain PyTorch/transformers (no Django), so it can be used and tested on its own; the
``build_demo_model`` management command is a thin wrapper around :func:`build_demo_model`.
"""

from .architecture import demo_config, tiny_config
from .build_report import BuildReport
from .builder import build_demo_model
from .chat_format import CHATML_TEMPLATE
from .pretrain import PretrainResult, PretrainSettings, held_out_perplexity, pretrain
from .tokenizer import train_bpe_tokenizer

__all__ = [
    "CHATML_TEMPLATE",
    "BuildReport",
    "PretrainResult",
    "PretrainSettings",
    "build_demo_model",
    "demo_config",
    "held_out_perplexity",
    "pretrain",
    "tiny_config",
    "train_bpe_tokenizer",
]
