"""A validated OpenAI request (`request_models`) turned into what the engine needs: one `CompletionAsk`.

Errors name the parameter (`InvalidParameter.param`), in OpenAI's words where it has them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from pydantic import ValidationError

from inference.sampling import SamplingParams
from modelfactory.api.errors import InvalidParameter
from modelfactory.api.request_models import (
    ChatCompletionRequest,
    CompletionRequest,
    SamplingFields,
    first_problem,
)

Prompt = str | tuple[int, ...]


@dataclass(frozen=True)
class CompletionAsk:
    """One API call: which model, the messages or prompts, how to sample, how many and how to deliver.

    `max_tokens` None means OpenAI's default, "as many as fit in the context": `sampling_for` resolves it
    per prompt once its length is known.
    """

    model: str
    chat: bool
    messages: tuple[dict[str, str], ...]
    prompts: tuple[Prompt, ...]
    sampling: SamplingParams
    max_tokens: int | None
    max_tokens_param: str
    n: int
    stream: bool
    include_usage: bool
    logprobs: int | None = None
    """None: no logprobs; k: the chosen token's and the k most likely (chat: top_logprobs)."""
    echo: bool = False

    def sampling_for(self, choice: int, *, max_tokens: int) -> SamplingParams:
        """Choice i of n gets seed + i: the same seed for all would give n identical sampled answers."""
        seed = self.sampling.seed
        return replace(
            self.sampling,
            max_tokens=max_tokens,
            seed=seed + choice if seed is not None else None,
        )


def body_of(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidParameter("the request body must be a JSON object", code="invalid_json")
    return body


def _validated(model: type[SamplingFields], body: dict) -> SamplingFields:
    try:
        request = model.model_validate(body)
    except ValidationError as error:
        param, message = first_problem(error)
        code = "unknown_parameter" if message.startswith("unknown parameter") else None
        raise InvalidParameter(message, param=param or None, code=code) from None
    for param, problem in request.inconsistencies().items():
        raise InvalidParameter(f"{param}: {problem}", param=param)
    for param, what in request.unsupported().items():
        raise InvalidParameter(
            f"{param}: {what} is not supported by this server", param=param, code="unsupported_parameter"
        )
    return request


def chat_ask(body: dict) -> CompletionAsk:
    request = _validated(ChatCompletionRequest, body)
    messages = tuple(
        {"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in request.messages
    )
    explicit = (
        request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    )
    param = "max_completion_tokens" if request.max_completion_tokens is not None else "max_tokens"
    logprobs = (request.top_logprobs or 0) if request.logprobs else None
    return _ask(
        request, chat=True, messages=messages, prompts=(), max_tokens=explicit, param=param, logprobs=logprobs
    )


def text_ask(body: dict) -> CompletionAsk:
    request = _validated(CompletionRequest, body)
    prompts = tuple(item if isinstance(item, str) else tuple(item) for item in request.prompts())
    return _ask(
        request,
        chat=False,
        messages=(),
        prompts=prompts,
        max_tokens=request.max_tokens,
        param="max_tokens",
        logprobs=request.logprobs,
        echo=bool(request.echo),
    )


def _ask(
    request: SamplingFields,
    *,
    chat: bool,
    messages: tuple,
    prompts: tuple[Prompt, ...],
    max_tokens: int | None,
    param: str,
    logprobs: int | None,
    echo: bool = False,
) -> CompletionAsk:
    bias = tuple(sorted((int(token), float(value)) for token, value in (request.logit_bias or {}).items()))
    sampling = SamplingParams(
        ignore_eos=request.ignore_eos,
        temperature=1.0 if request.temperature is None else request.temperature,
        top_p=1.0 if request.top_p is None else request.top_p,
        seed=request.seed,
        stop=request.stop,
        presence_penalty=request.presence_penalty or 0.0,
        frequency_penalty=request.frequency_penalty or 0.0,
        logit_bias=bias,
        logprobs=logprobs,
        prompt_logprobs=logprobs if echo and logprobs is not None else None,
    )
    options = request.stream_options
    return CompletionAsk(
        model=request.model,
        chat=chat,
        messages=messages,
        prompts=prompts,
        sampling=sampling,
        max_tokens=max_tokens,
        max_tokens_param=param,
        n=request.n or 1,
        stream=bool(request.stream),
        include_usage=bool(options and options.include_usage),
        logprobs=logprobs,
        echo=echo,
    )
