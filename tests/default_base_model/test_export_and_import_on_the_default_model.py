"""Merged export and adapter import on the real default model, whose tied embeddings and grouped-query
attention are what a merge or a shape check can get wrong (the tiny models of other tests untie nothing)."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from modelfactory.catalog.adapter_import import AdapterImportRefused, unpack_adapter_zip
from modelfactory.catalog.models import BaseModel
from modelfactory.finetuning.export_services import merged_export_run
from modelfactory.finetuning.models import FineTuneJob
from tests.inference.factories import ATTENTION, MLP, AdapterSpec, save_peft_adapters
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

PROBE = torch.tensor([[1, 504, 3060, 282, 4649, 30, 2]])


@pytest.fixture(scope="module")
def smollm2_adapter(default_base_model, tmp_path_factory):
    """A rank-8 LoRA on every attention and MLP projection of SmolLM2; non-zero B, so it changes logits."""
    base = AutoModelForCausalLM.from_pretrained(default_base_model, dtype=torch.float32)
    folder = tmp_path_factory.mktemp("adapters")
    paths = save_peft_adapters(base, [AdapterSpec("all-r8", 8, ATTENTION + MLP)], folder, b_std=0.02)
    return paths.paths["all-r8"]


def registered(default_base_model) -> BaseModel:
    return BaseModel.objects.create(
        name="smollm2-135m-instruct",
        source=str(default_base_model),
        architecture="LlamaForCausalLM",
        model_type="llama",
    )


def peft_logits(default_base_model, adapter) -> torch.Tensor:
    base = AutoModelForCausalLM.from_pretrained(default_base_model, dtype=torch.float32)
    with torch.no_grad():
        return PeftModel.from_pretrained(base, str(adapter)).eval()(PROBE).logits


def test_the_merged_export_of_a_default_model_adapter_answers_as_the_adapter_does_with_its_head_tied(
    default_base_model, smollm2_adapter, tmp_path
):
    import shutil

    output = tmp_path / "job"
    shutil.copytree(smollm2_adapter, output / "adapter")
    job = FineTuneJob.objects.create(
        owner=make_user(),
        name="merge me",
        base_model=registered(default_base_model),
        spec={},
        output_dir=str(output),
        merged_status="exporting",
    )

    merged_export_run(job_id=job.pk)

    assert FineTuneJob.objects.get(pk=job.pk).merged_status == "ready"
    merged = AutoModelForCausalLM.from_pretrained(output / "merged", dtype=torch.float32).eval()
    assert merged.config.tie_word_embeddings
    assert merged.lm_head.weight.data_ptr() == merged.model.embed_tokens.weight.data_ptr()
    with torch.no_grad():
        merged_logits = merged(PROBE).logits
    # 30 layers summed in another order: fp32 rounding reaches ~1e-4 on logits of ~3, so the bound is
    # relative too (an adapter merged wrongly moves logits by whole units)
    torch.testing.assert_close(
        merged_logits, peft_logits(default_base_model, smollm2_adapter), atol=1e-4, rtol=1e-4
    )
    base = AutoModelForCausalLM.from_pretrained(default_base_model, dtype=torch.float32).eval()
    with torch.no_grad():
        assert (merged_logits - base(PROBE).logits).abs().max() > 1e-3, "the merge must change the model"


def zipped(folder, path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            archive.write(folder / name, name)
    return path


def unpacked_as(zip_path, base, name: str, tmp_path) -> Path:
    return unpack_adapter_zip(
        path=zip_path,
        base_model=base,
        target=tmp_path / "adapters" / name,
        max_bytes=2**31,
        max_rank=64,
        deadline=time.monotonic() + 600,
    )


def test_an_adapter_trained_on_the_default_model_imports_and_a_wrongly_shaped_one_is_refused(
    default_base_model, smollm2_adapter, tmp_path, settings
):
    settings.VAR_DIR = tmp_path
    base = registered(default_base_model)

    unpacked = unpacked_as(zipped(smollm2_adapter, tmp_path / "imported.zip"), base, "imported", tmp_path)

    assert (unpacked / "adapter_model.safetensors").read_bytes() == (
        smollm2_adapter / "adapter_model.safetensors"
    ).read_bytes()

    # k_proj maps 576 -> 192 on SmolLM2 (3 KV heads of 64): an adapter made for full-width K is refused.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_bytes((smollm2_adapter / "adapter_config.json").read_bytes())
    weights = load_file(smollm2_adapter / "adapter_model.safetensors")
    for name in [n for n in weights if "k_proj.lora_B" in n]:
        weights[name] = torch.zeros(576, weights[name].shape[1])
    save_file(weights, broken / "adapter_model.safetensors")
    with pytest.raises(AdapterImportRefused, match="k_proj"):
        unpacked_as(zipped(broken, tmp_path / "broken.zip"), base, "broken", tmp_path)
    assert not (tmp_path / "adapters" / "broken").exists()
