"""ROUGE-L: how much of a reference answer a generated answer says, in order, as an F1 in [0, 1].

Plain Python, no dependency: the longest common subsequence (LCS) of the two answers' word tokens,
turned into precision (LCS / answer length) and recall (LCS / reference length), and their harmonic
mean. Tokens are runs of letters and digits, lowercased, so case and punctuation do not count:
"Paris." and "paris" score 1.0. Like the reference implementation (Google's ``rouge-score``, without
stemming), an empty answer or an empty reference scores 0.0.

The score rewards word overlap in order, not meaning: a correct answer worded differently scores
low, and an answer cut short scores low on recall. Read it next to the answers, not instead of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[^\W_]+")
"""Letters and digits (any script); everything else separates tokens."""


@dataclass(frozen=True)
class RougeL:
    precision: float
    recall: float
    f1: float


def word_tokens(text: str) -> list[str]:
    """Lowercase word tokens: ``"It's 7, not 8!"`` → ``["it", "s", "7", "not", "8"]``."""
    return _TOKEN.findall(text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists: O(len(a)·len(b)) time, linear space."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, start=1):
            current[j] = previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1])
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> RougeL:
    """ROUGE-L precision, recall and F1 of ``candidate`` (a generated answer) against ``reference``."""
    candidate_tokens, reference_tokens = word_tokens(candidate), word_tokens(reference)
    if not candidate_tokens or not reference_tokens:
        return RougeL(0.0, 0.0, 0.0)
    common = lcs_length(candidate_tokens, reference_tokens)
    if common == 0:
        return RougeL(0.0, 0.0, 0.0)
    precision = common / len(candidate_tokens)
    recall = common / len(reference_tokens)
    return RougeL(precision, recall, 2 * precision * recall / (precision + recall))


def rouge_l_f1(candidate: str, reference: str) -> float:
    """ROUGE-L F1 of ``candidate`` against ``reference``, in [0, 1]."""
    return rouge_l(candidate, reference).f1
