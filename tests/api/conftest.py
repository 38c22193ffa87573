"""An API world: the tiny base model published as `tiny-base`, a user with a key, an OpenAI client."""

from __future__ import annotations

import pytest
from openai import OpenAI

from modelfactory.api.services import api_key_create
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import register_tiny
from tests.support.factories import make_user
from tests.support.funding import fund


@pytest.fixture(scope="module", autouse=True)
def _engine_stopped_after_the_module():
    yield
    engine_runtime.shutdown()


@pytest.fixture
def tiny_base(use_tiny_base_model):
    register_tiny(use_tiny_base_model)
    return "tiny-base"


@pytest.fixture
def caller():
    """The key's owner, with prepaid OPEN: every answer is paid for (tests of refusals make their own)."""
    user = make_user("caller")
    fund(user)
    return user


@pytest.fixture
def secret(caller) -> str:
    return api_key_create(user=caller, name="tests")[1]


@pytest.fixture
def client_for(live_server):
    """OpenAI clients without retries (a test must see the first 429 or 503, not the third attempt).

    Closed at teardown: a kept-alive connection keeps a server thread, and its database session, alive.
    """
    clients: list[OpenAI] = []

    def make(secret: str) -> OpenAI:
        clients.append(OpenAI(base_url=live_server.url + "/v1", api_key=secret, max_retries=0, timeout=60))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def openai_client(client_for, secret, tiny_base) -> OpenAI:
    return client_for(secret)
