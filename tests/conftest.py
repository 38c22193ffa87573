"""Fixtures shared by the whole suite: a tiny real base model, real services, a real browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM_ARGS, ConsoleLog, chromium_path
from tests.support.services import REDIS, require_tcp, unavailable
from tests.support.tiny_corpus import synthetic_conversations, synthetic_texts


@pytest.fixture(autouse=True)
def _files_in_a_temporary_var_dir(request, tmp_path):
    """Uploads, adapters and checkpoints of a test go to its own directory, never to the real var/."""
    if "settings" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        return
    settings = request.getfixturevalue("settings")
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Llama-architecture causal LM with its own ChatML tokenizer, built in about two seconds.

    It stands in for the default base model (SmolLM2-135M-Instruct) wherever a test needs a model
    but not its knowledge: same architecture family and chat format, a thousandth of the cost.
    """
    from tests.support.tiny_model.builder import build_tiny_model

    output_dir = tmp_path_factory.mktemp("models") / "tiny-base"
    build_tiny_model(synthetic_texts(), synthetic_conversations(), output_dir)
    return output_dir


@pytest.fixture(scope="session")
def default_base_model() -> Path:
    """The real default model, SmolLM2-135M-Instruct, as setup converted it (converted here if it is not).

    For tests whose behaviour depends on a real model's shape (grouped-query attention, tied embeddings,
    30 layers, a 49k vocabulary, a chat template without generation marks); tiny models stay the rule.
    """
    from modelfactory.default_base_model import ModelSetupError, default_model_dir, prepare_default_model

    try:
        prepare_default_model()
    except ModelSetupError as error:
        pytest.fail(f"the default base model is not available: {error}")
    return default_model_dir()


@pytest.fixture
def use_tiny_base_model(settings, tiny_base_model: Path) -> Path:
    settings.MODELFACTORY_BASE_MODEL = str(tiny_base_model)
    return tiny_base_model


@pytest.fixture
def redis_url() -> str:
    """Database 15 of the real Redis, emptied first so no earlier test's messages linger."""
    import redis

    require_tcp("Redis", *REDIS)
    url = f"redis://{REDIS[0]}:{REDIS[1]}/15"
    redis.Redis.from_url(url).flushdb()
    return url


# --- Browser ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        unavailable(
            "Debian's chromium is not installed (make test installs it as root)", flag="MF_REQUIRE_BROWSER"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
    # with a running loop unless told that this (single-threaded test) use is safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh page that fails the test on any console error, uncaught exception or failed request."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log = ConsoleLog()
    log.attach(page)
    page.console_log = log
    yield page
    context.close()
    assert log.unexpected() == [], f"the page reported errors: {log.unexpected()}"
