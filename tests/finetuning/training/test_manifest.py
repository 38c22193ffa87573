"""Manifest hashes: the base weights hash is cached (multi-GB bases hash once) and notices changes."""

from __future__ import annotations

import os

from modelfactory.finetuning.training import manifest
from modelfactory.finetuning.training.manifest import base_weights_sha256, directory_content_hash


def test_base_weights_hash_is_computed_once_then_served_from_the_cache(tmp_path, monkeypatch):
    model_dir = tmp_path / "base"
    model_dir.mkdir()
    (model_dir / "model-00001.safetensors").write_bytes(b"shard one")
    (model_dir / "model-00002.safetensors").write_bytes(b"shard two")
    (model_dir / "config.json").write_text("{}")
    calls = []
    real = manifest.directory_content_hash
    monkeypatch.setattr(manifest, "directory_content_hash", lambda *a, **k: calls.append(a) or real(*a, **k))

    first = base_weights_sha256(str(model_dir), cache_dir=tmp_path / "cache")
    second = base_weights_sha256(str(model_dir), cache_dir=tmp_path / "cache")

    assert first == second == real(model_dir, pattern="*.safetensors")[0]
    assert len(calls) == 1
    (model_dir / "model-00002.safetensors").write_bytes(b"shard two, fine-tuned")
    third = base_weights_sha256(str(model_dir), cache_dir=tmp_path / "cache")
    assert third != first
    assert len(calls) == 2


def test_the_weights_hash_covers_only_safetensors_and_depends_on_every_shard(tmp_path):
    (tmp_path / "a.safetensors").write_bytes(b"a")
    (tmp_path / "b.safetensors").write_bytes(b"b")
    digest, files = directory_content_hash(tmp_path, pattern="*.safetensors")
    (tmp_path / "README.md").write_text("docs change nothing")
    assert directory_content_hash(tmp_path, pattern="*.safetensors")[0] == digest
    assert sorted(files) == ["a.safetensors", "b.safetensors"]
    os.rename(tmp_path / "b.safetensors", tmp_path / "c.safetensors")
    assert directory_content_hash(tmp_path, pattern="*.safetensors")[0] != digest


def test_a_model_that_is_not_on_this_machine_has_no_hash_instead_of_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert base_weights_sha256("someone/not-downloaded-model", cache_dir=tmp_path) is None
