"""The catalog through HTTP: publish from a job, a model's lineage page, merging, importing, access."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from inference.sampling import SamplingParams
from modelfactory.catalog.models import AdapterImport, PublishedModel
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import train_tiny_job
from tests.support.adapter_imports import import_and_run, post_import
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_and_job(client, use_tiny_base_model):
    owner = make_user("catalog_owner")
    job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=2)
    yield owner, FineTuneJob.objects.get(pk=job.pk)
    engine_runtime.shutdown()


def publish(client, job, api_name: str, access: str = "public"):
    return client.post(
        f"/models/publish/job/{job.pk}/",
        {"api_name": api_name, "title": api_name.title(), "description": "", "access": access},
    )


def adapter_zip(job, *, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (Path(job.output_dir) / "adapter").glob("adapter_*"):
            archive.write(path, arcname=f"my-adapter/{path.name}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_publishing_from_the_job_page_shows_the_model_with_its_lineage(client, owner_and_job):
    _, job = owner_and_job

    response = publish(client, job, "sum-bot")
    page = client.get("/models/sum-bot/").content.decode()

    assert response.status_code == 302
    assert 'data-testid="lineage"' in page
    assert job.manifest["datanets"][0]["merkle_root"][:10] in page
    assert "sum-bot" in client.get("/models/").content.decode()


def test_an_allow_listed_model_is_invisible_to_strangers(client, owner_and_job):
    _, job = owner_and_job
    publish(client, job, "secret-bot", access="allow_list")
    client.force_login(make_user("outsider"))

    assert client.get("/models/secret-bot/").status_code == 404
    assert "/models/secret-bot/" not in client.get("/models/").content.decode()


def test_a_composite_of_two_adapters_is_saved_and_answers_through_the_engine(client, owner_and_job):
    _, job = owner_and_job
    publish(client, job, "part-a")
    assert import_and_run(client, "part-b", adapter_zip(job), job.base_model).status == "imported"

    response = client.post(
        "/models/compose/",
        {
            "api_name": "blend",
            "title": "Blend",
            "description": "",
            "access": "public",
            "method": "ties",
            "density": 0.5,
            "weight_part-a": 0.7,
            "weight_part-b": 0.3,
        },
    )

    assert response.status_code == 302, response.content.decode()[-1500:]
    blend = PublishedModel.objects.get(api_name="blend")
    assert (blend.recipe["method"], blend.recipe["density"]) == ("ties", 0.5)
    assert sorted(blend.recipe["adapters"]) == [["part-a", 0.7], ["part-b", 0.3]]
    request = engine_runtime.request_for(
        blend, prompt="What is 1 plus 1?", sampling=SamplingParams(max_tokens=4)
    )
    assert engine_runtime.engine().submit(request).result(timeout=60).finish_reason in ("length", "stop")


def test_importing_a_zip_with_a_pickle_file_is_refused_and_says_why(client, owner_and_job):
    _, job = owner_and_job

    response = post_import(
        client, "risky", adapter_zip(job, extra={"pytorch_model.bin": b"\x80\x04"}), job.base_model
    )

    assert "pickle files are refused" in response.content.decode()  # from the zip's directory, at once
    assert not PublishedModel.objects.filter(api_name="risky").exists()
    assert not AdapterImport.objects.exists()


def test_importing_an_adapter_for_another_base_model_names_the_mismatch(client, owner_and_job, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    _, job = owner_and_job
    other = get_peft_model(
        LlamaForCausalLM(
            LlamaConfig(
                hidden_size=48,
                intermediate_size=96,
                num_hidden_layers=2,
                num_attention_heads=4,
                vocab_size=300,
            )
        ),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj"]),
    )
    other.save_pretrained(tmp_path / "other")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in (tmp_path / "other").glob("adapter_*"):
            archive.write(path, arcname=path.name)

    ended = import_and_run(client, "alien", buffer.getvalue(), job.base_model)

    assert ended.status == ended.Status.FAILED
    assert "trained for another base model" in ended.error
    assert "trained for another base model" in client.get(f"/models/imports/{ended.pk}/").content.decode()
    assert not PublishedModel.objects.filter(api_name="alien").exists()


def test_the_merge_builder_previews_each_adapter_and_the_merge_before_saving(client, owner_and_job):
    _, job = owner_and_job
    publish(client, job, "part-a")
    assert import_and_run(client, "part-b", adapter_zip(job), job.base_model).status == "imported"

    response = client.post(
        "/models/compose/preview/",
        {
            "method": "linear",
            "density": 1.0,
            "prompt": "What is 2 plus 2?",
            "weight_part-a": 0.5,
            "weight_part-b": 0.5,
        },
    )

    page = response.content.decode()
    assert page.count('data-testid="preview-answer"') == 3
    assert "merge" in page
    assert not PublishedModel.objects.filter(kind=PublishedModel.Kind.COMPOSITE).exists()
