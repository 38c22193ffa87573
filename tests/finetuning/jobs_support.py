"""Building blocks for fine-tuning job tests: a trainable datanet, the tiny base model, wizard POSTs."""

from __future__ import annotations

import random

from datanets.models import Row
from datanets.services import rows_add, version_publish
from modelfactory.catalog.services import base_model_register
from tests.support.factories import make_datanet, make_user

# Small enough for a tiny model to run a step in a fraction of a second, big enough to see loss fall.
FAST = {
    "rank": 8,
    "alpha": 16,
    "dropout": 0.0,
    "learning_rate": 0.005,
    "scheduler": "constant",
    "epochs": 1,
    "batch_size": 4,
    "max_seq_length": 64,
    "target_modules": "attention",
    "method": "lora",
}


def sums_datanet(owner=None, *, count: int = 48, others_every: int = 16):
    """Chats answered with the bare sum ("7."), a format the tiny base model never saw; every
    `others_every`-th row is contributed by someone other than the owner, each a new person."""
    owner = owner or make_user()
    datanet = make_datanet(owner=owner, slug=f"sums-{random.randint(0, 10**9)}", title="Sums")
    rng = random.Random(1)
    contributions = []
    for index in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        contributor = make_user() if index % others_every == 0 else owner
        contributions.append(
            (
                contributor,
                {
                    "messages": [
                        {"role": "user", "content": f"What is {a} plus {b}? ({index})"},
                        {"role": "assistant", "content": f"{a + b}."},
                    ]
                },
            )
        )
    rows_add(datanet=datanet, contributions=contributions, status=Row.Status.APPROVED, source="test")
    return datanet, version_publish(datanet=datanet)


def register_tiny(tiny_base_model):
    return base_model_register(name="tiny-base", source=str(tiny_base_model), make_default=True)


def walk_wizard(
    client,
    *,
    base_model,
    version,
    max_steps: int,
    save_every: int,
    name: str = "tiny job",
    gpus: int = 0,
    **overrides,
):
    """POST every step of the wizard as a browser would; returns the launch response.

    ``overrides`` change method fields (``max_seq_length=24``) as the advanced panel would."""
    assert client.post("/finetune/new/base/", {"base_model": base_model.pk}).status_code == 302
    data = {"eval_percent": 15, f"version_{version.datanet_id}": version.pk}
    assert client.post("/finetune/new/data/", data).status_code == 302
    method = {"preset": "quick", "shown_preset": "quick", **FAST, "max_steps": max_steps, **overrides}
    response = client.post("/finetune/new/method/", method)
    assert response.status_code == 302, response.content.decode()[-2000:]
    session = client.session
    session["finetune_wizard"]["overrides"].update(save_every_steps=save_every, eval_every_steps=save_every)
    session.save()
    return client.post("/finetune/new/review/", {"name": name, "gpus": gpus})


def train_tiny_job(
    client,
    owner,
    tiny_base_model,
    *,
    max_steps: int = 2,
    name: str = "tiny job",
    others_every: int = 16,
    **overrides,
):
    """A finished job of `owner` on a fresh sums datanet (`sums_datanet`'s `others_every`), trained
    in-process as a worker would."""
    from modelfactory.finetuning.models import FineTuneJob
    from modelfactory.finetuning.services import job_run

    client.force_login(owner)
    _, version = sums_datanet(owner, others_every=others_every)
    walk_wizard(
        client,
        base_model=register_tiny(tiny_base_model),
        version=version,
        max_steps=max_steps,
        save_every=2,
        name=name,
        **overrides,
    )
    job = FineTuneJob.objects.filter(owner=owner).latest("created")
    job_run(job_id=job.pk, worker="w@host")
    return FineTuneJob.objects.get(pk=job.pk)
