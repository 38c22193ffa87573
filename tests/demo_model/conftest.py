"""Shared fixtures: a small synthetic corpus and one tiny model built once per test session.

The corpus is generated (not downloaded) from a toy grammar and toy arithmetic chats: regular
enough that a 35k-parameter model learns it in ~150 steps, so a real perplexity drop and
chat-format learning can be asserted in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelfactory.demo_model.build_report import BuildReport
from modelfactory.demo_model.builder import build_demo_model
from tests.support.tiny_corpus import synthetic_conversations, synthetic_texts


@pytest.fixture(scope="session")
def corpus() -> tuple[list[str], list[list[dict[str, str]]]]:
    return synthetic_texts(), synthetic_conversations()


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory, corpus) -> tuple[Path, BuildReport]:
    """One tiny build shared by the read-only tests (building takes ~2 s)."""
    texts, conversations = corpus
    output_dir = tmp_path_factory.mktemp("shared") / "tiny-model"
    report = build_demo_model(texts, conversations, output_dir, size="tiny", progress=False)
    return output_dir, report
