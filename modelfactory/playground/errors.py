"""What can go wrong in the playground, said in words a person can act on; views map these to HTTP."""

from __future__ import annotations


class PlaygroundItemNotFound(Exception):
    """A conversation, answer or receipt that is not the caller's (or does not exist): the same to them."""


class InvalidSettings(Exception):
    """A sampling setting or a message the playground cannot run; the message names the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ConversationTooLong(Exception):
    """Even the system prompt and the newest message alone leave the model no room to answer.

    Older turns are left out on their own (`context_window`), so only these two can be shortened.
    """

    def __init__(self, *, tokens: int, largest_prompt: int, context_length: int) -> None:
        super().__init__(
            f"Your message and system prompt are {tokens} tokens; this model takes at most {largest_prompt} "
            f"before its answer (its context is {context_length} tokens). Shorten one of them: older turns "
            "are already left out."
        )
        self.tokens, self.largest_prompt, self.context_length = tokens, largest_prompt, context_length
