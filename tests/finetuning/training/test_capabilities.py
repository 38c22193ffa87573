"""What the machine can do, and refusing what it cannot with a reason a person understands."""

from __future__ import annotations

import pytest

from modelfactory.finetuning.training.capabilities import (
    detect_capabilities,
    probe_capabilities,
    require_supported,
)
from modelfactory.finetuning.training.model_loading import plan_loading
from modelfactory.finetuning.training.spec import SpecInvalid, TrainingSpec
from modelfactory.finetuning.training.trainer import run_training

from .factories import mixed_rows


def cpu_only(**facts):
    values = dict(
        cuda_available=False, gpu_names=(), bf16=False, has_bitsandbytes=False, has_flash_attn=False
    )
    values.update(facts)
    return probe_capabilities(**values)


def gpu(**facts):
    values = dict(
        cuda_available=True, gpu_names=("H100",), bf16=True, has_bitsandbytes=True, has_flash_attn=True
    )
    values.update(facts)
    return probe_capabilities(**values)


def test_qlora_is_refused_on_a_cpu_machine_with_the_reason():
    with pytest.raises(SpecInvalid) as raised:
        require_supported(TrainingSpec(base_model="/m", method="qlora"), cpu_only(has_bitsandbytes=True))

    assert raised.value.field == "method"
    assert raised.value.reason == "QLoRA needs a CUDA GPU and bitsandbytes; this machine has no GPU"


def test_qlora_on_a_gpu_without_bitsandbytes_names_the_missing_package():
    with pytest.raises(SpecInvalid, match="bitsandbytes, which is not installed"):
        require_supported(TrainingSpec(base_model="/m", method="qlora"), gpu(has_bitsandbytes=False))
    require_supported(TrainingSpec(base_model="/m", method="qlora"), gpu())


def test_flash_attention_requested_without_a_gpu_is_refused_and_sdpa_is_the_default():
    caps = cpu_only(has_flash_attn=True)
    assert caps.attn_implementation == "sdpa"
    assert not caps.flash_attention.available
    assert "no GPU" in caps.flash_attention.reason
    with pytest.raises(SpecInvalid) as raised:
        require_supported(TrainingSpec(base_model="/m", attention="flash_attention_2"), caps)
    assert raised.value.field == "attention"


def test_a_gpu_with_flash_attn_installed_uses_flash_attention_2_and_bf16():
    caps = gpu()
    assert caps.attn_implementation == "flash_attention_2"
    plan = plan_loading(TrainingSpec(base_model="/m", method="qlora"), caps)
    assert (plan.device, plan.dtype, plan.load_in_4bit, plan.bf16) == ("cuda", "bfloat16", True, True)
    assert gpu(has_flash_attn=False).attn_implementation == "sdpa"


def test_capabilities_serialize_with_reasons_for_the_wizard():
    data = cpu_only().to_json()
    assert data["qlora"] is False
    assert data["qlora_reason"].startswith("QLoRA needs a CUDA GPU")
    assert data["attn_implementation"] == "sdpa"


def test_run_training_refuses_qlora_on_this_cpu_machine_before_loading_anything(tmp_path):
    if detect_capabilities().qlora.available:
        pytest.skip("this machine can run QLoRA")
    spec = TrainingSpec(base_model=str(tmp_path / "no-such-model"), method="qlora")

    with pytest.raises(SpecInvalid, match="QLoRA needs a CUDA GPU and bitsandbytes"):
        run_training(spec, mixed_rows(), tmp_path / "job")
