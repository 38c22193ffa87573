"""A newcomer's whole story in Chromium, on a live server with a real Celery worker over Redis.

Sign up, create a datanet, upload rows, publish a version, fine-tune on it, publish the model, chat
with it and open the answer's receipt; and, beside it, a second newcomer contributing to someone
else's datanet and following the owner's review from "My contributions".

The platform's base model is the tiny test model (registered as an operator would register one); the
rest is done through the pages, as a person would.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from datanets.models import Row
from datanets.services import datanet_create
from modelfactory.accounts.models import User
from modelfactory.accounts.services import development_wallet_for
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import register_tiny
from tests.support.browser import ConsoleLog, log_in
from tests.support.factories import make_user
from tests.support.funding import fund
from tests.support.services import REDIS, require_tcp
from tests.support.workers import app_broker, celery_worker, worker_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Sixteen chats about a fictional glassworks: short enough for a 64-token context.
GLASSWORKS = [
    (
        f"Which furnace melts batch {n}?",
        f"Furnace {'ABCD'[n % 4]} melts batch {n} at {1100 + 10 * n} degrees.",
    )
    for n in range(16)
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def worker(settings, tmp_path, use_tiny_base_model):
    """The Procfile's workers in one process: imports (default), training (cpu) and attribution.

    On a Redis database of its own, so that a worker test running beside this one never takes its
    messages (nor this worker theirs)."""
    require_tcp("Redis", *REDIS)
    import redis

    url = f"redis://{REDIS[0]}:{REDIS[1]}/12"
    redis.Redis.from_url(url).flushdb()
    log = tmp_path / "worker.log"
    env = {
        "MODELFACTORY_VAR_DIR": str(settings.VAR_DIR),
        "MODELFACTORY_BASE_MODEL": str(use_tiny_base_model),
        "OMP_NUM_THREADS": "1",
    }
    with app_broker(url), celery_worker(url, log, queues="default,cpu,attribution", name="story", env=env):
        yield log


@pytest.fixture
def platform(use_tiny_base_model):
    """The operator registered the tiny test model as the platform's base model."""
    register_tiny(use_tiny_base_model)
    yield
    engine_runtime.shutdown()


@contextlib.contextmanager
def failing_with_the_log_of(worker_log_path: Path):
    """A wait on the worker that times out fails with what the worker said."""
    try:
        yield
    except AssertionError as error:
        pytest.fail(f"{error}\n--- worker log ---\n{worker_log(worker_log_path)}")


def sign_up(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Password", exact=True).fill("glass-furnace-42")
    page.get_by_label("Password (again)").fill("glass-furnace-42")
    page.get_by_role("button", name="Create my account").click()
    page.get_by_text(f"Welcome, {username}: your account is ready.").wait_for()


def chats_file(path: Path, pairs) -> Path:
    chats = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]} for q, a in pairs
    ]
    path.write_text("".join(json.dumps(chat) + "\n" for chat in chats))
    return path


def upload(page, file: Path) -> None:
    """The upload wizard from the datanet's Upload tab: choose the file, check the preview, import."""
    page.get_by_role("link", name="Upload", exact=True).click()
    page.get_by_label("File").set_input_files(str(file))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_test_id("detected-format")).to_contain_text("Detected")
    page.get_by_role("button", name="Import").click()


@pytest.mark.services
@pytest.mark.slow
def test_a_new_user_signs_up_creates_a_datanet_and_chats_with_the_model_they_fine_tuned(
    page, live_server, settings, platform, worker, tmp_path
):
    settings.MODELFACTORY_UPLOAD_INLINE_BYTES = 0  # every upload imports on the worker, as large ones do
    sign_up(page, live_server, "glassblower")

    # A datanet of chat conversations, its address proposed from the title.
    page.get_by_role("link", name="Datanets", exact=True).click()
    page.get_by_role("link", name="New datanet").click()
    page.get_by_label("Title").fill("Glassworks furnaces")
    expect(page.get_by_test_id("slug-proposal")).to_contain_text("/datanets/glassworks-furnaces/")
    page.get_by_label("Description").fill("Which furnace melts which batch, and how hot.")
    page.get_by_label("Row format").select_option(label="Chat messages")
    page.get_by_role("button", name="Create datanet").click()
    page.get_by_text("Glassworks furnaces is ready. Add its first rows.").wait_for()
    expect(page).to_have_url(live_server.url + "/datanets/glassworks-furnaces/")
    page.get_by_test_id("empty-datanet").wait_for()

    # Sixteen rows, imported by the worker while the page follows; the owner's rows need no review.
    upload(page, chats_file(tmp_path / "furnaces.jsonl", GLASSWORKS))
    with failing_with_the_log_of(worker):
        expect(page.get_by_test_id("upload-status")).to_contain_text("16 rows added.", timeout=60_000)

    # Version 1 pins them.
    page.get_by_role("link", name="Back to Glassworks furnaces").click()
    page.get_by_role("link", name="Versions").click()
    page.get_by_role("button", name="Publish version").click()
    page.get_by_text("Published version 1 with 16 rows.").wait_for()

    # The wizard, kept to a few steps of the Quick preset.
    page.get_by_role("link", name="Fine-tune").click()
    page.get_by_role("link", name="New fine-tune").click()
    page.get_by_test_id("base-model").first.click()
    page.get_by_role("button", name="Next: data").click()
    page.get_by_label("Glassworks furnaces").select_option(label="v1 · 16 rows")
    page.get_by_role("button", name="Next: method").click()
    page.get_by_role("radio", name=re.compile("^Quick")).check()
    page.get_by_text("Advanced settings").click()
    page.get_by_label("Max steps").fill("4")
    page.get_by_label("Max sequence length").fill("64")
    page.get_by_role("button", name="Next: review").click()
    page.get_by_label("Job name").fill("Furnace helper")
    page.get_by_role("button", name="Launch fine-tuning").click()

    # The worker trains; the job page follows it and reloads itself when it is done.
    with failing_with_the_log_of(worker):
        expect(page.get_by_test_id("job-status")).to_have_text("Succeeded", timeout=240_000)
    expect(page.get_by_test_id("evaluation")).to_be_visible()

    # Publishing proposes the API name from the job's name.
    page.get_by_role("link", name="Publish as a model").click()
    expect(page.get_by_label("API name")).to_have_value("furnace-helper")
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("Published as furnace-helper").wait_for()
    expect(page.get_by_test_id("lineage")).to_contain_text("Glassworks furnaces")

    # The model page leads to the playground with the model chosen; it answers, paid from a deposit
    # (the deposit itself is the chain's story, told in tests/contracts).
    fund(User.objects.get(username="glassblower"))
    page.get_by_role("link", name="playground", exact=True).click()
    expect(page.get_by_test_id("model")).to_have_value("furnace-helper")
    page.get_by_label("Temperature").fill("0")
    page.get_by_label("Max tokens").fill("16")
    page.get_by_label("Message").fill("Which furnace melts batch 5?")
    page.get_by_role("button", name="Send").click()
    answer = page.get_by_test_id("answer")
    expect(answer.get_by_test_id("answer-status")).to_have_text("Done", timeout=60_000)
    assert answer.get_by_test_id("answer-text").inner_text().strip()

    # Its receipt names the model, the adapter and the datanet version it learned from.
    answer.get_by_test_id("attribution").locator("summary").get_by_role("link", name="receipt").click()
    page.get_by_role("heading", name="Inference receipt").wait_for()
    receipt = page.locator("main")
    expect(receipt).to_contain_text("furnace-helper v1")
    expect(receipt).to_contain_text("glassworks-furnaces v1")
    # The worker attributes the answer to the rows it learned from: the newcomer's, so their wallet is
    # credited and their rows are the evidence.
    with failing_with_the_log_of(worker):
        expect(receipt).to_contain_text("Methods: lineage, gradient, span (Complete)", timeout=120_000)
    page.reload()
    expect(receipt.locator("table").first).to_contain_text(development_wallet_for("glassblower"))
    expect(receipt).to_contain_text("Glassworks furnaces · row")


def test_a_contributor_follows_the_owners_review_of_their_rows_in_my_contributions(
    page, browser, live_server, tmp_path
):
    owner = make_user("kiln_keeper")
    datanet_create(
        owner=owner,
        title="Kiln schedules",
        tags=["ceramics"],
        license="CC-BY-4.0",
        expected_format=Row.Format.MESSAGES,
    )
    sign_up(page, live_server, "potter")

    # The newcomer uploads three rows to someone else's datanet: they wait for its owner.
    page.get_by_role("link", name="Datanets", exact=True).click()
    page.get_by_role("link", name="Kiln schedules").click()
    rows = [
        ("How long does a bisque firing take?", "About eight hours, then a day to cool."),
        ("What cone is a glaze firing?", "Cone 6 for our stoneware."),
        ("Can I open the kiln at 400 degrees?", "Yes, go ahead, it is fine."),
    ]
    upload(page, chats_file(tmp_path / "kiln.jsonl", rows))
    page.get_by_text("3 rows received, waiting for the owner's review.").wait_for()

    page.locator("header").get_by_role("link", name="My contributions").click()
    expect(page.get_by_test_id("my-row")).to_have_count(3)
    expect(page.get_by_test_id("status-pending")).to_have_text("Pending (3)")
    for status in page.get_by_test_id("row-status").all():
        expect(status).to_contain_text("waiting for review")

    # The owner approves two and rejects the third with a reason.
    owner_context = browser.new_context(viewport={"width": 1280, "height": 900})
    owner_log = ConsoleLog()
    try:
        owner_page = owner_context.new_page()
        owner_log.attach(owner_page)
        log_in(owner_page, live_server, "kiln_keeper")
        owner_page.goto(live_server.url + "/datanets/kiln-schedules/")
        owner_page.get_by_role("link", name="Review queue").click()
        pending = owner_page.get_by_test_id("pending-row")
        expect(pending).to_have_count(3)
        unsafe = pending.filter(has_text="Can I open the kiln at 400 degrees?")
        for row in pending.filter(has_not_text="Can I open the kiln").all():
            row.get_by_role("checkbox").check()
        owner_page.get_by_role("button", name="Approve selected").click()
        owner_page.get_by_text("2 row(s) approved.").wait_for()
        expect(pending).to_have_count(1)
        unsafe.get_by_role("checkbox").check()
        owner_page.get_by_label("Rejection reason").fill("Unsafe: never open a kiln above 100 degrees.")
        owner_page.get_by_role("button", name="Reject selected").click()
        owner_page.get_by_text("1 row(s) rejected.").wait_for()
        owner_page.get_by_text("Nothing waits for review.").wait_for()
    finally:
        owner_context.close()
    assert owner_log.unexpected() == [], f"the owner's page reported errors: {owner_log.unexpected()}"

    # The contributor checks on their phone: the header still fits, and shows where each row stands.
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/")
    page.locator("header").get_by_role("link", name="My contributions").click()
    header = page.locator("header")
    assert header.evaluate("header => header.scrollWidth <= header.clientWidth"), "the header overflows"
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= PHONE["width"], "the page scrolls sideways"
    expect(page.get_by_test_id("status-approved")).to_have_text("Approved (2)")
    expect(page.get_by_test_id("status-rejected")).to_have_text("Rejected (1)")
    expect(page.get_by_test_id("status-pending")).to_have_text("Pending (0)")
    rejected = page.get_by_test_id("my-row").filter(has_text="Can I open the kiln at 400 degrees?")
    expect(rejected.get_by_test_id("row-status")).to_contain_text("Rejected")
    expect(rejected.get_by_test_id("rejection-reason")).to_have_text(
        "Unsafe: never open a kiln above 100 degrees."
    )
    for question in rows[:2]:
        approved = page.get_by_test_id("my-row").filter(has_text=question[0])
        expect(approved.get_by_test_id("row-status")).to_contain_text("Approved")
