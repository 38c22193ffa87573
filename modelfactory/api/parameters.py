"""OpenAI request bodies, checked and turned into what the engine needs, naming the bad `param` if any.

The checks mirror OpenAI's own limits where they matter to clients (temperature 0..2, at most four
stop strings) and this server's where they protect it (max_tokens, n).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from inference.sampling import SamplingParams
from modelfactory.api.errors import InvalidParameter

MAX_TOKENS_LIMIT = 2048
MAX_CHOICES = 8
DEFAULT_MAX_TOKENS = 64  # OpenAI's "until the context is full" default would tie up a slot for long
ROLES = ("system", "user", "assistant", "developer")


@dataclass(frozen=True)
class CompletionAsk:
    """One API call: which model, the messages or prompt, how to sample, how many and how to deliver."""

    model: str
    chat: bool
    messages: tuple[dict[str, str], ...]
    prompt: str
    sampling: SamplingParams
    n: int
    stream: bool
    include_usage: bool

    def sampling_for(self, choice: int) -> SamplingParams:
        """Choice i of n gets seed + i: the same seed for all would give n identical sampled answers."""
        if self.sampling.seed is None or choice == 0:
            return self.sampling
        return SamplingParams(**{**self.sampling.__dict__, "seed": self.sampling.seed + choice})


def body_of(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidParameter("the request body must be a JSON object", code="invalid_json")
    return body


def chat_ask(body: dict) -> CompletionAsk:
    return _ask(body, chat=True, messages=_messages(body.get("messages")), prompt="")


def text_ask(body: dict) -> CompletionAsk:
    return _ask(body, chat=False, messages=(), prompt=_prompt(body.get("prompt")))


def _ask(body: dict, *, chat: bool, messages: tuple, prompt: str) -> CompletionAsk:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidParameter(
            "'model' is required: the API name of a model from GET /v1/models", param="model"
        )
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    max_tokens = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
    param = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    _integer(max_tokens, param, 1, MAX_TOKENS_LIMIT)
    temperature = _number(body.get("temperature", 1.0), "temperature", 0.0, 2.0)
    top_p = _number(body.get("top_p", 1.0), "top_p", 0.0, 1.0)
    if top_p == 0:
        raise InvalidParameter("top_p must be greater than 0", param="top_p")
    seed = body.get("seed")
    if seed is not None:
        _integer(seed, "seed", -(2**62), 2**62)
    n = body.get("n", 1)
    n = 1 if n is None else n
    _integer(n, "n", 1, MAX_CHOICES)
    stream = body.get("stream", False)
    if not isinstance(stream, bool | None):
        raise InvalidParameter("stream must be true or false", param="stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise InvalidParameter("stream_options must be an object", param="stream_options")
    ignore_eos = body.get("ignore_eos", False)  # vLLM's extension: fixed-length answers for benchmarks
    if not isinstance(ignore_eos, bool):
        raise InvalidParameter("ignore_eos must be true or false", param="ignore_eos")
    sampling = SamplingParams(
        ignore_eos=ignore_eos,
        max_tokens=max_tokens,
        temperature=float(temperature),
        top_p=float(top_p),
        seed=seed,
        stop=_stop(body.get("stop")),
    )
    return CompletionAsk(
        model=model,
        chat=chat,
        messages=messages,
        prompt=prompt,
        sampling=sampling,
        n=n,
        stream=bool(stream),
        include_usage=bool(options.get("include_usage")),
    )


def _integer(value, param: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameter(f"{param} must be an integer from {low} to {high}, got {value!r}", param=param)
    return value


def _number(value, param: str, low: float, high: float) -> float:
    if value is None:
        return high if param == "top_p" else 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidParameter(f"{param} must be a number from {low} to {high}, got {value!r}", param=param)
    return float(value)


def _stop(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or len(value) > 4
        or not all(isinstance(item, str) and item for item in value)
    ):
        raise InvalidParameter("stop must be a non-empty string or a list of up to 4 of them", param="stop")
    return tuple(value)


def _messages(value) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise InvalidParameter("messages must be a non-empty list of {role, content}", param="messages")
    messages = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise InvalidParameter(
                f"messages[{index}] needs a role among {', '.join(ROLES)}", param=f"messages[{index}].role"
            )
        content = message.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            if not all(isinstance(part, dict) and part.get("type") == "text" for part in content):
                raise InvalidParameter(
                    "only text content parts are supported", param=f"messages[{index}].content"
                )
            content = "".join(str(part.get("text", "")) for part in content)
        if not isinstance(content, str):
            raise InvalidParameter(
                f"messages[{index}].content must be text", param=f"messages[{index}].content"
            )
        role = "system" if message["role"] == "developer" else message["role"]
        messages.append({"role": role, "content": content})
    return tuple(messages)


def _prompt(value) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str) or not value:
        raise InvalidParameter("prompt must be a non-empty string (one prompt per request)", param="prompt")
    return value
