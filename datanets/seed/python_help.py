"""`python-help`: Python programming help with short, runnable snippets.

Every snippet that shows output is actually executed while the rows are composed and the
printed output is captured, so code and output in the datanet can never disagree. Data
values (names, numbers, records) vary between rows so the patterns generalise instead of
the same example being memorised. Only the standard library is used, and snippets never
print sets of strings (their order depends on hash randomisation).

The vocabulary, the sample records and the explanation-only answers (whose code is shown,
not run) are in content/python_help.json; the topics that print output are composed here,
next to the code that runs them.
"""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Callable

from .content_files import as_tuples, read_content
from .sampling import draw_unique


def run(code: str) -> str:
    """Execute a snippet and return what it printed — the source of truth for every 'Output' block."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, "<seed-snippet>", "exec", dont_inherit=True), {"__name__": "__seed__"})
    return buffer.getvalue().rstrip("\n")


def code_block(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


def with_output(code: str) -> str:
    return f"{code_block(code)}\n\nOutput:\n```\n{run(code)}\n```"


def _explanation(entry: dict) -> tuple[tuple[str, ...], str]:
    parts = (entry["before"], code_block("\n".join(entry["code"])), entry["after"])
    return entry["asks"], "\n\n".join(part for part in parts if part)


_CONTENT = read_content("python_help")

SYSTEM_PROMPTS: tuple[str, ...] = _CONTENT["system_prompts"]
OPENERS: tuple[str, ...] = _CONTENT["openers"]
FOLLOW_UPS: tuple[tuple[str, str], ...] = as_tuples(_CONTENT["follow_ups"], "question", "answer")
WORDS: dict[str, tuple[str, ...]] = _CONTENT["words"]
NUMBERS: dict[str, tuple[int, ...]] = _CONTENT["numbers"]
# (plural name, variable, records, sortable numeric keys)
RECORDS: tuple[tuple[str, str, tuple[dict, ...], tuple[str, ...]], ...] = as_tuples(
    _CONTENT["records"], "plural", "variable", "items", "sort_keys"
)
SENTENCES: tuple[str, ...] = _CONTENT["sentences"]
PHRASES: tuple[str, ...] = _CONTENT["phrases"]
PALINDROME_WORDS: tuple[str, ...] = _CONTENT["palindrome_words"]
FORMATS: tuple[tuple[str, str], ...] = as_tuples(_CONTENT["number_formats"], "spec", "description")
DATE_PAIRS: tuple[tuple[tuple[int, int, int], tuple[int, int, int], str], ...] = as_tuples(
    _CONTENT["date_pairs"], "first", "second", "label"
)
# Explanation-only topics: (asks, answer) with code that is shown, not run (files, processes, tools).
EXPLANATIONS: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    _explanation(entry) for entry in _CONTENT["explanations"]
)


def _sample(rng: random.Random, values: tuple, low: int = 4, high: int = 7) -> list:
    return rng.sample(list(values), rng.randint(low, min(high, len(values))))


def _word_list(rng: random.Random) -> tuple[str, list[str]]:
    name = rng.choice(list(WORDS))
    return name, _sample(rng, WORDS[name])


def _number_list(rng: random.Random) -> tuple[str, list[int]]:
    name = rng.choice(list(NUMBERS))
    return name, _sample(rng, NUMBERS[name], 5, 8)


def topic_reverse(rng: random.Random) -> tuple[str, str]:
    var, values = _word_list(rng) if rng.random() < 0.5 else _number_list(rng)
    ask = rng.choice(
        (
            f"How do I reverse a list in Python? My list is called `{var}`.",
            f"What's the easiest way to reverse `{var}`?",
            "How can I reverse a list without changing the original?",
        )
    )
    code = f"{var} = {values!r}\n\nreversed_{var} = {var}[::-1]\nprint(reversed_{var})\nprint({var})"
    answer = (
        "Use a slice with a step of -1. It returns a new list and leaves the original unchanged:\n\n"
        f"{with_output(code)}\n\n"
        f"If you want to reverse the list in place instead, call `{var}.reverse()`, which returns `None` and "
        f"modifies `{var}` directly. To loop backwards without copying, use `reversed({var})`."
    )
    return ask, answer


def topic_sort_records(rng: random.Random) -> tuple[str, str]:
    plural, var, records, keys = rng.choice(RECORDS)
    key = rng.choice(keys)
    label = "title" if "title" in records[0] else "name"
    descending = rng.random() < 0.5
    order = "highest first" if descending else "lowest first"
    ask = rng.choice(
        (
            f"How do I sort a list of dictionaries by '{key}'? I have a list of {plural}.",
            f"I have {plural} as dicts. How can I order them by {key}, {order}?",
            f"Sort a list of {plural} by the '{key}' value ({order}).",
        )
    )
    reverse = ", reverse=True" if descending else ""
    code = (
        f"{var} = [\n" + "".join(f"    {record!r},\n" for record in records) + "]\n\n"
        f"by_{key} = sorted({var}, key=lambda item: item[{key!r}]{reverse})\n"
        f"for item in by_{key}:\n    print(item[{label!r}], item[{key!r}])"
    )
    answer = (
        f"Pass a `key` function to `sorted()` that picks the value to compare"
        f"{' and add `reverse=True` for highest first' if descending else ''}:\n\n{with_output(code)}\n\n"
        f"`sorted()` returns a new list; use `{var}.sort(key=...)` to sort in place. "
        "`operator.itemgetter(" + repr(key) + ")` works as the key too and is slightly faster."
    )
    return ask, answer


def topic_count_words(rng: random.Random) -> tuple[str, str]:
    sentence = rng.choice(SENTENCES)
    top = rng.choice((2, 3))
    ask = rng.choice(
        (
            "How do I count how many times each word appears in a string?",
            f"What's the best way to find the {top} most common words in a sentence?",
            "How can I count occurrences of items in a list?",
        )
    )
    code = (
        "from collections import Counter\n\n"
        f"text = {sentence!r}\n"
        "counts = Counter(text.split())\n"
        f"print(counts.most_common({top}))\n"
        f"print(counts[{sentence.split()[1]!r}])"
    )
    answer = (
        "`collections.Counter` does this in one line. It counts any iterable, so split the text into words "
        "first:\n\n"
        f"{with_output(code)}\n\nLooking up a word that never appears returns 0 instead of raising "
        "`KeyError`."
    )
    return ask, answer


def topic_dedupe(rng: random.Random) -> tuple[str, str]:
    var, values = _word_list(rng)
    with_dupes = values + rng.sample(values, 3)
    rng.shuffle(with_dupes)
    ask = rng.choice(
        (
            "How do I remove duplicates from a list but keep the original order?",
            f"My list `{var}` has repeated items. How do I get unique values in order?",
            "Why does set() change the order of my list, and how do I dedupe without that?",
        )
    )
    code = f"{var} = {with_dupes!r}\n\nunique = list(dict.fromkeys({var}))\nprint(unique)"
    answer = (
        "Dictionaries keep insertion order (since Python 3.7) and their keys are unique, so `dict.fromkeys` "
        f"removes duplicates while keeping the first occurrence of each item:\n\n{with_output(code)}\n\n"
        "`set()` also removes duplicates, but sets have no defined order, so the result can come out "
        "shuffled."
    )
    return ask, answer


def topic_flatten(rng: random.Random) -> tuple[str, str]:
    numbers = _sample(rng, NUMBERS["scores"], 6, 9)
    cut1, cut2 = sorted(rng.sample(range(1, len(numbers)), 2))
    nested = [numbers[:cut1], numbers[cut1:cut2], numbers[cut2:]]
    ask = rng.choice(
        (
            "How do I flatten a list of lists?",
            f"I have {nested!r}. How do I turn it into one flat list?",
            "What's the Pythonic way to join nested lists into a single list?",
        )
    )
    code = (
        f"nested = {nested!r}\n\n"
        "flat = [item for group in nested for item in group]\nprint(flat)\n\n"
        "from itertools import chain\nprint(list(chain.from_iterable(nested)))"
    )
    answer = (
        "A nested list comprehension reads like two `for` loops in order; `itertools.chain.from_iterable` "
        "does the same lazily:\n\n"
        f"{with_output(code)}\n\n"
        "Both handle one level of nesting. Deeper structures need recursion."
    )
    return ask, answer


def topic_format_numbers(rng: random.Random) -> tuple[str, str]:
    spec, description = rng.choice(FORMATS)
    value = rng.choice((1234.5678, 0.4567, 98765.4321, 3.14159, 42.0, 0.0825, 1500000.0))
    name = rng.choice(("total", "price", "ratio", "distance", "balance"))
    ask = rng.choice(
        (
            f"How do I format a number with {description} in Python?",
            f"How can I print `{name}` with {description} using an f-string?",
        )
    )
    code = f'{name} = {value!r}\nprint(f"{{{name}:{spec}}}")'
    answer = (
        "Put a format specification after a colon inside the f-string braces. "
        f"`{spec}` gives {description}:\n\n{with_output(code)}\n\n"
        "The same specification works with `format(value, spec)` and `str.format`."
    )
    return ask, answer


TRANSFORMS: tuple[tuple[str, str], ...] = (
    ("n", "{numbers}"),
    ("n * n", "the squares of {numbers}"),
    ("n * 10", "{numbers} multiplied by 10"),
)


def topic_comprehension(rng: random.Random) -> tuple[str, str]:
    start, stop = rng.choice(((1, 11), (1, 21), (10, 31), (0, 16), (40, 61)))
    threshold = rng.randrange(start + 2, stop - 2)
    condition, numbers = rng.choice(
        (
            ("n % 2 == 0", "the even numbers"),
            ("n % 2 == 1", "the odd numbers"),
            ("n % 3 == 0", "the multiples of 3"),
            (f"n > {threshold}", f"the numbers greater than {threshold}"),
            (f"n < {threshold}", f"the numbers below {threshold}"),
        )
    )
    transform, goal = rng.choice(TRANSFORMS)
    goal = goal.format(numbers=numbers)
    ask = rng.choice(
        (
            f"How do I use a list comprehension to get {goal} from {start} to {stop - 1}?",
            f"Write a one-liner that collects {goal} between {start} and {stop - 1}.",
        )
    )
    code = f"result = [{transform} for n in range({start}, {stop}) if {condition}]\nprint(result)"
    answer = (
        "A list comprehension has the shape `[expression for item in iterable if condition]`:\n\n"
        f"{with_output(code)}\n\n`range({start}, {stop})` stops before {stop}, so {stop - 1} is the last "
        "value checked."
    )
    return ask, answer


def topic_merge_dicts(rng: random.Random) -> tuple[str, str]:
    base = {"theme": "light", "font_size": 12, "autosave": True}
    override = rng.choice(
        ({"theme": "dark"}, {"font_size": 14, "language": "en"}, {"autosave": False, "theme": "dark"})
    )
    ask = rng.choice(
        (
            "How do I merge two dictionaries in Python?",
            "I have default settings and user settings as dicts. How do I combine them so user values win?",
        )
    )
    code = (
        f"defaults = {base!r}\nuser = {override!r}\n\n"
        "settings = defaults | user\nprint(settings)\n\n"
        "settings_old_style = {**defaults, **user}\nprint(settings_old_style == settings)"
    )
    answer = (
        "Use the `|` operator (Python 3.9+). When both dictionaries have a key, the right-hand one wins:\n\n"
        f"{with_output(code)}\n\n"
        "On older versions, `{**defaults, **user}` does the same. Use `defaults |= user` to update "
        "`defaults` in place."
    )
    return ask, answer


def topic_enumerate(rng: random.Random) -> tuple[str, str]:
    var, values = _word_list(rng)
    start = rng.choice((0, 1))
    ask = rng.choice(
        (
            "How do I get the index while looping over a list?",
            f"How can I print a numbered list of {var} starting at {start}?",
            "Is there a better way than range(len(items)) to loop with indexes?",
        )
    )
    start_arg = ", start=1" if start == 1 else ""
    code = (
        f"{var} = {values!r}\n\n"
        f"for number, item in enumerate({var}{start_arg}):\n"
        '    print(f"{number}. {item}")'
    )
    answer = (
        "Use `enumerate()`, which yields (index, item) "
        f"pairs{' — pass `start=1` to count from 1' if start else ''}:"
        f"\n\n{with_output(code)}\n\nIt's clearer than `range(len(...))` and works with any iterable, not "
        "just lists."
    )
    return ask, answer


def topic_zip(rng: random.Random) -> tuple[str, str]:
    names = _sample(rng, WORDS["names"], 3, 5)
    scores = _sample(rng, NUMBERS["scores"], len(names), len(names))
    ask = rng.choice(
        (
            "How do I combine two lists into a dictionary?",
            "I have a list of names and a list of scores. How do I pair them up?",
            "How do I loop over two lists at the same time?",
        )
    )
    code = (
        f"names = {names!r}\nscores = {scores!r}\n\n"
        "for name, score in zip(names, scores):\n    print(name, score)\n\n"
        "by_name = dict(zip(names, scores))\nprint(by_name)"
    )
    answer = (
        "`zip()` pairs items by position, and `dict()` turns those pairs into a dictionary:\n\n"
        f"{with_output(code)}\n\n"
        "`zip` stops at the shortest list. Pass `strict=True` (Python 3.10+) to get an error when the "
        "lengths differ instead of silently dropping items."
    )
    return ask, answer


def topic_string_methods(rng: random.Random) -> tuple[str, str]:
    phrase = rng.choice(PHRASES)
    operation = rng.choice(("title", "slug", "words", "replace"))
    if operation == "title":
        ask = "How do I remove extra spaces and capitalise each word of a string?"
        code = f"text = {phrase!r}\nprint(text.strip().title())"
        note = "`strip()` removes leading and trailing whitespace and `title()` capitalises each word."
    elif operation == "slug":
        ask = "How do I turn a sentence into a lowercase, hyphen-separated slug?"
        code = f'text = {phrase!r}\nslug = "-".join(text.lower().split())\nprint(slug)'
        note = "`split()` with no argument splits on any run of whitespace and ignores spaces at either end."
    elif operation == "words":
        ask = "How do I count the words in a string?"
        code = f"text = {phrase!r}\nwords = text.split()\nprint(len(words), words)"
        note = "`split()` without arguments is more robust than `split(' ')`, which can make empty strings."
    else:
        old = phrase.split()[1]
        ask = "How do I replace a word in a string?"
        code = f"text = {phrase!r}\nprint(text.replace({old!r}, 'new').strip())"
        note = "Strings are immutable, so `replace()` returns a new string; assign it if you want to keep it."
    return ask, f"{with_output(code)}\n\n{note}"


def topic_palindrome(rng: random.Random) -> tuple[str, str]:
    words = rng.sample(PALINDROME_WORDS, 4)
    ask = rng.choice(
        (
            "How do I check if a string is a palindrome?",
            "Write a palindrome checker that ignores case and spaces.",
        )
    )
    code = (
        "def is_palindrome(text: str) -> bool:\n"
        '    cleaned = "".join(text.lower().split())\n'
        "    return cleaned == cleaned[::-1]\n\n"
        f"for word in {words!r}:\n    print(word, is_palindrome(word))"
    )
    answer = (
        f"Normalise the text (lowercase, no spaces), then compare it with its reverse:\n\n{with_output(code)}"
    )
    return ask, answer


def topic_stats(rng: random.Random) -> tuple[str, str]:
    var, values = _number_list(rng)
    ask = rng.choice(
        (
            f"How do I get the average, minimum and maximum of `{var}`?",
            "How do I calculate the mean of a list of numbers?",
            "What's the simplest way to get summary statistics of a list?",
        )
    )
    code = (
        f"{var} = {values!r}\n\n"
        f"average = sum({var}) / len({var})\n"
        f'print(f"average: {{average:.2f}}")\n'
        f'print("min:", min({var}), "max:", max({var}))\n\n'
        "import statistics\n"
        f'print("median:", statistics.median({var}))'
    )
    answer = (
        "The built-ins `sum`, `len`, `min` and `max` cover most of it, and the `statistics` module adds "
        "median, mode and standard deviation:\n\n"
        f"{with_output(code)}\n\n"
        "Note that `sum(...) / len(...)` raises `ZeroDivisionError` for an empty list, so check for that "
        "first if it can happen."
    )
    return ask, answer


def topic_dates(rng: random.Random) -> tuple[str, str]:
    first, second, label = rng.choice(DATE_PAIRS)
    if rng.random() < 0.6:
        ask = f"How do I count the days between {label} in Python?"
        code = (
            "from datetime import date\n\n"
            f"start = date{first!r}\nend = date{second!r}\n\n"
            "delta = end - start\nprint(delta.days)\nprint(start + delta == end)"
        )
        note = "Subtracting two `date` objects gives a `timedelta`; its `.days` attribute is the difference."
    else:
        ask = rng.choice(
            (
                "How do I format a date like 'Monday, 15 January 2024'?",
                "How do I print a date in a custom format?",
            )
        )
        code = (
            "from datetime import date\n\n"
            f"day = date{first!r}\n"
            'print(day.strftime("%A, %d %B %Y"))\nprint(day.isoformat())'
        )
        note = "`strftime` codes: `%A` weekday name, `%d` day, `%B` month name, `%Y` four-digit year."
    return ask, f"{with_output(code)}\n\n{note}"


def topic_json(rng: random.Random) -> tuple[str, str]:
    _, _, records, _ = rng.choice(RECORDS)
    record = rng.choice(records)
    ask = rng.choice(
        (
            "How do I convert a dictionary to JSON and back?",
            "How do I save a dict to a JSON file in Python?",
            "Why does json.dumps put everything on one line?",
        )
    )
    code = (
        "import json\n\n"
        f"record = {record!r}\n\n"
        "text = json.dumps(record, indent=2)\nprint(text)\n\n"
        "again = json.loads(text)\nprint(again == record)"
    )
    answer = (
        "`json.dumps` turns Python objects into a JSON string (`indent=2` makes it readable) and "
        "`json.loads` parses it back:\n\n"
        f"{with_output(code)}\n\n"
        "To write a file, use `json.dump` with an open file:\n\n"
        + code_block(
            'with open("record.json", "w", encoding="utf-8") as f:\n    json.dump(record, f, indent=2)'
        )
    )
    return ask, answer


def topic_parse_int(rng: random.Random) -> tuple[str, str]:
    inputs = rng.sample(["42", "seven", "3.5", " 12 ", "-8", "", "1e3", "007"], 4)
    ask = rng.choice(
        (
            "How do I handle invalid input when converting a string to an int?",
            "My program crashes with ValueError: invalid literal for int(). How do I handle that?",
        )
    )
    code = (
        "def parse_int(text: str) -> int | None:\n"
        "    try:\n        return int(text)\n"
        "    except ValueError:\n        return None\n\n"
        f'for raw in {inputs!r}:\n    print(repr(raw), "->", parse_int(raw))'
    )
    answer = (
        "`int()` raises `ValueError` when the string isn't a whole number. Catch that specific exception:\n\n"
        f"{with_output(code)}\n\n`int()` ignores surrounding whitespace but rejects decimals like '3.5'; use "
        "`float()` if you need those. Avoid a bare `except:`, which would also hide unrelated bugs."
    )
    return ask, answer


def topic_key_error(rng: random.Random) -> tuple[str, str]:
    _, values = _word_list(rng)
    stock = {item: rng.randint(0, 9) for item in values[:3]}
    missing = values[3]
    ask = rng.choice(
        (
            f"I get KeyError: '{missing}'. What does that mean?",
            "How do I read a dictionary key that might not exist?",
        )
    )
    code = (
        f"stock = {stock!r}\n\n"
        f"print(stock.get({missing!r}))\n"
        f"print(stock.get({missing!r}, 0))\n"
        f"print({missing!r} in stock)"
    )
    answer = (
        "`KeyError` means you looked up a key that isn't in the dictionary — here "
        f"`stock[{missing!r}]` would fail. Use `.get()`, which returns `None` or a default instead, "
        "or check with `in` first:\n\n"
        f"{with_output(code)}\n\n"
        "For counting, `collections.defaultdict(int)` creates missing keys with 0 automatically."
    )
    return ask, answer


def topic_type_error_concat(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(WORDS["names"])
    age = rng.choice(NUMBERS["ages"])
    ask = rng.choice(
        (
            'Why do I get TypeError: can only concatenate str (not "int") to str?',
            'My code "Age: " + age crashes. How do I fix it?',
        )
    )
    code = (
        f"name = {name!r}\nage = {age}\n\n"
        '# print("Age: " + age)  # TypeError\n'
        'print("Age: " + str(age))\n'
        'print(f"{name} is {age} years old")'
    )
    answer = (
        "Python won't add a string and a number together because it can't guess whether you mean text or "
        "arithmetic. Convert the number with `str()`, or — usually nicer — use an f-string:\n\n"
        f"{with_output(code)}"
    )
    return ask, answer


def topic_index_error(rng: random.Random) -> tuple[str, str]:
    var, values = _word_list(rng)
    ask = rng.choice(
        (
            "What does IndexError: list index out of range mean?",
            f"Why does {var}[{len(values)}] crash when the list has {len(values)} items?",
        )
    )
    code = (
        f"{var} = {values!r}\n\n"
        f"print(len({var}))\nprint({var}[0])\nprint({var}[len({var}) - 1])\nprint({var}[-1])"
    )
    answer = (
        f"Indexes start at 0, so a list of {len(values)} items has valid indexes 0 to {len(values) - 1}. "
        f"`{var}[{len(values)}]` is one past the end:\n\n"
        f"{with_output(code)}\n\n"
        "Negative indexes count from the end, so `[-1]` is the last item. When looping, iterate over the "
        "items directly instead of computing indexes."
    )
    return ask, answer


def topic_mutable_default(rng: random.Random) -> tuple[str, str]:
    _, values = _word_list(rng)
    a, b = values[:2]
    ask = rng.choice(
        (
            "Why does my function's default list keep growing between calls?",
            "What's wrong with def add(item, items=[])?",
        )
    )
    code = (
        "def add_bad(item, items=[]):\n    items.append(item)\n    return items\n\n"
        f"print(add_bad({a!r}))\nprint(add_bad({b!r}))\n\n"
        "def add_good(item, items=None):\n    if items is None:\n        items = []\n"
        "    items.append(item)\n    return items\n\n"
        f"print(add_good({a!r}))\nprint(add_good({b!r}))"
    )
    answer = (
        "Default values are evaluated once, when the function is defined, so every call shares the same "
        "list. Use `None` as the default and create the list inside:\n\n"
        f"{with_output(code)}"
    )
    return ask, answer


def topic_is_vs_eq(rng: random.Random) -> tuple[str, str]:
    _, values = _number_list(rng)
    first = values[:3]
    ask = rng.choice(
        ("What's the difference between `is` and `==`?", "Should I use `is` or `==` to compare lists?")
    )
    code = f"a = {first!r}\nb = {first!r}\nc = a\n\nprint(a == b)\nprint(a is b)\nprint(a is c)"
    answer = (
        "`==` compares values; `is` checks whether two names refer to the very same object:\n\n"
        f"{with_output(code)}\n\nUse `==` for comparing data and keep `is` for singletons such as `None` "
        "(`if value is None:`)."
    )
    return ask, answer


def topic_dataclass(rng: random.Random) -> tuple[str, str]:
    plural, _, records, _ = rng.choice(RECORDS)
    record = rng.choice(records)
    class_name = {"people": "Person", "products": "Product", "books": "Book", "cities": "City"}[plural]
    fields = "".join(f"    {key}: {type(value).__name__}\n" for key, value in record.items())
    args = ", ".join(f"{key}={value!r}" for key, value in record.items())
    first_key = next(iter(record))
    ask = rng.choice(
        (
            f"How do I make a simple class to hold {plural[:-1] if plural != 'people' else 'person'} data?",
            "What is a dataclass and when should I use one?",
        )
    )
    code = (
        "from dataclasses import dataclass\n\n"
        f"@dataclass\nclass {class_name}:\n{fields}\n"
        f"item = {class_name}({args})\nprint(item)\nprint(item.{first_key})\n"
        f"print(item == {class_name}({args}))"
    )
    answer = (
        "A `@dataclass` writes `__init__`, `__repr__` and `__eq__` for you from the annotated fields:\n\n"
        f"{with_output(code)}\n\nAdd `frozen=True` to make instances immutable."
    )
    return ask, answer


def topic_recursion(rng: random.Random) -> tuple[str, str]:
    n = rng.choice((5, 6, 7, 8, 10, 12))
    if rng.random() < 0.5:
        ask = f"How do I write a recursive factorial function? I want factorial({n})."
        code = (
            "def factorial(n: int) -> int:\n    if n <= 1:\n        return 1\n    return n * factorial(n - "
            "1)\n\n"
            f"print(factorial({n}))\n\nimport math\nprint(math.factorial({n}))"
        )
        note = "Every recursive function needs a base case (here `n <= 1`) that stops the recursion."
    else:
        ask = f"How do I compute the first {n} Fibonacci numbers?"
        code = (
            "def fibonacci(count: int) -> list[int]:\n    numbers = []\n    a, b = 0, 1\n"
            "    for _ in range(count):\n        numbers.append(a)\n        a, b = b, a + b\n    return "
            "numbers\n\n"
            f"print(fibonacci({n}))"
        )
        note = "A loop beats naive recursion here: recursive Fibonacci recomputes the same values many times."
    return ask, f"{with_output(code)}\n\n{note}"


def topic_generator(rng: random.Random) -> tuple[str, str]:
    limit = rng.choice((5, 6, 8, 10))
    ask = rng.choice(
        ("What does `yield` do?", "How do generators work in Python?", "How do I make a lazy sequence?")
    )
    code = (
        "def squares(limit: int):\n    for n in range(1, limit + 1):\n        yield n * n\n\n"
        f"gen = squares({limit})\nprint(next(gen))\nprint(next(gen))\nprint(list(gen))"
    )
    answer = (
        "A function containing `yield` returns a generator. Each `next()` runs the function until the next "
        "`yield`, so values are produced one at a time instead of building a whole list:\n\n"
        f"{with_output(code)}\n\n"
        "Notice that `list(gen)` only contains the remaining values — a generator can be consumed only once."
    )
    return ask, answer


def topic_sets(rng: random.Random) -> tuple[str, str]:
    pool = list(WORDS[rng.choice(list(WORDS))])
    left, right = rng.sample(pool, 5), rng.sample(pool, 5)
    ask = rng.choice(
        (
            "How do I find the items two lists have in common?",
            "How do I get the items that are in one list but not the other?",
        )
    )
    code = (
        f"a = {left!r}\nb = {right!r}\n\n"
        'print("both:", sorted(set(a) & set(b)))\n'
        'print("only in a:", sorted(set(a) - set(b)))\n'
        'print("either:", len(set(a) | set(b)))'
    )
    answer = (
        "Convert to sets and use the set operators: `&` (intersection), `-` (difference) and `|` (union):\n\n"
        f"{with_output(code)}\n\nSets are unordered, so wrap results in `sorted()` when you need a stable "
        "order."
    )
    return ask, answer


SLICES: tuple[str, ...] = ("[:3]", "[2:]", "[1:4]", "[-2:]", "[::2]", "[1::2]", "[:-1]")


def topic_slicing(rng: random.Random) -> tuple[str, str]:
    var, values = _word_list(rng)
    chosen = rng.sample(SLICES, 3)
    ask = rng.choice(("How does list slicing work?", f"Can you explain {var}{chosen[0]} and similar slices?"))
    code = f"{var} = {values!r}\n\n" + "".join(f"print({var}{item})\n" for item in chosen)
    answer = (
        "A slice is `[start:stop:step]`: it starts at `start`, stops *before* `stop`, and moves by `step`. "
        f"Missing values default to the beginning, the end and 1:\n\n{with_output(code)}\n\n"
        "Slicing never raises `IndexError`; out-of-range bounds are clipped."
    )
    return ask, answer


def topic_any_all(rng: random.Random) -> tuple[str, str]:
    var, values = _number_list(rng)
    threshold = rng.choice((20, 50, 90, 100, 10000))
    ask = rng.choice(
        (
            f"How do I check whether any value in `{var}` is above {threshold}?",
            "What do any() and all() do?",
        )
    )
    code = (
        f"{var} = {values!r}\n\n"
        f"print(any(value > {threshold} for value in {var}))\n"
        f"print(all(value > {threshold} for value in {var}))\n"
        f"print([value for value in {var} if value > {threshold}])"
    )
    answer = (
        "`any()` is True if at least one item is truthy; `all()` only if every item is. With a generator "
        "expression they stop as soon as the answer is known:\n\n"
        f"{with_output(code)}"
    )
    return ask, answer


def topic_split_numbers(rng: random.Random) -> tuple[str, str]:
    _, values = _number_list(rng)
    separator = rng.choice((",", ", ", ";", " "))
    raw = separator.join(str(v) for v in values)
    ask = f"How do I turn the string {raw!r} into a list of integers?"
    split_call = f"split({separator.strip()!r})" if separator.strip() else "split()"
    code = (
        f"raw = {raw!r}\n\nnumbers = [int(part) for part in raw.{split_call}]\n"
        "print(numbers)\nprint(sum(numbers))"
    )
    answer = (
        "Split the string, then convert each piece with `int()` (which ignores surrounding "
        f"spaces):\n\n{with_output(code)}"
    )
    return ask, answer


def topic_multi_key_sort(rng: random.Random) -> tuple[str, str]:
    names = _sample(rng, WORDS["names"], 5, 6)
    teams = ["red", "blue"]
    rows = [(name, rng.choice(teams), rng.choice((70, 80, 90))) for name in names]
    ask = "How do I sort by one field and then by another as a tie-breaker?"
    code = (
        f"rows = {rows!r}\n\n"
        "# team alphabetically, then score highest first\n"
        "ordered = sorted(rows, key=lambda row: (row[1], -row[2]))\n"
        "for name, team, score in ordered:\n    print(team, score, name)"
    )
    answer = (
        "Return a tuple from the key function — tuples compare element by element. Negate a number to "
        "reverse just that part:\n\n"
        f"{with_output(code)}\n\n"
        "Python's sort is stable, so equal keys keep their original order."
    )
    return ask, answer


def topic_debug_fstring(rng: random.Random) -> tuple[str, str]:
    name, values = _number_list(rng)
    ask = "Is there a quick way to print a variable's name and value for debugging?"
    code = f'{name} = {values!r}\ntotal = sum({name})\n\nprint(f"{{total=}}")\nprint(f"{{len({name})=}}")'
    answer = (
        "Yes — since Python 3.8, adding `=` inside an f-string prints the expression and its value:\n\n"
        f"{with_output(code)}\n\n"
        "For anything bigger than a quick check, the `logging` module or a debugger is a better fit."
    )
    return ask, answer


def topic_sort_by_length(rng: random.Random) -> tuple[str, str]:
    var, values = _word_list(rng)
    ask = rng.choice(
        (f"How do I sort `{var}` by length?", "How do I sort strings by their length, then alphabetically?")
    )
    code = (
        f"{var} = {values!r}\n\n"
        f"print(sorted({var}, key=len))\n"
        f"print(sorted({var}, key=lambda word: (len(word), word)))"
    )
    answer = (
        "Pass `key=len`. Items of the same length keep their original order, so add the word itself as a "
        f"tie-breaker if you want them alphabetical:\n\n{with_output(code)}"
    )
    return ask, answer


def topic_while_break(rng: random.Random) -> tuple[str, str]:
    var, values = _number_list(rng)
    threshold = sorted(values)[len(values) // 2]
    ask = f"How do I find the first value in `{var}` that is at least {threshold}?"
    code = (
        f"{var} = {values!r}\n\n"
        f'for value in {var}:\n    if value >= {threshold}:\n        print("found", value)\n        break\n'
        'else:\n    print("none found")\n\n'
        f"print(next((v for v in {var} if v >= {threshold}), None))"
    )
    answer = (
        "Loop and `break` at the first match; the loop's `else` runs only if no `break` happened. `next()` "
        "with a generator does the same in one line:\n\n"
        f"{with_output(code)}"
    )
    return ask, answer


TOPICS: tuple[Callable[[random.Random], tuple[str, str]], ...] = (
    topic_reverse,
    topic_sort_records,
    topic_count_words,
    topic_dedupe,
    topic_flatten,
    topic_format_numbers,
    topic_comprehension,
    topic_merge_dicts,
    topic_enumerate,
    topic_zip,
    topic_string_methods,
    topic_palindrome,
    topic_stats,
    topic_dates,
    topic_json,
    topic_parse_int,
    topic_key_error,
    topic_type_error_concat,
    topic_index_error,
    topic_mutable_default,
    topic_is_vs_eq,
    topic_dataclass,
    topic_recursion,
    topic_generator,
    topic_sets,
    topic_slicing,
    topic_any_all,
    topic_split_numbers,
    topic_multi_key_sort,
    topic_debug_fstring,
    topic_sort_by_length,
    topic_while_break,
)


def compose_chat(rng: random.Random) -> dict:
    """One Python help conversation: a generated, executed example or a hand-written explanation."""
    if rng.random() < 0.2:
        asks, answer = rng.choice(EXPLANATIONS)
        ask = rng.choice(asks)
    else:
        ask, answer = rng.choice(TOPICS)(rng)
    messages: list[dict[str, str]] = []
    if rng.random() < 0.4:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    messages += [
        {"role": "user", "content": rng.choice(OPENERS) + ask},
        {"role": "assistant", "content": answer},
    ]
    if rng.random() < 0.12:
        follow, reply = rng.choice(FOLLOW_UPS)
        messages += [{"role": "user", "content": follow}, {"role": "assistant", "content": reply}]
    return {"messages": messages}


def python_rows(count: int, rng: random.Random) -> list[dict]:
    """Distinct chats for the `python-help` datanet."""
    return draw_unique(compose_chat, count, rng)
