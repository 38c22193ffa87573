"""Turn the builder's inputs (plain texts and chat conversations) into pre-training documents.

Conversations go through the very ChatML template the tokenizer ships with, so the tiny model
learns the turn structure -- and to emit ``<|im_end|>`` after an answer -- before any
fine-tuning. Every document is terminated by ``<|endoftext|>`` so that packed blocks tell the
model where one document stops and an unrelated one starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence

from transformers import PreTrainedTokenizerBase

from .chat_format import CHAT_ROLES, END_OF_TEXT

Message = dict[str, str]
Conversation = list[Message]


def validate_conversations(conversations: Sequence[Conversation]) -> None:
    """Fail early, with the offending index, on malformed conversations (not deep in training)."""
    for index, conversation in enumerate(conversations):
        if not conversation:
            raise ValueError(f"conversation #{index} is empty")
        for message in conversation:
            role, content = message.get("role"), message.get("content")
            if role not in CHAT_ROLES or not isinstance(content, str):
                raise ValueError(f"conversation #{index} has a malformed message: {message!r}")


def tokenizer_training_texts(texts: Sequence[str], conversations: Sequence[Conversation]) -> Iterator[str]:
    """Raw content for BPE training: special tokens are atomic and must not be learnt as merges."""
    yield from texts
    for conversation in conversations:
        for message in conversation:
            yield f"{message['role']}\n{message['content']}"


def pretraining_documents(
    texts: Sequence[str], conversations: Sequence[Conversation], tokenizer: PreTrainedTokenizerBase
) -> list[str]:
    """All documents as strings, chats rendered in ChatML, each ending with ``<|endoftext|>``."""
    documents = [text + END_OF_TEXT for text in texts if text.strip()]
    for conversation in conversations:
        rendered = tokenizer.apply_chat_template(conversation, tokenize=False)
        documents.append(rendered + END_OF_TEXT)
    return documents


def corpus_hash(texts: Sequence[str], conversations: Sequence[Conversation]) -> str:
    """A stable fingerprint of the inputs, so that the build cache notices any corpus change."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(b"T")
        digest.update(json.dumps(text).encode())
    for conversation in conversations:
        digest.update(b"C")
        digest.update(json.dumps(conversation, sort_keys=True).encode())
    return digest.hexdigest()
