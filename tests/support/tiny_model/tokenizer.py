"""Train the tiny model's byte-level BPE tokenizer and wrap it for `transformers`.

The fixture needs no download, so it trains its own tokenizer on the same corpus as the model.
Byte-level BPE never meets an unknown character, which matters because tests feed it arbitrary
text (uploads, prompts) and the model must at least be able to *read* it.

Special-token roles (mirroring Qwen2, the best-known ChatML model family):

* ``eos_token = <|im_end|>``: a chat model's natural stopping point is the end of its own turn,
  so `generate` and TRL's SFT stop/label logic key on it.
* ``pad_token = <|endoftext|>``: padding must differ from eos, otherwise collators that mask
  padding out of the labels would also mask the eos the model needs to learn to emit.
* ``bos_token = None``: the ChatML template opens every turn itself; prepending a bos would
  only add a token that carries no information. ``<|endoftext|>`` separates pre-training
  documents instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from .chat_format import CHATML_TEMPLATE, END_OF_TEXT, IM_END, IM_START, SPECIAL_TOKENS

TINY_VOCAB_SIZE = 512


def train_bpe_tokenizer(
    texts: Iterable[str], *, vocab_size: int = TINY_VOCAB_SIZE, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``texts`` and return it ready for chat use.

    ``texts`` should be raw content (no special tokens): the special tokens are added as atomic
    tokens, so they never need to be learnt as merges. Training is deterministic for a given
    input order, which the build cache relies on.
    """
    backend = Tokenizer(models.BPE())
    # add_prefix_space=False: the first word of a turn must tokenize the same way with or without
    # a chat template in front of it, otherwise offsets for assistant masks get fiddly.
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    # trim_offsets=False keeps character offsets exact, which `char_to_token` (used by
    # return_assistant_tokens_mask) depends on.
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_non_empty(texts), trainer=trainer)
    return wrap_for_transformers(backend)


def wrap_for_transformers(backend: Tokenizer) -> PreTrainedTokenizerFast:
    """Wrap a trained `tokenizers.Tokenizer` with ChatML template and special-token roles."""
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=IM_END,
        pad_token=END_OF_TEXT,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=[IM_START],
        model_max_length=512,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def _non_empty(texts: Iterable[str]) -> Iterator[str]:
    for text in texts:
        if text and text.strip():
            yield text
