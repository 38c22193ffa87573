"""A small synthetic corpus for tiny models: generated, never downloaded.

Regular enough (a toy grammar and toy arithmetic chats) that a 35k-parameter model learns it in
~150 steps, so tests can assert a real perplexity drop and chat-format learning in seconds.
"""

from __future__ import annotations

import random

COLORS = ("red", "blue", "green", "yellow", "black", "white")
ANIMALS = ("cat", "dog", "fox", "bird", "horse", "mouse")
VERBS = ("sees", "chases", "likes", "follows", "watches")


def synthetic_texts(count: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(
            f"The {rng.choice(COLORS)} {rng.choice(ANIMALS)} {rng.choice(VERBS)} "
            f"the {rng.choice(COLORS)} {rng.choice(ANIMALS)}."
            for _ in range(4)
        )
        for _ in range(count)
    ]


def synthetic_conversations(count: int = 100, seed: int = 0) -> list[list[dict[str, str]]]:
    rng = random.Random(seed)
    conversations = []
    for _ in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        conversations.append(
            [
                {"role": "system", "content": "You add numbers."},
                {"role": "user", "content": f"What is {a} plus {b}?"},
                {"role": "assistant", "content": f"{a} plus {b} is {a + b}."},
            ]
        )
    return conversations
