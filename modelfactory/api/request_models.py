"""OpenAI's chat and completion requests, field by field: each one implemented, or refused by name.

A client that sends `tools` or `response_format: json_schema` to a server that ignores them believes they
were applied; here every field of OpenAI's request bodies is declared, and the ones this server cannot
honour are refused with a 400 naming the parameter (`UNSUPPORTED`), unless they carry their neutral value
(`tool_choice: "none"`, `response_format: {"type": "text"}`, `store: false`, ...). Unknown fields are refused
too (`extra="forbid"`). `/v1/openapi.json` is generated from these models.

The checks mirror OpenAI's own limits where clients rely on them (temperature 0..2, at most four stop
strings, penalties -2..2, logit_bias -100..100, top_logprobs 0..20) and this server's where they protect it
(n, prompts per request).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

MAX_CHOICES = 8
MAX_PROMPTS = 16  # prompts in one completions request; each is one more sequence in the engine
MAX_TOP_LOGPROBS = 20
MAX_COMPLETION_LOGPROBS = 5  # the legacy completions endpoint's own bound
ROLES = ("system", "developer", "user", "assistant")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StreamOptions(Strict):
    include_usage: bool = False
    include_obfuscation: bool | None = None  # OpenAI's padding against side channels: nothing to pad here


class TextPart(Strict):
    type: Literal["text"]
    text: str


class Message(Strict):
    """A chat message. An assistant message echoed back from a response may carry its empty extras."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    refusal: str | None = None
    tool_calls: list[Any] | None = None
    function_call: Any | None = None
    audio: Any | None = None
    annotations: list[Any] | None = None

    @model_validator(mode="after")
    def _text_only(self) -> Message:
        if self.tool_calls or self.function_call or self.audio:
            raise ValueError("tool calls, function calls and audio are not supported in messages")
        if self.content is None and self.role != "assistant":
            raise ValueError("content is required")
        return self

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


# OpenAI takes one stop string or a list of up to four.
Stop = Annotated[
    tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(_as_list), Field(max_length=4)
]


class Refused(NamedTuple):
    """A declared field this server cannot honour: what it would need, and the values that ask for nothing."""

    what: str
    neutral: tuple = (None,)


class SamplingFields(Strict):
    """What chat and completions share."""

    model: Annotated[str, Field(min_length=1, description="The API name of a model from GET /v1/models")]
    frequency_penalty: Penalty | None = Field(
        None, description="-2..2: lowers a token's logit by this times how often it was generated"
    )
    presence_penalty: Penalty | None = Field(
        None, description="-2..2: lowers the logit of every token generated so far by this"
    )
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = Field(
        None, description="{token id: -100..100} added to its logit; 100 forces it, -100 bans it"
    )
    n: Annotated[int, Field(ge=1, le=MAX_CHOICES)] | None = Field(
        None, description=f"Answers per prompt, 1..{MAX_CHOICES}"
    )
    seed: Annotated[int, Field(ge=-(2**62), le=2**62)] | None = Field(
        None, description="The same seed gives the same sampled answer, whatever else is in the batch"
    )
    stop: Stop = Field((), description="Up to 4 strings; the answer ends before the first, streamed or not")
    stream: bool | None = Field(None, description="Server-sent events as tokens are generated")
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = Field(
        None, description="0..2, default 1; 0 is greedy"
    )
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = Field(
        None, description="Nucleus sampling, (0, 1]"
    )
    user: str | None = Field(
        None, description="Your end user's id, for your own abuse tracking; accepted, not used"
    )
    ignore_eos: bool = Field(False, description="vLLM's extension: generate exactly max_tokens tokens")

    @field_validator("logit_bias")
    @classmethod
    def _token_ids(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for token in value or {}:
            if not token.isdigit():
                raise ValueError(f"logit_bias keys are token ids, not {token!r}")
        return value

    # Fields declared only to be refused by name unless they carry a neutral value.
    REFUSED: ClassVar[dict[str, Refused]] = {}

    def unsupported(self) -> dict[str, str]:
        """The fields set to something this server does not do: {parameter: what it would need}."""
        return {
            name: refused.what
            for name, refused in self.REFUSED.items()
            if getattr(self, name) not in self.neutral_values(name)
        }

    def neutral_values(self, name: str) -> tuple:
        return self.REFUSED[name].neutral

    def inconsistencies(self) -> dict[str, str]:
        """Fields valid alone but not together: {parameter: what is wrong}."""
        return {}


class ChatCompletionRequest(SamplingFields):
    REFUSED: ClassVar[dict[str, Refused]] = {
        "audio": Refused("audio output"),
        "function_call": Refused("function calling"),
        "functions": Refused("function calling", (None, [])),
        "tools": Refused("tool calling", (None, [])),
        "tool_choice": Refused("tool calling", (None, "none")),
        "parallel_tool_calls": Refused("tool calling", (None, False)),
        "prediction": Refused("predicted outputs"),
        "reasoning_effort": Refused("reasoning models"),
        "verbosity": Refused("verbosity control"),
        "web_search_options": Refused("web search"),
        "modalities": Refused("outputs other than text", (None, ["text"])),
        "response_format": Refused("structured outputs (JSON mode, JSON schema)", (None, {"type": "text"})),
        "store": Refused("storing completions (answers are kept as receipts only)", (None, False)),
        "metadata": Refused("metadata, which OpenAI stores with stored completions", (None, {})),
        "service_tier": Refused("service tiers", (None, "auto", "default")),
    }

    messages: Annotated[list[Message], Field(min_length=1)]
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Most tokens to generate; default: what the context leaves after the prompt"
    )
    max_tokens: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Most tokens to generate; default: what the context leaves after the prompt"
    )
    logprobs: bool | None = Field(None, description="Each generated token's log-probability under the model")
    top_logprobs: Annotated[int, Field(ge=0, le=MAX_TOP_LOGPROBS)] | None = Field(
        None, description=f"0..{MAX_TOP_LOGPROBS} most likely alternatives per token (needs logprobs)"
    )
    # Declared so that they are refused by name unless neutral (see `unsupported`).
    audio: Any | None = None
    function_call: Any | None = None
    functions: list[Any] | None = None
    metadata: dict[str, str] | None = None
    modalities: list[str] | None = None
    parallel_tool_calls: bool | None = None
    prediction: Any | None = None
    prompt_cache_key: str | None = None
    reasoning_effort: str | None = None
    response_format: dict[str, Any] | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    store: bool | None = None
    tool_choice: Any | None = None
    tools: list[Any] | None = None
    verbosity: str | None = None
    web_search_options: Any | None = None

    def inconsistencies(self) -> dict[str, str]:
        if self.top_logprobs is not None and not self.logprobs:
            return {"top_logprobs": "top_logprobs needs logprobs: true"}
        return {}


PromptItem = str | Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]


class CompletionRequest(SamplingFields):
    REFUSED: ClassVar[dict[str, Refused]] = {
        "suffix": Refused("insertion (suffix)", (None, "")),
        "best_of": Refused("best_of other than n (server-side ranking of candidates)", (None, 1)),
    }

    prompt: (
        str
        | Annotated[list[str], Field(min_length=1)]
        | Annotated[list[int], Field(min_length=1)]
        | Annotated[
            list[Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]], Field(min_length=1)
        ]
    )
    max_tokens: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Most tokens to generate; default: what the context leaves after the prompt"
    )
    logprobs: Annotated[int, Field(ge=0, le=MAX_COMPLETION_LOGPROBS)] | None = Field(
        None,
        description=f"Log-probabilities of each token and its 0..{MAX_COMPLETION_LOGPROBS} best alternatives",
    )
    echo: bool | None = Field(
        None, description="Return the prompt before the answer (with its logprobs if asked)"
    )
    best_of: Annotated[int, Field(ge=1, le=MAX_CHOICES)] | None = None
    suffix: str | None = None

    def prompts(self) -> list[str | list[int]]:
        """The prompt as a list of prompts, each text or token ids (OpenAI's four shapes)."""
        if isinstance(self.prompt, str):
            return [self.prompt]
        if all(isinstance(item, int) for item in self.prompt):
            return [list(self.prompt)]
        return list(self.prompt)

    def inconsistencies(self) -> dict[str, str]:
        prompts = self.prompts()
        if len(prompts) > MAX_PROMPTS:
            return {"prompt": f"at most {MAX_PROMPTS} prompts per request, not {len(prompts)}"}
        if any(item == "" for item in prompts):
            return {"prompt": "a prompt must not be empty"}
        return {}

    def neutral_values(self, name: str) -> tuple:
        """best_of equal to n asks for nothing more than n answers."""
        neutral = super().neutral_values(name)
        return (*neutral, self.n or 1) if name == "best_of" else neutral


def parameter_path(location: tuple) -> str:
    """Pydantic's error location as OpenAI names parameters: ("messages", 0, "role") -> messages[0].role."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-", "constrained-", "list[", "str", "int", "tuple")):
            continue  # pydantic's names for the union member it tried, not a parameter
        else:
            path += f".{part}" if path else part
    return path


def first_problem(error: ValidationError) -> tuple[str, str]:
    """(parameter, message) of a validation error, in words a client can act on."""
    problems = error.errors(include_url=False)
    # A union reports one error per member; the unknown-field and missing errors say the most.
    problem = next(
        (p for p in problems if p["type"] in ("extra_forbidden", "missing")),
        problems[0],
    )
    param = parameter_path(tuple(problem["loc"]))
    if problem["type"] == "extra_forbidden":
        return param, f"unknown parameter {param!r}: see GET /v1/openapi.json for the parameters accepted"
    if problem["type"] == "missing":
        return param, f"{param!r} is required"
    message = problem["msg"].removeprefix("Value error, ")
    given = repr(problem.get("input"))
    return param, f"{param}: {message} (got {given if len(given) <= 60 else given[:57] + '...'})"
