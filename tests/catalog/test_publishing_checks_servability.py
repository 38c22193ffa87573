"""Publishing checks that the engine can serve the adapter: a DoRA fine-tune publishes and answers as PEFT
does, and an adapter the engine could not serve is refused at publishing with the engine's reason (not on
its first request)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from inference.sampling import SamplingParams
from modelfactory.catalog.models import AdapterImport, PublishedModel
from modelfactory.catalog.services import PublishRefused, composite_create, model_publish_from_job
from modelfactory.finetuning.export_services import adapter_directory
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import train_tiny_job
from tests.support.adapter_imports import import_and_run
from tests.support.factories import make_user
from tests.support.lora_files import zipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def dora_job(client, use_tiny_base_model):
    owner = make_user("dora-publisher")
    job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=4, method="dora")
    assert job.status == FineTuneJob.Status.SUCCEEDED, job.error
    yield job
    engine_runtime.shutdown()


def first_logits(published: PublishedModel, prompt: str) -> tuple[list[int], torch.Tensor]:
    ids = engine_runtime.engine().tokenizer(prompt)["input_ids"]
    request = engine_runtime.request_for(
        published, prompt_token_ids=ids, sampling=SamplingParams(max_tokens=1)
    )
    request.keep_logits = True
    completion = engine_runtime.engine().submit(request).result(timeout=60)
    assert completion.error is None, completion.error
    return ids, completion.logits[0]


def test_a_dora_fine_tune_publishes_and_answers_as_peft_does(dora_job, use_tiny_base_model):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    directory = adapter_directory(dora_job)
    assert json.loads((directory / "adapter_config.json").read_text())["use_dora"] is True
    assert any(
        "lora_magnitude_vector" in key for key in load_file(str(directory / "adapter_model.safetensors"))
    )

    published = model_publish_from_job(job=dora_job, user=dora_job.owner, api_name="dora-sums", title="Sums")

    prompt = engine_runtime.chat_prompt([{"role": "user", "content": "What is 2 plus 3?"}])
    ids, served = first_logits(published, prompt)
    _, base = first_logits(PublishedModel.objects.get(api_name="tiny-base"), prompt)
    peft = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(use_tiny_base_model), dtype=torch.float32), str(directory)
    ).eval()
    with torch.no_grad():
        expected = peft(input_ids=torch.tensor([ids])).logits[0, -1]
    assert (served - expected).abs().max().item() < 1e-4
    assert not torch.allclose(served, base, atol=1e-4)


def test_an_adapter_the_engine_cannot_serve_is_refused_at_publishing_with_the_reason(dora_job):
    directory = adapter_directory(dora_job)
    weights_file = directory / "adapter_model.safetensors"
    tensors = load_file(str(weights_file))

    save_file({key: value for key, value in tensors.items() if "magnitude" not in key}, str(weights_file))
    with pytest.raises(PublishRefused, match=r"engine could not serve it: .*without the magnitude"):
        model_publish_from_job(job=dora_job, user=dora_job.owner, api_name="broken", title="Broken")

    save_file(tensors | _lm_head_pair(dora_job), str(weights_file))  # the engine serves no lm_head
    with pytest.raises(PublishRefused, match="targets lm_head, which this engine does not serve"):
        model_publish_from_job(job=dora_job, user=dora_job.owner, api_name="broken", title="Broken")

    assert not PublishedModel.objects.filter(api_name="broken").exists()


def _lm_head_pair(job) -> dict[str, torch.Tensor]:
    """A LoRA pair (and DoRA magnitude) for lm_head, of the right shapes for the job's base model."""
    from modelfactory.catalog.adapter_import import module_shapes

    in_features, out_features = module_shapes(job.base_model.source)["lm_head"]
    return {
        "base_model.model.lm_head.lora_A.weight": torch.zeros(8, in_features),
        "base_model.model.lm_head.lora_B.weight": torch.zeros(out_features, 8),
        "base_model.model.lm_head.lora_magnitude_vector": torch.ones(out_features),
    }


def test_a_dora_import_is_served_and_an_unservable_one_refused(client, dora_job, tmp_path):
    importer = make_user("importer")
    client.force_login(importer)
    source = adapter_directory(dora_job)

    imported = import_and_run(client, "imported-dora", zipped(source), dora_job.base_model)
    assert imported.status == AdapterImport.Status.IMPORTED, imported.error
    published = PublishedModel.objects.get(api_name="imported-dora")
    assert first_logits(published, "Hello")[1].isfinite().all()

    broken = tmp_path / "lm-head"
    shutil.copytree(source, broken)
    tensors = load_file(str(broken / "adapter_model.safetensors"))
    save_file(tensors | _lm_head_pair(dora_job), str(broken / "adapter_model.safetensors"))
    refused = import_and_run(client, "lm-head-dora", zipped(broken), dora_job.base_model)
    assert refused.status == AdapterImport.Status.FAILED
    assert "engine could not serve it" in refused.error
    assert "lm_head" in refused.error
    assert not PublishedModel.objects.filter(api_name="lm-head-dora").exists()


def test_a_composite_of_a_dora_adapter_is_refused_with_the_reason(dora_job, client, use_tiny_base_model):
    owner = dora_job.owner
    model_publish_from_job(job=dora_job, user=owner, api_name="dora-part", title="DoRA")
    lora_job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=1, name="lora job")
    model_publish_from_job(job=lora_job, user=owner, api_name="lora-part", title="LoRA")

    with pytest.raises(PublishRefused, match="dora-part is a DoRA adapter, which cannot be merged"):
        composite_create(
            user=owner, api_name="mix", title="Mix", parts=[("dora-part", 1.0), ("lora-part", 1.0)]
        )
