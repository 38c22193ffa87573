"""The wizard's method and review steps say what will run: QLoRA off with its reason, GPUs, the batch."""

from __future__ import annotations

import re

import pytest

from modelfactory.finetuning import views, wizard
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.training.capabilities import probe_capabilities
from tests.finetuning.jobs_support import FAST, register_tiny, sums_datanet, walk_wizard
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_with_data(client, use_tiny_base_model):
    owner = make_user("wizard_owner")
    client.force_login(owner)
    _, version = sums_datanet(owner)
    return owner, version, register_tiny(use_tiny_base_model)


@pytest.fixture
def two_gpu_machine(monkeypatch):
    """The wizard on a host with two CUDA GPUs and bitsandbytes (this test machine has none)."""
    machine = probe_capabilities(
        cuda_available=True,
        gpu_names=("H100", "H100"),
        bf16=True,
        has_bitsandbytes=True,
        has_flash_attn=False,
    )
    monkeypatch.setattr(views, "detect_capabilities", lambda: machine)
    monkeypatch.setattr(wizard, "detect_capabilities", lambda: machine)
    return machine


def choose_base_and_data(client, base, version) -> None:
    client.post("/finetune/new/base/", {"base_model": base.pk})
    client.post("/finetune/new/data/", {"eval_percent": 10, f"version_{version.datanet_id}": version.pk})


def method_fields(**changes) -> dict:
    return {"preset": "quick", "shown_preset": "quick", **FAST, "max_steps": 4, **changes}


def test_without_a_gpu_qlora_is_listed_but_cannot_be_chosen_and_the_reason_is_said_once(
    client, owner_with_data
):
    _, version, base = owner_with_data
    choose_base_and_data(client, base, version)

    page = client.get("/finetune/new/method/").content.decode()

    assert re.search(r'<option value="qlora"[^>]*disabled', page)
    assert "QLoRA (unavailable)" in page
    assert page.count("QLoRA needs a CUDA GPU") == 1


def test_a_crafted_qlora_post_is_refused_with_the_reason_shown_once(client, owner_with_data):
    _, version, base = owner_with_data
    choose_base_and_data(client, base, version)

    response = client.post("/finetune/new/method/", method_fields(method="qlora"))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("QLoRA needs a CUDA GPU") == 1
    assert 'role="alert">QLoRA needs a CUDA GPU' in page


def test_on_a_gpu_machine_qlora_is_a_choice_like_any_other(client, owner_with_data, two_gpu_machine):
    _, version, base = owner_with_data
    choose_base_and_data(client, base, version)

    page = client.get("/finetune/new/method/").content.decode()

    assert '<option value="qlora">QLoRA</option>' in page
    assert 'data-testid="qlora-reason"' not in page


def test_the_gpu_count_asked_on_review_reaches_the_job_and_its_spec(client, owner_with_data, two_gpu_machine):
    _, version, base = owner_with_data

    response = walk_wizard(client, base_model=base, version=version, max_steps=4, save_every=2, gpus=2)

    job = FineTuneJob.objects.get()
    assert response.status_code == 302
    assert job.gpus == 2
    assert job.queue == FineTuneJob.Queue.GPU
    assert job.spec["extra"]["gpus"] == 2


def test_more_gpus_than_the_machine_has_are_refused_on_the_review_step(client, owner_with_data):
    _, version, base = owner_with_data

    response = walk_wizard(client, base_model=base, version=version, max_steps=4, save_every=2, gpus=2)

    assert response.status_code == 200
    assert "this machine has 0 GPUs: choose from 0 to 0" in response.content.decode()
    assert not FineTuneJob.objects.exists()


def test_review_shows_gradient_accumulation_and_the_effective_batch_per_gpu_count(
    client, owner_with_data, two_gpu_machine
):
    _, version, base = owner_with_data
    choose_base_and_data(client, base, version)
    client.post("/finetune/new/method/", method_fields(batch_size=4))
    session = client.session
    session["finetune_wizard"]["overrides"]["grad_accumulation"] = 3
    session.save()

    page = client.get("/finetune/new/review/").content.decode()

    batch = re.search(r'data-testid="effective-batch">([^<]*)<', page).group(1)
    assert batch.startswith("12 examples per optimizer step: batch 4 × gradient accumulation 3")
    assert "24 on 2 GPUs" in batch
    assert '<option value="2">2 GPUs (data parallel)</option>' in page
