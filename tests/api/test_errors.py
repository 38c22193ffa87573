"""Every failure reaches the official client as its own exception class, in OpenAI's error shape."""

from __future__ import annotations

import httpx
import openai
import pytest

from modelfactory.api import answers
from modelfactory.api.models import ApiKey
from modelfactory.api.services import api_key_create, api_key_revoke
from tests.api.test_openai_client import HELLO, private_model

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_missing_or_wrong_key_is_refused_with_401(live_server, client_for, tiny_base):
    with pytest.raises(openai.AuthenticationError) as wrong:
        client_for("mf-not-a-key").models.list()
    missing = httpx.get(
        f"{live_server.url}/v1/models", headers={"Connection": "close"}
    )  # the client itself refuses to send no key

    assert wrong.value.status_code == missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert wrong.value.code == "invalid_api_key"
    assert "/account/api-keys/" in wrong.value.message


def test_a_revoked_key_is_refused_with_401(live_server, openai_client, caller):
    assert openai_client.models.list().data
    api_key_revoke(key=ApiKey.objects.get(user=caller), user=caller)

    with pytest.raises(openai.AuthenticationError, match="revoked"):
        openai_client.models.list()


def test_a_private_model_without_a_grant_is_404_in_the_same_words_as_a_missing_one(openai_client):
    private_model("secret-sauce")

    with pytest.raises(openai.NotFoundError) as private:
        openai_client.chat.completions.create(model="secret-sauce", messages=HELLO)
    with pytest.raises(openai.NotFoundError) as missing:
        openai_client.chat.completions.create(model="no-sauce", messages=HELLO)

    assert private.value.code == missing.value.code == "model_not_found"
    assert private.value.param == "model"
    assert private.value.message.replace("secret", "no") == missing.value.message


def test_an_unknown_model_is_404_naming_the_model(openai_client):
    with pytest.raises(openai.NotFoundError) as missing:
        openai_client.completions.create(model="no-such-model", prompt="Hi")

    assert missing.value.code == "model_not_found"
    assert missing.value.body["param"] == "model"


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"temperature": 5}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"top_p": 1.5}, "top_p"),
        ({"n": 99}, "n"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "word " * 300}]}, "messages"),
    ],
)
def test_invalid_parameters_are_400_naming_the_parameter(openai_client, arguments, param):
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(**{"model": "tiny-base", "messages": HELLO, **arguments})

    assert refused.value.param == param
    assert refused.value.type == "invalid_request_error"


def test_a_key_over_its_per_minute_limit_gets_429_with_retry_after(client_for, tiny_base, caller):
    _, secret = api_key_create(user=caller, name="slow", rate_limit_per_minute=2)
    client = client_for(secret)
    client.models.list()
    client.models.list()

    with pytest.raises(openai.RateLimitError) as limited:
        client.models.list()

    assert limited.value.code == "rate_limit_exceeded"
    assert 1 <= int(limited.value.response.headers["Retry-After"]) <= 60


def test_an_overloaded_engine_answers_503(openai_client, monkeypatch):
    monkeypatch.setattr(answers, "MAX_QUEUE_DEPTH", -1)

    with pytest.raises(openai.InternalServerError) as unavailable:
        openai_client.chat.completions.create(model="tiny-base", messages=HELLO)

    assert unavailable.value.status_code == 503
    assert unavailable.value.code == "engine_overloaded"


def test_an_unknown_path_or_wrong_method_answers_in_the_openai_error_shape(live_server, secret):
    headers = {"Authorization": f"Bearer {secret}", "Connection": "close"}

    unknown = httpx.post(f"{live_server.url}/v1/embeddings", headers=headers, json={})
    wrong_method = httpx.get(f"{live_server.url}/v1/chat/completions", headers=headers)
    bad_json = httpx.post(f"{live_server.url}/v1/completions", headers=headers, content=b"{not json")

    assert unknown.status_code == 404
    assert set(unknown.json()["error"]) == {"message", "type", "param", "code"}
    assert wrong_method.status_code == 405
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["code"] == "invalid_json"
