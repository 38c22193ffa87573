"""`hearth-cooking`: a home-cooking assistant — recipes, techniques, conversions and food safety.

The prose (recipes written out in full, techniques, substitutions, troubleshooting, food
safety) and the conversion tables live in content/cooking.json; this module composes rows
from them. Recipes are scaled arithmetically to the number of people asked for, and
conversions and oven temperatures are computed from the tables, so numbers in the answers
are consistent with each other. Food-safety temperatures and storage times follow widely
published home-cooking guidance (e.g. poultry to 74 °C / 165 °F).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from .content_files import as_tuples, read_content
from .sampling import draw_unique


@dataclass(frozen=True)
class Ingredient:
    """An amount of something; unit "" means a count, with name "singular|plural"."""

    amount: float
    unit: str
    name: str
    halves: bool = False  # counts that can sensibly be halved (onions, lemons, cans)


@dataclass(frozen=True)
class Recipe:
    """A complete recipe; `yields` names what `servings` counts (people, cookies, flatbreads)."""

    dish: str
    servings: int
    yields: str
    ingredients: tuple[Ingredient, ...]
    steps: tuple[str, ...]
    tip: str
    follow_ups: tuple[tuple[str, str], ...]
    scalable: bool = True


def _recipe(entry: dict) -> Recipe:
    ingredients = tuple(Ingredient(**item) for item in entry["ingredients"])
    follow_ups = as_tuples(entry["follow_ups"], "question", "answer")
    return Recipe(**entry | {"ingredients": ingredients, "follow_ups": follow_ups})


_CONTENT = read_content("cooking")

RECIPES: tuple[Recipe, ...] = tuple(_recipe(entry) for entry in _CONTENT["recipes"])
RECIPE_ASKS_FOR_PEOPLE: tuple[str, ...] = _CONTENT["recipe_asks"]["for_people"]
RECIPE_ASKS_FOR_ITEMS: tuple[str, ...] = _CONTENT["recipe_asks"]["for_items"]
RECIPE_ASKS: tuple[str, ...] = _CONTENT["recipe_asks"]["as_written"]
TECHNIQUES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = as_tuples(
    _CONTENT["techniques"], "asks", "answers"
)
SUBSTITUTIONS: tuple[tuple[tuple[str, ...], str], ...] = as_tuples(
    _CONTENT["substitutions"], "asks", "answer"
)
TROUBLESHOOTING: tuple[tuple[tuple[str, ...], str], ...] = as_tuples(
    _CONTENT["troubleshooting"], "asks", "answer"
)
# Minimum safe internal temperatures and storage times.
SAFE_TEMPERATURES: tuple[tuple[str, int, int, str], ...] = as_tuples(
    _CONTENT["safe_temperatures"], "food", "celsius", "fahrenheit", "note"
)
TEMPERATURE_ASKS: tuple[str, ...] = _CONTENT["temperature_asks"]
STORAGE: tuple[tuple[str, str, str], ...] = as_tuples(_CONTENT["storage"], "food", "fridge", "freezer")
STORAGE_ASKS: tuple[str, ...] = _CONTENT["storage_asks"]
# Kitchen conversions: grams per US cup (240 ml), and oven settings with Celsius as recipes usually write it.
CUP_WEIGHTS: tuple[tuple[str, int], ...] = tuple(_CONTENT["grams_per_cup"].items())
OVEN: tuple[tuple[int, int, int], ...] = as_tuples(_CONTENT["oven"], "fahrenheit", "celsius", "gas_mark")
SYSTEM_PROMPTS: tuple[str, ...] = _CONTENT["system_prompts"]
OPENERS: tuple[str, ...] = _CONTENT["openers"]


GLYPHS = {Fraction(1, 4): "¼", Fraction(1, 2): "½", Fraction(3, 4): "¾"}


def _fraction_text(value: Fraction) -> str:
    whole, part = divmod(value, 1)
    if part == 0:
        return str(int(whole))
    glyph = GLYPHS[part]
    return f"{int(whole)}{glyph}" if whole else glyph


def format_ingredient(ingredient: Ingredient, factor: Fraction) -> str:
    """Render a scaled ingredient the way a cook would write it (22 g, 1½ tsp, 2 onions)."""
    if ingredient.amount == 0:
        return ingredient.name
    amount = Fraction(ingredient.amount).limit_denominator(8) * factor
    if ingredient.unit in ("g", "ml"):
        value = float(amount)
        value = round(value / 5) * 5 if value >= 50 else max(1, round(value))
        if value >= 1000:
            big = "kg" if ingredient.unit == "g" else "litres"
            return f"{value / 1000:g} {big} {ingredient.name}"
        return f"{value} {ingredient.unit} {ingredient.name}"
    if ingredient.unit in ("tsp", "tbsp"):
        spoons = Fraction(max(1, round(amount * 4)), 4)
        unit = ingredient.unit
        if unit == "tsp" and spoons >= 3 and spoons % 3 == 0:
            spoons, unit = spoons / 3, "tbsp"
        text = f"{_fraction_text(spoons)} {unit}"
        if unit == "tbsp" and spoons >= 6:
            text += f" ({round(spoons * 15)} ml)"
        return f"{text} {ingredient.name}"
    singular, plural = ingredient.name.split("|")
    steps = 2 if ingredient.halves else 1  # some counts can sensibly be halved (½ onion), others not
    count = Fraction(max(1, round(amount * steps)), steps)
    return f"{_fraction_text(count)} {singular if count <= 1 else plural}"


def render_recipe(recipe: Recipe, servings: int) -> str:
    """A full recipe answer for the requested number of servings."""
    factor = Fraction(servings, recipe.servings)
    if recipe.yields in ("people", "person"):
        heading = f"{recipe.dish[:1].upper()}{recipe.dish[1:]} (serves {servings})"
    else:
        heading = f"{recipe.dish[:1].upper()}{recipe.dish[1:]} (makes {servings} {recipe.yields})"
    lines = [heading, "", "Ingredients:"]
    lines += [f"- {format_ingredient(ingredient, factor)}" for ingredient in recipe.ingredients]
    lines += ["", "Method:"]
    lines += [f"{number}. {step}" for number, step in enumerate(recipe.steps, start=1)]
    lines += ["", f"Tip: {recipe.tip}"]
    return "\n".join(lines)


CUP_AMOUNTS: tuple[Fraction, ...] = (
    Fraction(1, 4),
    Fraction(1, 3),
    Fraction(1, 2),
    Fraction(2, 3),
    Fraction(3, 4),
    Fraction(1),
    Fraction(3, 2),
    Fraction(2),
    Fraction(5, 2),
    Fraction(3),
)
CUP_WORDS = {Fraction(1, 3): "⅓", Fraction(2, 3): "⅔"}


def _cups(amount: Fraction) -> str:
    if amount in CUP_WORDS:
        return CUP_WORDS[amount]
    return _fraction_text(amount)


def _chat(rng: random.Random, turns: list[tuple[str, str]]) -> dict:
    messages: list[dict[str, str]] = []
    if rng.random() < 0.35:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    for number, (user, assistant) in enumerate(turns):
        if number == 0:
            user = rng.choice(OPENERS) + user
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


def compose_recipe(rng: random.Random) -> dict:
    """A recipe request, scaled to the asked servings where the recipe scales, maybe with a follow-up."""
    recipe = rng.choice(RECIPES)
    if recipe.scalable and rng.random() < 0.7:
        sizes = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24)
        choices = [n for n in sizes if recipe.servings / 2 <= n <= recipe.servings * 3]
        servings = rng.choice(choices)
        if recipe.yields == "people":
            asks, yields = RECIPE_ASKS_FOR_PEOPLE, "people" if servings != 1 else "person"
        else:
            asks, yields = RECIPE_ASKS_FOR_ITEMS, recipe.yields
        ask = rng.choice(asks).format(dish=recipe.dish, n=servings, yields=yields)
    else:
        servings = recipe.servings
        ask = rng.choice(RECIPE_ASKS).format(dish=recipe.dish)
    turns = [(ask, render_recipe(recipe, servings))]
    if rng.random() < 0.45:
        turns.append(rng.choice(recipe.follow_ups))
    return _chat(rng, turns)


def compose_technique(rng: random.Random) -> dict:
    """A technique question answered step by step."""
    asks, answers = rng.choice(TECHNIQUES)
    return _chat(rng, [(rng.choice(asks), rng.choice(answers))])


def compose_substitution(rng: random.Random) -> dict:
    """An ingredient substitution."""
    asks, answer = rng.choice(SUBSTITUTIONS)
    return _chat(rng, [(rng.choice(asks), answer)])


def compose_troubleshooting(rng: random.Random) -> dict:
    """Something went wrong in the kitchen: likely causes and the fix."""
    asks, answer = rng.choice(TROUBLESHOOTING)
    return _chat(rng, [(rng.choice(asks), answer)])


def compose_food_safety(rng: random.Random) -> dict:
    """Safe cooking temperatures or storage times."""
    if rng.random() < 0.55:
        food, celsius, fahrenheit, note = rng.choice(SAFE_TEMPERATURES)
        ask = rng.choice(TEMPERATURE_ASKS).format(food=food)
        answer = (
            f"Cook {food} to an internal temperature of at least {celsius} °C ({fahrenheit} °F), measured "
            f"with a thermometer in the thickest part. {note}"
        )
    else:
        food, fridge, freezer = rng.choice(STORAGE)
        ask = rng.choice(STORAGE_ASKS).format(food=food)
        answer = (
            f"In the fridge (at 5 °C / 40 °F or below): {fridge}. In the freezer: {freezer}. Frozen food "
            "stays safe indefinitely, but quality drops after that time. Cool cooked food and get it into "
            "the fridge within 2 hours, and when in doubt, throw it out."
        )
        if food.startswith("raw"):
            answer += " Thaw frozen raw meat or fish in the fridge, never on the counter."
    return _chat(rng, [(ask, answer)])


def compose_conversion(rng: random.Random) -> dict:
    """A measurement conversion, computed from the cup-weight and oven tables."""
    kind = rng.random()
    if kind < 0.55:
        ingredient, grams_per_cup = rng.choice(CUP_WEIGHTS)
        cups = rng.choice(CUP_AMOUNTS)
        grams = round(grams_per_cup * cups)
        unit = "cup" if cups <= 1 else "cups"
        ask = rng.choice(
            (
                f"How many grams is {_cups(cups)} {unit} of {ingredient}?",
                f"Convert {_cups(cups)} {unit} of {ingredient} to grams, please.",
                f"My recipe says {_cups(cups)} {unit} of {ingredient}. How much is that on a scale?",
            )
        )
        answer = (
            f"About {grams} g. One US cup (240 ml) of {ingredient} weighs roughly {grams_per_cup} g, so "
            f"{_cups(cups)} × {grams_per_cup} g ≈ {grams} g."
        )
        if ingredient == "plain flour":
            answer += (
                " Weights for flour vary with how it's scooped; spooning it into the cup and levelling "
                "gives the lighter figure used here."
            )
    elif kind < 0.85:
        fahrenheit, celsius, gas = rng.choice(OVEN)
        if rng.random() < 0.5:
            ask = rng.choice(
                (f"What is {fahrenheit} °F in Celsius?", f"My recipe says {fahrenheit}°F. What's that in °C?")
            )
            exact = (fahrenheit - 32) * 5 / 9
            answer = (
                f"{fahrenheit} °F is {exact:.0f} °C, which recipes usually round to {celsius} °C (gas mark "
                f"{gas}). For a fan oven, reduce it by about 20 degrees, to {celsius - 20} °C."
            )
        else:
            ask = rng.choice((f"What is gas mark {gas} in Celsius?", f"What temperature is gas mark {gas}?"))
            answer = (
                f"Gas mark {gas} is about {celsius} °C or {fahrenheit} °F "
                f"(about {celsius - 20} °C in a fan oven)."
            )
    else:
        spoons = rng.choice((1, 2, 3, 4, 6, 8))
        unit = rng.choice(("tablespoon", "teaspoon"))
        per = 15 if unit == "tablespoon" else 5
        plural = unit if spoons == 1 else unit + "s"
        ask = rng.choice(
            (
                f"How many ml is {spoons} {plural}?",
                f"I don't have measuring spoons. How much is {spoons} {plural}?",
            )
        )
        answer = f"{spoons} {plural} is {spoons * per} ml — a {unit} holds {per} ml."
        if unit == "teaspoon" and spoons % 3 == 0:
            answer += f" That's the same as {spoons // 3} tablespoon{'s' if spoons > 3 else ''}."
        if unit == "tablespoon" and spoons in (4, 8):
            answer += f" That's {'¼' if spoons == 4 else '½'} of a US cup."
    return _chat(rng, [(ask, answer)])


COMPOSERS = (
    (compose_recipe, 34),
    (compose_technique, 16),
    (compose_substitution, 11),
    (compose_troubleshooting, 11),
    (compose_food_safety, 12),
    (compose_conversion, 16),
)


def compose_row(rng: random.Random) -> dict:
    """Pick a kind of cooking question and compose a chat for it."""
    composer = rng.choices([c for c, _ in COMPOSERS], weights=[w for _, w in COMPOSERS])[0]
    return composer(rng)


def cooking_rows(count: int, rng: random.Random) -> list[dict]:
    """Distinct chats for the `hearth-cooking` datanet."""
    return draw_unique(compose_row, count, rng)
