"""`field-notes`: entries from a fictional naturalists' journal, as plain text.

The Wrenmoor Naturalists' Circle, its parish and its members are invented; the wildlife is
real and behaves as it does in a temperate north-western European year (swallows arrive in
April and gather on wires in September, frogs spawn in February and March, redwings come
for the winter). Each entry is dated, placed, given weather that fits the season, and
only mentions species in months and habitats where they would really be seen.

The places, species, weather and observers are in content/field_notes.json; this module
dates, places and assembles the entries.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass

from .content_files import read_content
from .sampling import draw_unique

# A line of text, optionally restricted to the months it is true in.
Seasonal = str | tuple[str, tuple[int, ...]]


def in_season(lines: tuple[Seasonal, ...], month: int) -> list[str]:
    """The lines that are true in `month` (unrestricted lines are true all year)."""
    fitting = []
    for line in lines:
        if isinstance(line, str):
            fitting.append(line)
        elif month in line[1]:
            fitting.append(line[0])
    return fitting


@dataclass(frozen=True)
class Species:
    """A species with the months and habitats it can be recorded in, and what observers write about it."""

    name: str
    months: tuple[int, ...]
    habitats: tuple[str, ...]
    sightings: tuple[Seasonal, ...]  # {n} -> a count in words
    remarks: tuple[Seasonal, ...]
    counts: tuple[int, int] = (1, 1)


def _seasonal(lines: tuple[str | dict, ...]) -> tuple[Seasonal, ...]:
    return tuple(line if isinstance(line, str) else (line["text"], line["months"]) for line in lines)


def _species(entry: dict) -> Species:
    return Species(
        **entry | {"sightings": _seasonal(entry["sightings"]), "remarks": _seasonal(entry["remarks"])}
    )


_CONTENT = read_content("field_notes")

# place -> habitats found there
PLACES: dict[str, tuple[str, ...]] = _CONTENT["places"]
SPECIES: tuple[Species, ...] = tuple(_species(entry) for entry in _CONTENT["species"])
WEATHER: dict[str, tuple[str, ...]] = _CONTENT["weather"]  # season -> weather lines
SEASON_LINES: dict[str, str] = _CONTENT["season_lines"]  # season -> a closing thought for reflective entries
TIMES: tuple[str, ...] = _CONTENT["times"]
TIME_WORDS: tuple[str, ...] = _CONTENT["time_words"]  # an entry mentioning one of these needs no time of day
OBSERVERS: tuple[str, ...] = _CONTENT["observers"]
REFLECTIONS: tuple[str, ...] = _CONTENT["reflections"]

SEASONS = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}

NUMBER_WORDS = (
    "",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
)


def _count_text(n: int) -> str:
    if n < len(NUMBER_WORDS):
        return NUMBER_WORDS[n]
    return f"about {round(n, -1)}" if n > 30 else str(n)


def _sighting(rng: random.Random, species: Species, month: int) -> str:
    low, high = species.counts
    template = rng.choice(in_season(species.sightings, month))
    text = template.format(n=_count_text(rng.randint(max(low, 2), max(high, 2))))
    return text[:1].upper() + text[1:]


def _remark(rng: random.Random, species: Species, month: int) -> str:
    return rng.choice(in_season(species.remarks, month))


def _matching(month: int, habitats: tuple[str, ...]) -> list[Species]:
    return [
        s
        for s in SPECIES
        if month in s.months
        and set(s.habitats) & set(habitats)
        and in_season(s.sightings, month)
        and in_season(s.remarks, month)
    ]


def compose_entry(rng: random.Random) -> dict:
    """One journal entry: date, place, weather, one to three fitting observations, and a signature."""
    place, habitats = rng.choice(list(PLACES.items()))
    month = rng.randint(1, 12)
    candidates = _matching(month, habitats)
    if not candidates:
        return compose_entry(rng)
    year = rng.choice((2021, 2022, 2023, 2024))
    day = rng.randint(1, calendar.monthrange(year, month)[1])
    date = dt.date(year, month, day)
    weather = rng.choice(WEATHER[SEASONS[month]])
    chosen = rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2, 2, 3))))
    observer = rng.choice(OBSERVERS)
    style = rng.random()
    if style < 0.45:
        # The classic log entry.
        lines = [f"{date.day} {date:%B %Y}. {place[:1].upper()}{place[1:]}. {weather}"]
        body = []
        for species in chosen:
            sentence = _sighting(rng, species, month)
            if rng.random() < 0.6:
                sentence += " " + _remark(rng, species, month)
            body.append(sentence)
        timed = any(word in " ".join([weather, *body]).lower() for word in TIME_WORDS)
        time_note = "" if timed else rng.choice(TIMES)
        lines.append((time_note + " " if time_note else "") + " ".join(body))
        reflection = rng.choice(REFLECTIONS)
        lines.append((reflection + " " if reflection else "") + f"— {observer}")
        text = "\n".join(lines)
    elif style < 0.75:
        # A tally entry for the monthly records.
        tally = "; ".join(
            f"{species.name} "
            f"({_count_text(rng.randint(*species.counts)) if species.counts != (1, 1) else 'present'})"
            for species in chosen
        )
        text = (
            f"Records, {place}, {date.day} {date:%B %Y} ({observer}). Weather: {weather} Seen: {tally}. "
            + _remark(rng, chosen[0], month)
        )
    else:
        # A reflective paragraph.
        lead = rng.choice(
            (
                f"On {date:%A} the {date.day}{_suffix(date.day)} of {date:%B} I walked out to {place}.",
                f"A visit to {place} on {date.day} {date:%B}, {date.year}.",
                f"{date:%B} {date.day}, {place}.",
            )
        )
        body = " ".join(
            _sighting(rng, species, month) + " " + _remark(rng, species, month) for species in chosen
        )
        text = f"{lead} {weather} {body} {SEASON_LINES[SEASONS[month]]} — {observer}"
    return {"text": text}


def _suffix(day: int) -> str:
    if 11 <= day <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def field_note_rows(count: int, rng: random.Random) -> list[dict]:
    """Distinct journal entries for the `field-notes` datanet."""
    return draw_unique(compose_entry, count, rng)
