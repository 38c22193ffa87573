"""The seed's prose files: how they are read, and that an installed package would carry them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from datanets.seed.content_files import as_tuples, read_content
from datanets.seed.python_help import EXPLANATIONS
from datanets.seed.support_desk import ALL_MODELS, ISSUES, WARRANTY

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTENT = REPO_ROOT / "datanets" / "seed" / "content"


def test_content_arrays_come_back_as_tuples_at_every_depth():
    cooking = read_content("cooking")

    recipe = cooking["recipes"][0]

    assert isinstance(cooking["recipes"], tuple)
    assert isinstance(recipe["ingredients"], tuple)
    assert isinstance(recipe["ingredients"][0], dict)
    assert isinstance(recipe["follow_ups"][0], dict)


def test_as_tuples_picks_the_named_fields_in_the_order_asked():
    entries = ({"question": "q1", "answer": "a1", "extra": 1}, {"answer": "a2", "question": "q2"})

    assert as_tuples(entries, "question", "answer") == (("q1", "a1"), ("q2", "a2"))


def test_every_content_file_is_declared_as_package_data():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["datanets.seed"]
    shipped = {path for pattern in globs for path in (REPO_ROOT / "datanets" / "seed").glob(pattern)}

    files = {path for path in CONTENT.rglob("*") if path.is_file()}

    assert files
    assert files <= shipped


def test_support_issues_only_name_lumen_models_with_a_warranty():
    assert set(WARRANTY) == set(ALL_MODELS)
    for issue in ISSUES:
        assert issue.models, issue.asks[0]
        assert set(issue.models) <= set(ALL_MODELS), issue.models
        assert issue.kind in {"problem", "question"}, issue.kind


def test_every_explanation_shows_one_python_block_that_compiles():
    assert EXPLANATIONS
    for asks, answer in EXPLANATIONS:
        blocks = re.findall(r"```python\n(.*?)\n```", answer, re.DOTALL)
        assert len(blocks) == 1, asks
        compile(blocks[0], "<explanation>", "exec")
