"""The dataset layouts people upload, how we recognise them, and how each becomes a normalized row.

Normalized content is exactly one of ``{"messages": [{"role", "content"}, ...]}``,
``{"prompt", "completion"}`` or ``{"text"}``. Every layout is described by a `ColumnMapping` (which
source column feeds which part of a row): detection proposes one from the first records' keys, the
upload wizard shows it with an explanation, and the user can correct it, which is also how CSV
files and unknown keys are imported. Columns the mapping does not name are ignored.

Alpaca rows become prompt/completion: the prompt is the instruction, followed by a blank line and
the input when the input is not empty; the completion is the output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from datanets.ingest.outcomes import RowInvalid


class SourceFormat(StrEnum):
    OPENAI_MESSAGES = "openai_messages"
    SHAREGPT = "sharegpt"
    ALPACA = "alpaca"
    PROMPT_COMPLETION = "prompt_completion"
    TEXT = "text"


FORMAT_TITLES = {
    SourceFormat.OPENAI_MESSAGES: "OpenAI chat messages (role/content)",
    SourceFormat.SHAREGPT: "ShareGPT conversations (from/value)",
    SourceFormat.ALPACA: "Alpaca (instruction/input/output)",
    SourceFormat.PROMPT_COMPLETION: "Prompt/completion",
    SourceFormat.TEXT: "Plain text",
}

ROLE_OF_SPEAKER = {
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
}
"""OpenAI roles and ShareGPT speakers, lower-cased, to the three roles a normalized row may hold."""

CHAT_KEYS = ("messages", "conversations", "conversation")
PROMPT_SYNONYMS = ("question", "query", "input", "user", "request")
COMPLETION_SYNONYMS = ("answer", "response", "output", "reply", "assistant", "target")
TEXT_SYNONYMS = ("content", "document", "body", "passage")
DETECTION_SAMPLE = 50
"""How many records detection looks at: enough to see past a few odd rows, few enough to be instant."""


class MappingInvalid(ValueError):
    """A column mapping that names no complete row shape; the message says which shapes exist."""


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column feeds which part of a normalized row.

    Exactly one shape: ``messages``; ``prompt`` and ``completion``; ``instruction`` and ``output``
    (``input`` optional); or ``text``. Empty strings count as "not chosen", as an HTML form sends them.
    """

    messages: str | None = None
    prompt: str | None = None
    completion: str | None = None
    instruction: str | None = None
    input: str | None = None
    output: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        for part in fields(self):
            if getattr(self, part.name) == "":
                object.__setattr__(self, part.name, None)
        if self.shape is None:
            chosen = ", ".join(f"{name}={column!r}" for name, column in self.columns.items()) or "nothing"
            raise MappingInvalid(
                f"The column mapping ({chosen}) is not a complete row. Choose one messages column; "
                "or a prompt and a completion column; or an instruction and an output column "
                "(input is optional); or one text column."
            )

    @property
    def columns(self) -> dict[str, str]:
        """Part of a row to the source column that feeds it, for the parts chosen."""
        return {part.name: getattr(self, part.name) for part in fields(self) if getattr(self, part.name)}

    @property
    def shape(self) -> str | None:
        """ "messages", "prompt_completion", "alpaca" or "text"; None when the parts chosen are no shape."""
        parts = set(self.columns)
        return {
            frozenset({"messages"}): "messages",
            frozenset({"prompt", "completion"}): "prompt_completion",
            frozenset({"instruction", "output"}): "alpaca",
            frozenset({"instruction", "input", "output"}): "alpaca",
            frozenset({"text"}): "text",
        }.get(frozenset(parts))


@dataclass(frozen=True)
class FormatGuess:
    """What detection concluded, how sure it is (share of sampled records that fit), and why, in words."""

    format: SourceFormat | None
    mapping: ColumnMapping | None
    confidence: float
    explanation: str


def detect_format(samples: Sequence[Any]) -> FormatGuess:
    """Propose a format and mapping from the keys of the first records (`DETECTION_SAMPLE` of them)."""
    records = [sample for sample in samples[:DETECTION_SAMPLE] if isinstance(sample, Mapping)]
    if not records:
        return FormatGuess(
            None,
            None,
            0.0,
            "None of the first records is an object with named fields, so there are no columns to map. "
            'Each record should be an object such as {"prompt": ..., "completion": ...}.',
        )
    exact = [guess for guess in (_chat(records), _alpaca(records), _pair(records), _text(records)) if guess]
    best = max(exact, key=lambda guess: guess.confidence, default=None)
    if best is not None:
        return best
    guessed = _guess_from_synonyms(records)
    if guessed is not None:
        return guessed
    return FormatGuess(
        None,
        None,
        0.0,
        f"No known format matches the columns {', '.join(map(repr, columns_of(records)))}. Choose which "
        "column holds the prompt and which the completion, or which holds the text or the messages.",
    )


def columns_of(records: Sequence[Any]) -> list[str]:
    """The keys seen across ``records``, in the order they first appear."""
    seen: dict[str, None] = {}
    for record in records:
        if isinstance(record, Mapping):
            seen.update((str(key), None) for key in record)
    return list(seen)


def normalize_record(record: Any, mapping: ColumnMapping) -> dict:
    """Build normalized content from one source record, or raise `RowInvalid` saying what is wrong."""
    if not isinstance(record, Mapping):
        raise RowInvalid(f"is {_kind_of(record)}, not an object with named fields")
    shape = mapping.shape
    if shape == "messages":
        return {"messages": _messages(record, mapping.messages)}
    if shape == "prompt_completion":
        return {
            "prompt": _text_field(record, mapping.prompt),
            "completion": _text_field(record, mapping.completion),
        }
    if shape == "alpaca":
        instruction = _text_field(record, mapping.instruction)
        extra = _optional_text_field(record, mapping.input)
        prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        return {"prompt": prompt, "completion": _text_field(record, mapping.output)}
    return {"text": _text_field(record, mapping.text)}


# --- Detection ----------------------------------------------------------------------------------------
def _key_lookup(record: Mapping) -> dict[str, str]:
    return {str(key).strip().lower(): key for key in record}


def _share(records: list[Mapping], wanted: tuple[str, ...]) -> tuple[int, dict[str, str]]:
    """How many records have all ``wanted`` keys (any case), and the spelling of each key in the first one."""
    hits, spelling = 0, {}
    for record in records:
        lookup = _key_lookup(record)
        if all(name in lookup for name in wanted):
            hits += 1
            if not spelling:
                spelling = {name: lookup[name] for name in wanted}
    return hits, spelling


def _fit_sentence(title: str, hits: int, total: int, keys: str) -> str:
    sentence = f"{title}: {hits} of the first {total} records have {keys}."
    if hits < total:
        sentence += f" The other {total - hits} will be rejected unless you choose another mapping."
    return sentence


def _chat(records: list[Mapping]) -> FormatGuess | None:
    for key in CHAT_KEYS:
        hits, spelling = _share(records, (key,))
        if not hits:
            continue
        column = spelling[key]
        source_format = _chat_flavour(next(record[column] for record in records if column in record))
        explanation = _fit_sentence(FORMAT_TITLES[source_format], hits, len(records), f"a {column!r} list")
        if source_format is SourceFormat.SHAREGPT:
            explanation += " Speakers human, gpt and system become the user, assistant and system roles."
        return FormatGuess(source_format, ColumnMapping(messages=column), hits / len(records), explanation)
    return None


def _chat_flavour(turns: Any) -> SourceFormat:
    if isinstance(turns, str):
        try:
            turns = json.loads(turns)
        except ValueError:
            return SourceFormat.OPENAI_MESSAGES
    if isinstance(turns, list) and turns and isinstance(turns[0], Mapping) and "from" in turns[0]:
        return SourceFormat.SHAREGPT
    return SourceFormat.OPENAI_MESSAGES


def _alpaca(records: list[Mapping]) -> FormatGuess | None:
    hits, spelling = _share(records, ("instruction", "output"))
    if not hits:
        return None
    _, with_input = _share(records, ("instruction", "input", "output"))
    # "input" is mapped even when no sampled record has one, so inputs further down the file are not lost.
    mapping = ColumnMapping(
        instruction=spelling["instruction"], input=with_input.get("input", "input"), output=spelling["output"]
    )
    explanation = _fit_sentence(
        FORMAT_TITLES[SourceFormat.ALPACA], hits, len(records), "'instruction' and 'output'"
    )
    explanation += (
        " Each becomes a prompt (the instruction, then a blank line and the input when there is one) "
        "and a completion (the output)."
    )
    return FormatGuess(SourceFormat.ALPACA, mapping, hits / len(records), explanation)


def _pair(records: list[Mapping]) -> FormatGuess | None:
    hits, spelling = _share(records, ("prompt", "completion"))
    if not hits:
        return None
    mapping = ColumnMapping(prompt=spelling["prompt"], completion=spelling["completion"])
    explanation = _fit_sentence(
        FORMAT_TITLES[SourceFormat.PROMPT_COMPLETION], hits, len(records), "'prompt' and 'completion'"
    )
    return FormatGuess(SourceFormat.PROMPT_COMPLETION, mapping, hits / len(records), explanation)


def _text(records: list[Mapping]) -> FormatGuess | None:
    hits, spelling = _share(records, ("text",))
    if not hits:
        return None
    explanation = _fit_sentence(FORMAT_TITLES[SourceFormat.TEXT], hits, len(records), "a 'text' field")
    return FormatGuess(
        SourceFormat.TEXT, ColumnMapping(text=spelling["text"]), hits / len(records), explanation
    )


def _guess_from_synonyms(records: list[Mapping]) -> FormatGuess | None:
    """Names like question/answer are a guess, so confidence is halved and the explanation asks to check."""
    lookup = _key_lookup(records[0])
    prompt = next((lookup[name] for name in PROMPT_SYNONYMS if name in lookup), None)
    completion = next((lookup[name] for name in COMPLETION_SYNONYMS if name in lookup), None)
    if prompt is not None and completion is not None and prompt != completion:
        hits, _ = _share(records, (str(prompt).strip().lower(), str(completion).strip().lower()))
        return FormatGuess(
            SourceFormat.PROMPT_COMPLETION,
            ColumnMapping(prompt=prompt, completion=completion),
            hits / len(records) / 2,
            f"Guessed from the column names: {prompt!r} as the prompt and {completion!r} as the completion "
            f"({hits} of the first {len(records)} records have both). Check the mapping before importing.",
        )
    text = next((lookup[name] for name in TEXT_SYNONYMS if name in lookup), None)
    if text is not None:
        hits, _ = _share(records, (str(text).strip().lower(),))
        return FormatGuess(
            SourceFormat.TEXT,
            ColumnMapping(text=text),
            hits / len(records) / 2,
            f"Guessed from the column names: {text!r} as plain text ({hits} of the first {len(records)} "
            "records have it). Check the mapping before importing.",
        )
    return None


# --- Normalization ------------------------------------------------------------------------------------
def _kind_of(value: Any) -> str:
    """A value's type as the person who wrote the file would name it."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, bytes | bytearray):
        return "binary data"
    return f"a {type(value).__name__} value"


def _text_field(record: Mapping, column: str | None) -> str:
    if column not in record:
        raise RowInvalid(f"{column!r} is missing")
    value = record[column]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowInvalid(f"{column!r} is empty")
    if not isinstance(value, str):
        raise RowInvalid(f"{column!r} must be text, but it is {_kind_of(value)}")
    return value


def _optional_text_field(record: Mapping, column: str | None) -> str:
    value = record.get(column) if column is not None else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RowInvalid(f"{column!r} must be text, but it is {_kind_of(value)}")
    return value


def _messages(record: Mapping, column: str | None) -> list[dict[str, str]]:
    if column not in record:
        raise RowInvalid(f"{column!r} is missing")
    turns = record[column]
    if isinstance(turns, str):  # CSV cells and string columns hold the list as JSON text
        try:
            turns = json.loads(turns)
        except (ValueError, RecursionError):
            raise RowInvalid(f"{column!r} holds text that is not a JSON list of messages") from None
    if turns is None:
        raise RowInvalid(f"{column!r} is empty")
    if not isinstance(turns, list | tuple):
        raise RowInvalid(f"{column!r} must be a list of messages, but it is {_kind_of(turns)}")
    if not turns:
        raise RowInvalid(f"{column!r} has no messages")
    return [_message(number, turn) for number, turn in enumerate(turns, start=1)]


def _message(number: int, turn: Any) -> dict[str, str]:
    if not isinstance(turn, Mapping):
        raise RowInvalid(
            f"message {number} must be an object with a role and content, but it is {_kind_of(turn)}"
        )
    speaker_key = "role" if "role" in turn else "from" if "from" in turn else None
    if speaker_key is None:
        raise RowInvalid(f"message {number} has no role (a 'role' or 'from' field)")
    speaker = turn[speaker_key]
    if not isinstance(speaker, str):
        raise RowInvalid(f"message {number}'s {speaker_key!r} must be text, but it is {_kind_of(speaker)}")
    role = ROLE_OF_SPEAKER.get(speaker.strip().lower())
    if role is None:
        raise RowInvalid(
            f"message {number} has the role {speaker!r}; only system, user and assistant messages "
            "(human and gpt in ShareGPT) can be imported"
        )
    content_key = "content" if "content" in turn else "value" if "value" in turn else None
    if content_key is None:
        raise RowInvalid(f"message {number} ({role}) has no content (a 'content' or 'value' field)")
    content = _joined_text_parts(turn[content_key], number, role)
    if content is None or (isinstance(content, str) and not content.strip()):
        raise RowInvalid(f"message {number} ({role}) is empty")
    if not isinstance(content, str):
        raise RowInvalid(f"message {number} ({role}) content must be text, but it is {_kind_of(content)}")
    return {"role": role, "content": content}


def _joined_text_parts(content: Any, number: int, role: str) -> Any:
    """OpenAI's list-of-parts content, when every part is text, read as the text it adds up to."""
    if not isinstance(content, list) or not content:
        return content
    if all(
        isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str)
        for part in content
    ):
        return "".join(part["text"] for part in content)
    raise RowInvalid(
        f"message {number} ({role}) has parts other than text (images, audio); only text can be imported"
    )
