"""Fixtures for the tiny-model fixture's own tests: its corpus and one build shared by the read-only tests.

The corpus is generated (not downloaded) from a toy grammar and toy arithmetic chats: regular
enough that a 35k-parameter model learns it in ~150 steps, so a real perplexity drop and
chat-format learning can be asserted in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tiny_corpus import synthetic_conversations, synthetic_texts
from tests.support.tiny_model.build_report import BuildReport
from tests.support.tiny_model.builder import build_tiny_model


@pytest.fixture(scope="session")
def corpus() -> tuple[list[str], list[list[dict[str, str]]]]:
    return synthetic_texts(), synthetic_conversations()


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory, corpus) -> tuple[Path, BuildReport]:
    """One tiny build shared by the read-only tests (building takes ~2 s)."""
    texts, conversations = corpus
    output_dir = tmp_path_factory.mktemp("shared") / "tiny-model"
    report = build_tiny_model(texts, conversations, output_dir)
    return output_dir, report
