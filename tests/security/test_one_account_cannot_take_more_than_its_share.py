"""Per-person limits: more keys, more tabs or more jobs must not buy one account more of what all share.

Each refusal is a clear error that says when (or how) to try again; nothing refused is half done.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import openai
import pytest
from django.utils import timezone

from modelfactory.accounts.errors import LimitReached, Throttled
from modelfactory.accounts.models import AnswerInFlight, ThrottleEvent
from modelfactory.accounts.throttle_services import answer_slot_release, answer_slot_take
from modelfactory.api.models import ApiKey
from modelfactory.api.services import api_key_create, api_key_revoke
from modelfactory.catalog.models import PublishedModel
from modelfactory.finetuning.errors import JobRefused
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_cancel, job_create
from modelfactory.finetuning.training.spec import preset
from modelfactory.playground.models import Message
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import register_tiny, sums_datanet
from tests.support.factories import make_user
from tests.support.funding import fund

HELLO = [{"role": "user", "content": "What is 2 plus 3?"}]


@pytest.fixture(scope="module", autouse=True)
def _engine_stopped_after_the_module():
    yield
    engine_runtime.shutdown()


@pytest.fixture
def tiny_base(use_tiny_base_model) -> str:
    register_tiny(use_tiny_base_model)
    return "tiny-base"


@pytest.fixture
def caller():
    user = make_user("caller")
    fund(user)
    return user


@pytest.fixture
def openai_client(live_server, caller, tiny_base):
    client = openai.OpenAI(
        base_url=live_server.url + "/v1", api_key=api_key_create(user=caller, name="tests")[1], max_retries=0
    )
    yield client
    client.close()


def get_models(live_server, key: str) -> httpx.Response:
    return httpx.get(
        f"{live_server.url}/v1/models", headers={"Authorization": f"Bearer {key}", "Connection": "close"}
    )


# --- requests per account -------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_many_api_keys_do_not_add_up_past_the_accounts_request_limit(live_server, settings, caller):
    settings.MODELFACTORY_USER_REQUESTS_PER_MINUTE = 3
    keys = [api_key_create(user=caller, name=f"key {n}")[1] for n in range(3)]

    statuses = [get_models(live_server, key).status_code for key in keys]
    refused = get_models(live_server, keys[0])

    assert statuses == [200, 200, 200]  # each key is far below its own 120 a minute
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "all your API keys and the playground together" in refused.json()["error"]["message"]
    assert ApiKey.objects.get(user=caller, name="key 0").requests == 0  # a refused call is not counted


@pytest.mark.django_db(transaction=True)
def test_the_playground_and_the_api_share_one_account_limit(live_server, client, settings, caller, tiny_base):
    settings.MODELFACTORY_USER_REQUESTS_PER_MINUTE = 2
    key = api_key_create(user=caller, name="notebook")[1]
    client.force_login(caller)
    form = {"model": tiny_base, "temperature": "0", "top_p": "1", "max_tokens": "4"}

    assert get_models(live_server, key).status_code == 200
    assert client.post("/playground/send/", {**form, "message": "one"}).status_code == 201
    refused = client.post("/playground/send/", {**form, "message": "two"})

    assert refused.status_code == 429
    assert "requests per minute" in refused.json()["error"]
    assert int(refused["Retry-After"]) > 0
    assert Message.objects.filter(content="two").count() == 0  # the refused prompt left nothing behind
    assert get_models(live_server, key).status_code == 429


@pytest.mark.django_db
def test_a_throttle_frees_on_schedule_and_forgets_what_left_its_window(settings):
    from modelfactory.accounts.throttle_services import user_request_admit

    settings.MODELFACTORY_USER_REQUESTS_PER_MINUTE = 2
    ada = make_user("ada")
    user_request_admit(user=ada, count=2)
    with pytest.raises(Throttled) as refused:
        user_request_admit(user=ada)
    assert 1 <= refused.value.retry_after_s <= 61

    ThrottleEvent.objects.filter(scope="user-request").update(at=timezone.now() - timedelta(seconds=61))
    user_request_admit(user=ada)  # the window moved on: admitted

    assert ThrottleEvent.objects.filter(scope="user-request").count() == 1  # expired rows were pruned


# --- keys --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_account_holds_a_bounded_number_of_active_keys_and_revoking_one_makes_room(client, settings):
    settings.MODELFACTORY_API_KEYS_PER_USER = 2
    ada = make_user("ada")
    client.force_login(ada)
    for name in ("one", "two"):
        assert client.post("/account/api-keys/new", {"name": name}).status_code == 200

    refused = client.post("/account/api-keys/new", {"name": "three"})
    api_key_revoke(key=ApiKey.objects.get(user=ada, name="one"), user=ada)
    again = client.post("/account/api-keys/new", {"name": "three"})

    assert refused.status_code == 409
    assert "revoke one you no longer use" in refused.content.decode()
    assert again.status_code == 200
    assert list(ApiKey.objects.filter(user=ada, revoked__isnull=True).values_list("name", flat=True)) == [
        "three",
        "two",
    ]
    with pytest.raises(LimitReached):
        api_key_create(user=ada, name="four")


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_accounts_keys_stop_working_at_once(live_server, caller):
    key = api_key_create(user=caller, name="tests")[1]
    assert get_models(live_server, key).status_code == 200
    caller.is_active = False
    caller.save()

    refused = get_models(live_server, key)

    assert refused.status_code == 401
    assert "deactivated" in refused.json()["error"]["message"]


# --- answers in flight --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_account_has_a_bounded_number_of_answers_in_flight_and_a_crashed_ones_slot_expires(settings):
    settings.MODELFACTORY_USER_CONCURRENT_ANSWERS = 2
    ada, bob = make_user("ada"), make_user("bob")
    first, second = answer_slot_take(user=ada), answer_slot_take(user=ada)

    with pytest.raises(Throttled, match="2 answers being generated"):
        answer_slot_take(user=ada)
    answer_slot_take(user=bob)  # someone else's answers are not ada's
    answer_slot_release(first)
    answer_slot_release(first)  # twice is harmless
    third = answer_slot_take(user=ada)
    AnswerInFlight.objects.filter(pk=second).update(expires=timezone.now())  # its process died long ago
    answer_slot_take(user=ada)

    assert set(AnswerInFlight.objects.filter(user=ada).values_list("pk", flat=True)) >= {third}
    assert not AnswerInFlight.objects.filter(pk=second).exists()


@pytest.mark.django_db(transaction=True)
def test_an_api_answer_past_the_accounts_concurrent_answers_is_429_and_each_answer_gives_its_slot_back(
    openai_client, settings, caller
):
    settings.MODELFACTORY_USER_CONCURRENT_ANSWERS = 1
    held = answer_slot_take(user=caller)  # an answer of the same account still generating elsewhere

    with pytest.raises(openai.RateLimitError) as refused:
        openai_client.chat.completions.create(model="tiny-base", messages=HELLO, max_tokens=4)
    answer_slot_release(held)
    answered = openai_client.chat.completions.create(model="tiny-base", messages=HELLO, max_tokens=4)
    streamed = list(
        openai_client.chat.completions.create(model="tiny-base", messages=HELLO, max_tokens=4, stream=True)
    )

    assert refused.value.code == "too_many_concurrent_answers"
    assert answered.choices[0].message.content is not None
    assert streamed
    assert not AnswerInFlight.objects.filter(user=caller).exists()  # both answers gave their slot back


@pytest.mark.django_db(transaction=True)
def test_a_playground_answer_past_the_accounts_concurrent_answers_fails_with_the_reason(
    client, settings, tiny_base
):
    settings.MODELFACTORY_USER_CONCURRENT_ANSWERS = 1
    ada = make_user("ada")
    fund(ada)
    client.force_login(ada)
    form = {"model": tiny_base, "temperature": "0", "top_p": "1", "max_tokens": "4"}
    answer_id = client.post("/playground/send/", {**form, "message": "hi"}).json()["answers"][0]["message_id"]
    held = answer_slot_take(user=ada)

    refused = b"".join(client.get(f"/playground/stream/{answer_id}/").streaming_content).decode()
    answer_slot_release(held)
    second = client.post("/playground/send/", {**form, "message": "again"}).json()["answers"][0]["message_id"]
    answered = b"".join(client.get(f"/playground/stream/{second}/").streaming_content).decode()

    assert "event: error" in refused
    assert "answers being generated" in refused
    assert Message.objects.get(pk=answer_id).status == Message.Status.FAILED
    assert "event: done" in answered
    assert not AnswerInFlight.objects.filter(user=ada).exists()


# --- log-ins -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_password_guessing_is_refused_for_a_while_even_with_the_right_password(client, settings):
    settings.MODELFACTORY_LOGIN_FAILURES_PER_15_MIN = 3
    make_user("ada", password="correct horse battery")
    make_user("bob", password="correct horse battery")
    for guess in ("a", "b", "c"):
        assert client.post("/accounts/login/", {"username": "ada", "password": guess}).status_code == 200

    refused = client.post("/accounts/login/", {"username": "Ada", "password": "correct horse battery"})
    other = client.post("/accounts/login/", {"username": "bob", "password": "correct horse battery"})

    assert refused.status_code == 429
    assert 800 < int(refused["Retry-After"]) <= 900
    assert "Too many failed log-ins" in refused.content.decode()
    assert other.status_code == 302  # the address has room (5 × 3): bob is not locked out by ada's guesser


@pytest.mark.django_db
def test_a_guesser_trying_many_usernames_from_one_address_is_refused(client, settings):
    settings.MODELFACTORY_LOGIN_FAILURES_PER_15_MIN = 1
    for n in range(5):
        client.post("/accounts/login/", {"username": f"someone{n}", "password": "guess"})

    refused = client.post("/accounts/login/", {"username": "someone-new", "password": "guess"})

    assert refused.status_code == 429


# --- fine-tuning jobs ------------------------------------------------------------------------------------
def quick_spec(**overrides) -> dict:
    return preset("quick", "tiny-base", context_length=128, **{"max_steps": 2, **overrides}).to_json()


@pytest.mark.django_db
def test_an_account_has_a_bounded_number_of_jobs_queued_or_running(settings, use_tiny_base_model):
    settings.MODELFACTORY_USER_CONCURRENT_JOBS = 1
    ada = make_user("ada")
    base = register_tiny(use_tiny_base_model)
    _, version = sums_datanet(ada)
    first = job_create(owner=ada, name="one", base_model=base, versions=[version], spec=quick_spec())

    with pytest.raises(LimitReached, match="1 jobs queued or running"):
        job_create(owner=ada, name="two", base_model=base, versions=[version], spec=quick_spec())
    job_cancel(job=first, user=ada)
    job_create(owner=ada, name="two", base_model=base, versions=[version], spec=quick_spec())

    assert list(FineTuneJob.objects.filter(owner=ada).values_list("name", "status").order_by("pk")) == [
        ("one", FineTuneJob.Status.CANCELLED),
        ("two", FineTuneJob.Status.QUEUED),
    ]


@pytest.mark.django_db
def test_a_job_spec_that_would_hold_the_trainer_for_days_or_overflow_the_model_is_refused(
    settings, use_tiny_base_model
):
    ada = make_user("ada")
    base = register_tiny(use_tiny_base_model)
    base.context_length = 128
    base.save()
    _, version = sums_datanet(ada)

    with pytest.raises(JobRefused, match="longer than tiny-base's context"):
        job_create(
            owner=ada, name="long", base_model=base, versions=[version], spec=quick_spec(max_seq_length=4096)
        )
    with pytest.raises(JobRefused, match="more than one job may on the CPU"):
        job_create(
            owner=ada, name="big", base_model=base, versions=[version], spec=quick_spec(max_steps=10_000_000)
        )
    settings.MODELFACTORY_JOB_MAX_TOKENS_CPU = 1_000
    with pytest.raises(JobRefused, match=r"lower the steps or epochs"):
        job_create(
            owner=ada, name="epochs", base_model=base, versions=[version], spec=quick_spec(max_steps=None)
        )

    assert not FineTuneJob.objects.filter(owner=ada).exists()


# --- merge previews ------------------------------------------------------------------------------------
@pytest.fixture
def two_adapters(use_tiny_base_model):
    from django.core.management import call_command

    register_tiny(use_tiny_base_model)
    make_user("demo")
    call_command("create_random_adapters", count=2)
    return list(
        PublishedModel.objects.filter(api_name__startswith="random-")
        .order_by("api_name")
        .values_list("api_name", flat=True)
    )


def preview(client, names: list[str], **fields):
    data = {"method": "linear", "density": "1.0", "prompt": "Hi", **{f"weight_{n}": "0.5" for n in names}}
    return client.post("/models/compose/preview/", {**data, **fields})


@pytest.mark.django_db
def test_merge_previews_count_against_the_accounts_request_limit_before_the_engine_runs(
    client, settings, two_adapters
):
    settings.MODELFACTORY_USER_REQUESTS_PER_MINUTE = 2  # a preview of two parts is three answers
    client.force_login(make_user("ada"))

    refused = preview(client, two_adapters)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "requests per minute" in refused.content.decode()
    assert not ThrottleEvent.objects.filter(scope="user-request").exists()  # refused whole, nothing counted


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"density": "lots"}, "density: Enter a number."),
        ({"density": "7"}, "density: Ensure this value is less than or equal to 1.0."),
        ({"method": "magic"}, "method: Select a valid choice."),
        ({"prompt": "x" * 2001}, "Keep the preview prompt under 2000 characters."),
    ],
)
def test_a_merge_preview_with_a_bad_field_is_400_saying_which(client, two_adapters, fields, said):
    client.force_login(make_user("ada"))

    refused = preview(client, two_adapters, **fields)
    on_the_page = client.post(
        "/models/compose/preview/",
        {
            "method": "linear",
            "density": "1.0",
            "prompt": "Hi",
            **{f"weight_{n}": "0.5" for n in two_adapters},
            **fields,
        },
        headers={"HX-Request": "true"},
    )

    assert refused.status_code == 400
    assert said in refused.content.decode()
    assert on_the_page.status_code == 200  # htmx swaps only 2xx: the reason must reach the page
    assert said in on_the_page.content.decode()
