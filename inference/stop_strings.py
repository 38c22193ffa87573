"""Stop strings in a streamed answer: where one completes, and how much text must wait before streaming.

A stop string can span tokens ("END" as "E" then "ND"), so text that might be its beginning is held
back from the stream until the next tokens show it is not (then it goes out) or it is (then it is cut):
what was streamed is then always a prefix of the final text, and the stream adds up to it exactly.
"""

from __future__ import annotations

from collections.abc import Sequence


def find_stop(text: str, stops: Sequence[str], new_from: int) -> int | None:
    """Where the earliest stop string in `text` starts, or None; `text[:new_from]` held none of them
    (only matches reaching into the new text are looked for)."""
    cuts = [text.find(stop, max(0, new_from - len(stop) + 1)) for stop in stops]
    found = [cut for cut in cuts if cut != -1]
    return min(found) if found else None


def held_back_length(text: str, stops: Sequence[str]) -> int:
    """The length of the longest end of `text` that is the beginning of a stop string (not all of it)."""
    longest = 0
    for stop in stops:
        for length in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:length]):
                longest = length
                break
    return longest
