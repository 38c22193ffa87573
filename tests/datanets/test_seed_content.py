"""The demo seed content: shape, uniqueness, attribution, determinism and internal consistency.

These run without a database: the seed is plain Python data that the loader, the
training exporter and the benchmarks all consume.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

import pytest
from eth_utils import is_checksum_address

from datanets.seed import SeedContributor, SeedDatanet, seed_contributors, seed_datanets
from datanets.seed.cooking import RECIPES, format_ingredient, render_recipe
from datanets.seed.field_notes import field_note_rows
from datanets.seed.python_help import run

REPO_ROOT = Path(__file__).resolve().parents[2]

EXPECTED_FORMATS = {
    "lumen-support": {"messages"},
    "harbor-regulation-faq": {"prompt", "completion"},
    "hearth-cooking": {"messages"},
    "python-help": {"messages"},
    "field-notes": {"text"},
}
USERNAME = re.compile(r"^[a-z][a-z0-9_]{2,29}$")
WALLET = re.compile(r"^0x[0-9a-fA-F]{40}$")
LICENSES = {"CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "MIT", "Apache-2.0"}


def normalized(content: dict) -> str:
    """Whitespace- and case-insensitive form of a row, independent of the seed's own helper."""
    return re.sub(r"\s+", " ", json.dumps(content, sort_keys=True, ensure_ascii=False)).strip().lower()


def datanets_by_slug() -> dict[str, SeedDatanet]:
    return {datanet.slug: datanet for datanet in seed_datanets()}


def chat_datanets() -> list[SeedDatanet]:
    return [d for d in seed_datanets() if EXPECTED_FORMATS[d.slug] == {"messages"}]


def test_the_five_demo_datanets_are_present_in_catalogue_order():
    assert [d.slug for d in seed_datanets()] == list(EXPECTED_FORMATS)


@pytest.mark.parametrize("slug", list(EXPECTED_FORMATS))
def test_every_seed_datanet_has_between_300_and_1000_unique_rows(slug):
    rows = datanets_by_slug()[slug].rows

    keys = [normalized(row.content) for row in rows]

    assert 300 <= len(rows) <= 1000
    duplicates = [key for key, n in Counter(keys).items() if n > 1]
    assert duplicates == []


def test_no_row_is_repeated_across_datanets():
    keys = [normalized(row.content) for d in seed_datanets() for row in d.rows]

    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("slug", list(EXPECTED_FORMATS))
def test_each_datanet_uses_one_declared_row_format(slug):
    rows = datanets_by_slug()[slug].rows

    formats = {frozenset(row.content) for row in rows}

    assert formats == {frozenset(EXPECTED_FORMATS[slug])}


@pytest.mark.parametrize("slug", [s for s, keys in EXPECTED_FORMATS.items() if keys == {"messages"}])
def test_chat_rows_alternate_user_and_assistant_after_optional_system(slug):
    for row in datanets_by_slug()[slug].rows:
        messages = row.content["messages"]
        roles = [m["role"] for m in messages]
        if roles[0] == "system":
            roles = roles[1:]
        assert roles, row
        assert len(roles) % 2 == 0, roles
        assert roles == ["user", "assistant"] * (len(roles) // 2), roles
        for message in messages:
            assert set(message) == {"role", "content"}
            assert isinstance(message["content"], str)
            assert message["content"].strip() == message["content"] != ""


def test_chat_datanets_include_system_prompts_and_multi_turn_conversations():
    for datanet in chat_datanets():
        turns = [len(row.content["messages"]) for row in datanet.rows]
        with_system = sum(row.content["messages"][0]["role"] == "system" for row in datanet.rows)
        multi_turn = sum(
            sum(m["role"] == "user" for m in row.content["messages"]) > 1 for row in datanet.rows
        )
        assert 0 < with_system < len(turns), datanet.slug
        assert multi_turn >= 20, datanet.slug


def test_prompt_completion_and_text_rows_are_non_empty_strings():
    by_slug = datanets_by_slug()
    for row in by_slug["harbor-regulation-faq"].rows:
        assert isinstance(row.content["prompt"], str)
        assert row.content["prompt"].strip()
        assert isinstance(row.content["completion"], str)
        assert len(row.content["completion"]) > 40
    for row in by_slug["field-notes"].rows:
        assert isinstance(row.content["text"], str)
        assert len(row.content["text"]) > 60


def test_at_least_30_contributors_with_checksummed_wallets():
    contributors = seed_contributors()

    assert len(contributors) >= 30
    assert all(isinstance(c, SeedContributor) for c in contributors)
    assert len({c.username for c in contributors}) == len(contributors)
    assert len({c.wallet_address.lower() for c in contributors}) == len(contributors)
    for contributor in contributors:
        assert USERNAME.match(contributor.username), contributor.username
        assert contributor.display_name.strip()
        assert WALLET.match(contributor.wallet_address), contributor.wallet_address
        assert is_checksum_address(contributor.wallet_address), contributor.wallet_address


def test_every_row_is_attributed_to_a_known_contributor_and_each_datanet_has_8_or_more():
    known = {c.username for c in seed_contributors()}
    for datanet in seed_datanets():
        contributors = {row.contributor for row in datanet.rows}
        assert contributors <= known, datanet.slug
        assert datanet.owner in known
        assert datanet.owner in contributors
        assert len(contributors) >= 8, datanet.slug


def test_attribution_is_skewed_towards_a_few_contributors():
    for datanet in seed_datanets():
        counts = sorted(Counter(row.contributor for row in datanet.rows).values(), reverse=True)
        top_three_share = sum(counts[:3]) / sum(counts)
        assert counts[0] >= 3 * statistics.median(counts), (datanet.slug, counts)
        assert top_three_share >= 0.4, (datanet.slug, counts)


def test_owners_and_attribution_differ_between_datanets():
    datanets = seed_datanets()

    assert len({d.owner for d in datanets}) == len(datanets)
    pools = {frozenset(row.contributor for row in d.rows) for d in datanets}
    assert len(pools) == len(datanets)


def test_datanet_catalogue_metadata_is_complete():
    for datanet in seed_datanets():
        assert datanet.title.strip()
        assert len(datanet.description) > 80
        assert isinstance(datanet.tags, tuple)
        assert datanet.tags
        assert all(re.fullmatch(r"[a-z0-9-]+", tag) for tag in datanet.tags), datanet.tags
        assert datanet.license in LICENSES
        assert isinstance(datanet.rows, tuple)


def test_seed_datanets_hands_out_copies_that_callers_may_edit():
    first = seed_datanets()
    first[0].rows[0].content.clear()

    again = seed_datanets()

    assert again[0].rows[0].content != {}


SEED_DIGEST_SCRIPT = """
import hashlib, json
from dataclasses import asdict
from datanets.seed import seed_contributors, seed_datanets
payload = {
    "contributors": [asdict(c) for c in seed_contributors()],
    "datanets": [asdict(d) for d in seed_datanets()],
}
digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
print(json.dumps({"digest": digest}))
"""


def _digest_in_fresh_process(hash_seed: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SEED_DIGEST_SCRIPT],
        cwd=REPO_ROOT,
        env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_seed_is_deterministic():
    payload = {
        "contributors": [asdict(c) for c in seed_contributors()],
        "datanets": [asdict(d) for d in seed_datanets()],
    }
    here = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    runs = [_digest_in_fresh_process(seed) for seed in ("1", "4242")]

    assert [run["digest"] for run in runs] == [here, here]


def test_seed_is_composed_once_per_process_and_then_served_from_memory(monkeypatch):
    from datanets.seed import catalog

    composed: list[str] = []
    compose = catalog._build

    def counting(spec):
        composed.append(spec.slug)
        return compose(spec)

    monkeypatch.setattr(catalog, "_build", counting)
    catalog.all_datanets.cache_clear()  # as in a fresh process: nothing composed yet
    try:
        first = seed_datanets()
        second = seed_datanets()
    finally:
        catalog.all_datanets.cache_clear()

    assert sorted(composed) == sorted(EXPECTED_FORMATS)  # each datanet composed once, on first use
    assert first == second
    assert first[0] is not second[0]  # each caller gets its own copy of the cached content


OUTPUT_BLOCK = re.compile(r"```python\n(?P<code>.*?)\n```\n\nOutput:\n```\n(?P<output>.*?)\n```", re.DOTALL)


def test_python_help_outputs_are_what_the_snippets_print():
    checked = 0
    for row in datanets_by_slug()["python-help"].rows:
        for message in row.content["messages"]:
            for match in OUTPUT_BLOCK.finditer(message["content"]):
                assert run(match["code"]) == match["output"], match["code"]
                checked += 1
    assert checked >= 300


def test_python_help_code_blocks_are_valid_python():
    blocks = [
        code
        for row in datanets_by_slug()["python-help"].rows
        for message in row.content["messages"]
        for code in re.findall(r"```python\n(.*?)\n```", message["content"], re.DOTALL)
    ]

    assert len(blocks) >= 600  # 635 today
    for code in blocks:
        compile(code, "<row>", "exec")


@pytest.mark.parametrize(("servings", "flour"), [(2, "125 g plain flour"), (8, "500 g plain flour")])
def test_recipes_scale_ingredients_to_the_requested_servings(servings, flour):
    pancakes = next(r for r in RECIPES if r.dish == "buttermilk pancakes")

    text = render_recipe(pancakes, servings)

    assert f"(serves {servings})" in text
    assert f"- {flour}" in text


def test_scaled_counts_stay_whole_unless_they_can_be_halved():
    pancakes = next(r for r in RECIPES if r.dish == "buttermilk pancakes")
    eggs = next(i for i in pancakes.ingredients if i.name.startswith("egg"))
    curry = next(r for r in RECIPES if r.dish == "chickpea and spinach curry")
    onion = next(i for i in curry.ingredients if i.name.startswith("onion"))

    assert format_ingredient(eggs, Fraction(3, 4)) == "2 eggs"  # 1.5 eggs rounds to a whole egg
    assert format_ingredient(onion, Fraction(3, 2)) == "1½ onions, finely chopped"


def test_regulation_scenarios_apply_the_acts_numbers_consistently():
    completions = [row.content["completion"] for row in datanets_by_slug()["harbor-regulation-faq"].rows]
    breach_answers = [c for c in completions if "Solmare Data Commission within 72 hours" in c]
    fine_answers = [c for c in completions if "tier of section 58" in c]

    assert breach_answers
    assert fine_answers
    for answer in fine_answers:
        if "upper tier" in answer:
            assert "4% of annual worldwide turnover or 20 million marks" in answer
        else:
            assert "2% of annual worldwide turnover or 10 million marks" in answer
    assert not any("4% of annual worldwide turnover or 10 million" in c for c in completions)


MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def test_field_notes_only_record_migrants_in_their_season():
    out_of_season = {
        "swallow": {"November", "December", "January", "February"},
        "redwing": {"May", "June", "July", "August"},
        "frogspawn": set(MONTHS) - {"February", "March"},
        "bluebells": set(MONTHS) - {"April", "May"},
    }
    month_name = re.compile(r"\b(" + "|".join(MONTHS) + r")\b")
    # the seed's 480 entries plus enough freshly composed ones that every migrant is recorded many times
    seed = [row.content["text"] for row in datanets_by_slug()["field-notes"].rows]
    generated = [row["text"] for row in field_note_rows(2000, random.Random("migrants"))]
    recorded = Counter()
    for text in seed + generated:
        month = month_name.search(text)[1]  # every entry is dated; the date comes first
        for word, months in out_of_season.items():
            if re.search(rf"\b{word}s?\b", text, re.IGNORECASE):
                recorded[word] += 1
                assert month not in months, text

    assert all(recorded[word] >= 5 for word in out_of_season), recorded
