"""The sampling knobs the playground exposes, validated once so views, the stream and snippets agree."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from inference.sampling import SamplingParams
from modelfactory.playground.errors import InvalidSettings

MAX_TOKENS_LIMIT = 4096


@dataclass(frozen=True)
class ChatSettings:
    """Temperature, top_p and max tokens: the same names and ranges as `/v1/chat/completions`."""

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 128

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ChatSettings:
        """From form fields (strings) or stored JSON; raises `InvalidSettings` naming the bad field."""
        defaults = cls()
        temperature = _number(data, "temperature", float, defaults.temperature)
        top_p = _number(data, "top_p", float, defaults.top_p)
        max_tokens = _number(data, "max_tokens", int, defaults.max_tokens)
        if not 0 <= temperature <= 2:
            raise InvalidSettings(
                "temperature", "must be between 0 and 2 (0 always picks the likeliest token)"
            )
        if not 0 < top_p <= 1:
            raise InvalidSettings("top_p", "must be greater than 0 and at most 1")
        if not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
            raise InvalidSettings("max_tokens", f"must be between 1 and {MAX_TOKENS_LIMIT}")
        return cls(temperature=temperature, top_p=top_p, max_tokens=max_tokens)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def sampling(self) -> SamplingParams:
        return SamplingParams(max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p)


def _number(data: dict[str, Any], field: str, kind: type, default: float | int) -> Any:
    raw = data.get(field)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise InvalidSettings(field, f"{raw!r} is not a number") from None
