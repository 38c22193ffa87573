"""Token counts of rows with the base model's own tokenizer, so budgets match what training sees.

Loading a `tokenizer.json` with the `tokenizers` library takes milliseconds and no model
weights; when the base model is not built yet, counts fall back to an estimate of one token per
four UTF-8 bytes and say so (`exact` is False).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path


class TokenCounter:
    def __init__(self, tokenizer_json: Path | None) -> None:
        self._tokenizer = None
        if tokenizer_json is not None and tokenizer_json.is_file():
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(tokenizer_json))

    @property
    def exact(self) -> bool:
        return self._tokenizer is not None

    def count(self, text: str) -> int:
        if self._tokenizer is None:
            return max(1, math.ceil(len(text.encode("utf-8")) / 4))
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        if self._tokenizer is None:
            return [self.count(text) for text in texts]
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]


@cache
def counter_for_base_model(base_model: str) -> TokenCounter:
    from inference.base_model import BaseModelNotFound, locate_base_model

    try:
        directory = locate_base_model(base_model).path
    except BaseModelNotFound:
        return TokenCounter(None)
    return TokenCounter(directory / "tokenizer.json")
