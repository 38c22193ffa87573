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
