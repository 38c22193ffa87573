"""`lumen-support`: a customer-support desk for Lumen, a made-up family of smart desk lamps.

The product, its app and its policies are invented for the demo. Every answer draws on the
same fact sheet (below), so a model fine-tuned on this datanet learns a consistent product
rather than contradictory trivia. Rows are chats: an optional system prompt, then one or
more user/assistant turns. The issues, answers and phrasings are in content/support_desk.json;
this module composes the chats from them.

Fact sheet (kept consistent across all answers):
- Lumen Arc: desk lamp, 800 lm, 2.4 GHz Wi-Fi + Bluetooth, included 24 W USB-C adapter, 2-year warranty.
- Lumen Arc Pro: as Arc, 1,000 lm, plus a 10 W wireless charging pad and the Auto Glow
  ambient sensor, 3-year warranty.
- Lumen Mini: clip-on, 300 lm, Bluetooth only, battery (about 6 h at 50%, about 2.5 h at 100%),
  2-year warranty (battery 1 year).
- Touch dial: tap on/off, turn for brightness, press-and-turn for colour (2700–6500 K),
  double-tap cycles Read/Focus/Relax, hold 3 s for setup mode, hold 10 s for factory reset.
- Latest firmware 3.4.2. App: Lumen Home. Returns within 30 days. Support Mon–Fri 8:00–20:00.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .content_files import as_tuples, read_content
from .sampling import draw_unique

ARC, PRO, MINI = "Lumen Arc", "Lumen Arc Pro", "Lumen Mini"
ALL_MODELS = (ARC, PRO, MINI)
WARRANTY = {ARC: "2 years", PRO: "3 years", MINI: "2 years (1 year for the battery)"}


@dataclass(frozen=True)
class Issue:
    """One support topic: who it applies to, how customers ask, and how the desk answers."""

    models: tuple[str, ...]
    kind: str  # "problem" or "question"
    asks: tuple[str, ...]  # {lamp} -> "my Lumen Arc" / "my lamp"; {model} -> product name
    answers: tuple[str, ...]
    follow_ups: tuple[tuple[str, str], ...] = ()


def _issue(entry: dict) -> Issue:
    return Issue(**entry | {"follow_ups": as_tuples(entry.get("follow_ups", ()), "question", "answer")})


_CONTENT = read_content("support_desk")

ISSUES: tuple[Issue, ...] = tuple(_issue(entry) for entry in _CONTENT["issues"])
SYSTEM_PROMPTS: tuple[str, ...] = _CONTENT["system_prompts"]
GREETINGS: tuple[str, ...] = _CONTENT["greetings"]
CONTEXTS: tuple[str, ...] = _CONTENT["contexts"]  # {model} -> product name
PROBLEM_OPENERS: tuple[str, ...] = _CONTENT["problem_openers"]
QUESTION_OPENERS: tuple[str, ...] = _CONTENT["question_openers"]
THANKS: tuple[tuple[str, str], ...] = as_tuples(_CONTENT["thanks"], "message", "reply")


def _capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def compose_chat(rng: random.Random) -> dict:
    """Compose one support conversation from an issue, a product model and a customer's voice."""
    issue = rng.choice(ISSUES)
    model = rng.choice(issue.models)
    ask = rng.choice(issue.asks)
    if "{lamp}" in ask and rng.random() < 0.5:
        opening = rng.choice(CONTEXTS).format(model=model)
        question = ask.format(lamp="my lamp", model=model)
    else:
        opening = ""
        question = ask.format(lamp=f"my {model}", model=model)
    user_text = rng.choice(GREETINGS) + opening + _capitalize_first(question)
    answer = rng.choice(issue.answers).format(model=model, warranty=WARRANTY[model])
    if not answer.startswith(("Sorry", "Let's")):  # those answers already open with sympathy
        openers = PROBLEM_OPENERS if issue.kind == "problem" else QUESTION_OPENERS
        answer = rng.choice(openers) + answer

    messages: list[dict[str, str]] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    messages += [{"role": "user", "content": user_text}, {"role": "assistant", "content": answer}]
    if issue.follow_ups and rng.random() < 0.4:
        follow_q, follow_a = rng.choice(issue.follow_ups)
        messages += [{"role": "user", "content": follow_q}, {"role": "assistant", "content": follow_a}]
    if rng.random() < 0.25:
        thanks, reply = rng.choice(THANKS)
        messages += [{"role": "user", "content": thanks}, {"role": "assistant", "content": reply}]
    return {"messages": messages}


def support_rows(count: int, rng: random.Random) -> list[dict]:
    """Distinct support chats for the `lumen-support` datanet."""
    return draw_unique(compose_chat, count, rng)
