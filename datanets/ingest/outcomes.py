"""What importing an upload can come to: an accepted row, a rejected row, or an unreadable file.

Every record of a readable file ends as exactly one `NormalizedRow` or one `RowRejection`, so the
user sees each of their lines accounted for; problems that make the whole file unusable raise
`UploadUnreadable` instead, because no per-row answer would help there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NormalizedRow:
    """A row ready to store: normalized content, its hash (the datanet's duplicate key) and token count."""

    line: int
    content: dict
    content_hash: str
    token_count: int


@dataclass(frozen=True, slots=True)
class RowRejection:
    """A record that will not be imported, with the reason a person can act on and the text to fix."""

    line: int
    reason: str
    raw: str


class RowInvalid(Exception):
    """A single row's content breaks a rule; `reason` is written for the contributor, not for us."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UploadUnreadable(Exception):
    """The file as a whole cannot be imported (wrong type, empty, too big, broken structure).

    The message says what was wrong and what to do; the upload wizard shows it as it is.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
