"""The API is OpenAI's, strictly: every parameter honoured or refused by name, answers in OpenAI's types.

Responses are validated against the official client's own types (`openai.types`), and the values that
can be checked against the model itself (logprobs) are: the tiny base model, run by transformers.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest
import torch
from openai.types import Completion as OpenAICompletion
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from transformers import AutoModelForCausalLM, AutoTokenizer

from modelfactory.ledger.models import InferenceReceipt

HELLO = [{"role": "user", "content": "Hello"}]
pytestmark = pytest.mark.django_db(transaction=True)


def post(live_server, secret: str, path: str, body: dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}", "Connection": "close"}
    return httpx.post(f"{live_server.url}/v1/{path}", headers=headers, json=body, timeout=60)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"store": True}, "store"),
        ({"reasoning_effort": "high"}, "reasoning_effort"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"frobnicate": 1}, "frobnicate"),
    ],
)
def test_a_chat_parameter_this_server_cannot_honour_is_refused_by_name(
    live_server, secret, tiny_base, extra, param
):
    refused = post(live_server, secret, "chat/completions", {"model": tiny_base, "messages": HELLO, **extra})

    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == param
    assert refused.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"suffix": "the end"}, "suffix"), ({"best_of": 3}, "best_of"), ({"logprobs": 9}, "logprobs")],
)
def test_a_completion_parameter_this_server_cannot_honour_is_refused_by_name(
    live_server, secret, tiny_base, extra, param
):
    refused = post(live_server, secret, "completions", {"model": tiny_base, "prompt": "Once", **extra})

    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == param


def test_neutral_values_of_unsupported_features_are_accepted(openai_client):
    completion = openai_client.chat.completions.create(
        model="tiny-base",
        messages=HELLO,
        max_tokens=3,
        tool_choice="none",
        response_format={"type": "text"},
        store=False,
        user="end-user-42",
        service_tier="auto",
    )

    assert ChatCompletion.model_validate(completion.model_dump())


def test_without_max_tokens_an_answer_may_fill_the_context_as_openai_does(openai_client, use_tiny_base_model):
    completion = openai_client.completions.create(
        model="tiny-base", prompt="Once upon a time", extra_body={"ignore_eos": True}
    )
    context = AutoModelForCausalLM.from_pretrained(use_tiny_base_model).config.max_position_embeddings

    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.prompt_tokens + completion.usage.completion_tokens == context


def test_max_tokens_beyond_what_the_context_leaves_is_refused_naming_it(openai_client):
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(model="tiny-base", messages=HELLO, max_tokens=100_000)

    assert refused.value.param == "max_tokens"
    assert refused.value.code == "context_length_exceeded"


def test_several_prompts_and_token_id_prompts_answer_as_each_prompt_would_alone(
    openai_client, use_tiny_base_model
):
    tokenizer = AutoTokenizer.from_pretrained(use_tiny_base_model)
    first, second = "Once upon a time", "The lamp"
    alone = [
        openai_client.completions.create(model="tiny-base", prompt=p, max_tokens=5, temperature=0)
        for p in (first, second)
    ]
    together = openai_client.completions.create(
        model="tiny-base", prompt=[first, second], max_tokens=5, temperature=0, n=2
    )
    as_ids = openai_client.completions.create(
        model="tiny-base", prompt=tokenizer(first)["input_ids"], max_tokens=5, temperature=0
    )
    as_id_lists = openai_client.completions.create(
        model="tiny-base",
        prompt=[tokenizer(first)["input_ids"], tokenizer(second)["input_ids"]],
        max_tokens=5,
        temperature=0,
    )

    texts = [answer.choices[0].text for answer in alone]
    assert [choice.index for choice in together.choices] == [0, 1, 2, 3]
    assert [choice.text for choice in together.choices] == [texts[0], texts[0], texts[1], texts[1]]
    assert as_ids.choices[0].text == texts[0]
    assert [choice.text for choice in as_id_lists.choices] == texts
    assert together.usage.prompt_tokens == sum(answer.usage.prompt_tokens for answer in alone)


def test_every_answer_carries_a_request_id_kept_on_its_receipt_and_the_keys_rate_window(
    live_server, secret, tiny_base
):
    first = post(live_server, secret, "completions", {"model": tiny_base, "prompt": "Once", "max_tokens": 2})
    second = post(live_server, secret, "completions", {"model": tiny_base, "prompt": "Once", "max_tokens": 2})
    refused = post(live_server, secret, "completions", {"model": tiny_base, "prompt": "Once", "tools": []})

    receipt = InferenceReceipt.objects.get(receipt_id=first.json()["attribution_receipt"])
    assert first.headers["x-request-id"].startswith("req_")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert receipt.request_id == first.headers["x-request-id"]
    assert refused.headers["x-request-id"].startswith("req_")
    limit = int(first.headers["x-ratelimit-limit-requests"])
    assert int(first.headers["x-ratelimit-remaining-requests"]) == limit - 1
    assert int(second.headers["x-ratelimit-remaining-requests"]) == limit - 2
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")


def _model_logprobs(path, token_ids: list[int]) -> torch.Tensor:
    """log_softmax of the plain transformers model over a whole sequence: [positions, vocab]."""
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([token_ids])).logits[0]
    return torch.log_softmax(logits.float(), dim=-1)


def _greedy(path, prompt_ids: list[int], steps: int) -> tuple[list[int], list[torch.Tensor]]:
    """The plain transformers model's greedy tokens and the log_softmax row each was chosen from."""
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    ids, rows = list(prompt_ids), []
    with torch.no_grad():
        for _ in range(steps):
            row = torch.log_softmax(model(torch.tensor([ids])).logits[0, -1].float(), dim=-1)
            rows.append(row)
            ids.append(int(row.argmax()))
    return ids[len(prompt_ids) :], rows


def test_chat_logprobs_are_the_models_own_with_the_most_likely_alternatives(
    openai_client, use_tiny_base_model
):
    completion = openai_client.chat.completions.create(
        model="tiny-base",
        messages=HELLO,
        max_tokens=6,
        temperature=0,
        logprobs=True,
        top_logprobs=3,
        extra_body={"ignore_eos": True},
    )
    tokenizer = AutoTokenizer.from_pretrained(use_tiny_base_model)
    prompt = tokenizer.apply_chat_template(HELLO, add_generation_prompt=True, tokenize=False)
    token_ids, rows = _greedy(use_tiny_base_model, tokenizer(prompt)["input_ids"], 6)
    entries = completion.choices[0].logprobs.content

    assert ChatCompletion.model_validate(completion.model_dump())
    assert [entry.token for entry in entries] == [tokenizer.decode([token]) for token in token_ids]
    for entry, token, row in zip(entries, token_ids, rows, strict=True):
        assert entry.logprob == pytest.approx(row[token].item(), abs=1e-4)
        best = torch.topk(row, 3)
        assert [alt.logprob for alt in entry.top_logprobs] == pytest.approx(best.values.tolist(), abs=1e-4)
        assert [alt.token for alt in entry.top_logprobs] == [
            tokenizer.decode([t]) for t in best.indices.tolist()
        ]
        assert entry.bytes == list(entry.token.encode())


def test_echo_with_logprobs_scores_the_prompt_as_evaluation_harnesses_need(
    openai_client, use_tiny_base_model
):
    prompt = "Once upon a time there was"
    completion = openai_client.completions.create(
        model="tiny-base", prompt=prompt, max_tokens=1, temperature=0, echo=True, logprobs=2
    )
    tokenizer = AutoTokenizer.from_pretrained(use_tiny_base_model)
    prompt_ids = tokenizer(prompt)["input_ids"]
    logprobs = completion.choices[0].logprobs
    expected = _model_logprobs(use_tiny_base_model, prompt_ids)

    # Not validated against openai.types: its `token_logprobs: List[float]` has no room for the None that
    # OpenAI itself sends for the first echoed token (nothing comes before it); the rest is checked below.
    assert completion.choices[0].text.startswith(prompt)
    assert len(logprobs.tokens) == len(prompt_ids) + 1
    assert logprobs.token_logprobs[0] is None
    assert logprobs.top_logprobs[0] is None
    for position in range(1, len(prompt_ids)):
        scored = expected[position - 1][prompt_ids[position]].item()
        assert logprobs.token_logprobs[position] == pytest.approx(scored, abs=1e-4)
    assert logprobs.text_offset[0] == 0
    assert logprobs.text_offset == sorted(logprobs.text_offset)


def test_completion_logprobs_are_openai_completions(openai_client):
    completion = openai_client.completions.create(
        model="tiny-base", prompt="Once", max_tokens=3, temperature=0, logprobs=2
    )

    assert OpenAICompletion.model_validate(completion.model_dump())
    assert len(completion.choices[0].logprobs.tokens) == completion.usage.completion_tokens
    assert all(len(top) <= 3 for top in completion.choices[0].logprobs.top_logprobs)


def test_logit_bias_forces_and_bans_tokens(openai_client, use_tiny_base_model):
    tokenizer = AutoTokenizer.from_pretrained(use_tiny_base_model)
    plain = openai_client.completions.create(model="tiny-base", prompt="Once", max_tokens=4, temperature=0)
    forced_id = tokenizer("lamp", add_special_tokens=False)["input_ids"][0]
    forced = openai_client.completions.create(
        model="tiny-base", prompt="Once", max_tokens=4, temperature=0, logit_bias={str(forced_id): 100}
    )
    first_plain = tokenizer(plain.choices[0].text, add_special_tokens=False)["input_ids"][0]
    banned = openai_client.completions.create(
        model="tiny-base",
        prompt="Once",
        max_tokens=1,
        temperature=0,
        logprobs=0,
        logit_bias={str(first_plain): -100},
    )

    assert forced.choices[0].text == tokenizer.decode([forced_id] * 4)
    assert banned.choices[0].logprobs.tokens[0] != tokenizer.decode([first_plain])


def test_a_streamed_answer_equals_the_whole_answer_for_stop_strings_that_span_tokens(
    live_server, secret, tiny_base, use_tiny_base_model
):
    tokenizer = AutoTokenizer.from_pretrained(use_tiny_base_model)
    body = {"model": tiny_base, "prompt": "Once upon a time", "max_tokens": 24, "temperature": 0}
    whole = post(live_server, secret, "completions", body).json()["choices"][0]["text"]
    receipt_tokens = tokenizer(whole, add_special_tokens=False)["input_ids"]
    pieces = [tokenizer.decode([token]) for token in receipt_tokens]
    # stop strings that begin inside one token and end in the next, from the answer itself
    spans = [pieces[i][-1:] + pieces[i + 1][:2] for i in range(2, min(len(pieces) - 1, 8)) if pieces[i]]
    spans = [span for span in dict.fromkeys(spans) if len(span) >= 2 and span.strip()]
    assert spans, f"no stop string spanning tokens in {whole!r}"

    for stop in spans[:3]:
        once = post(live_server, secret, "completions", {**body, "stop": stop}).json()["choices"][0]["text"]
        streamed = httpx.post(
            f"{live_server.url}/v1/completions",
            headers={"Authorization": f"Bearer {secret}", "Connection": "close"},
            json={**body, "stop": stop, "stream": True},
            timeout=60,
        )
        chunks = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
        text = "".join(choice["text"] for chunk in chunks for choice in chunk["choices"])
        assert text == once, stop
        assert stop not in text


def test_stream_chunks_are_openai_chunks(openai_client):
    stream = openai_client.chat.completions.create(
        model="tiny-base",
        messages=HELLO,
        max_tokens=4,
        temperature=0,
        stream=True,
        logprobs=True,
        top_logprobs=2,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert all(ChatCompletionChunk.model_validate(chunk.model_dump()) for chunk in chunks)
    with_logprobs = [
        c for c in chunks if c.choices and c.choices[0].logprobs and c.choices[0].logprobs.content
    ]
    assert len(with_logprobs) == chunks[-1].usage.completion_tokens


def test_the_openapi_document_describes_what_the_server_accepts(live_server, client):
    document = httpx.get(f"{live_server.url}/v1/openapi.json", headers={"Connection": "close"}).json()
    chat = document["components"]["schemas"]["ChatCompletionRequest"]
    page = client.get("/docs/api/").content.decode()

    assert document["openapi"].startswith("3.1")
    assert {"/v1/chat/completions", "/v1/completions", "/v1/files", "/v1/fine_tuning/jobs"} <= set(
        document["paths"]
    )
    assert chat["additionalProperties"] is False
    assert {"messages", "model", "logprobs", "top_logprobs", "logit_bias", "tools"} <= set(chat["properties"])
    assert set(chat["required"]) == {"messages", "model"}
    assert "/chat/completions" in page
    assert "top_logprobs" in page
    assert "cdn" not in page.lower()  # served offline, like every page
