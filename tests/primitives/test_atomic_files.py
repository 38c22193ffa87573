"""Files and directories replaced whole or not at all, with nothing left behind."""

from __future__ import annotations

import json

import pytest

from primitives.atomic_files import (
    replace_file_atomically,
    replaced_atomically,
    staged_directory,
    write_json_atomically,
)


def test_a_directory_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "adapter"
    with staged_directory(target) as staging:
        (staging / "adapter_config.json").write_text("v1")

    def fails_half_way():
        with staged_directory(target) as staging:
            (staging / "adapter_config.json").write_text("v2")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        fails_half_way()
    assert (target / "adapter_config.json").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]  # no staging leftovers

    with staged_directory(target) as staging:
        (staging / "adapter_config.json").write_text("v2")
    assert (target / "adapter_config.json").read_text() == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]  # the old one retired and removed


def test_leftovers_of_a_killed_writer_are_cleared(tmp_path):
    target = tmp_path / "model"
    (tmp_path / ".model.staging-dead0000").mkdir()
    (tmp_path / ".model.retired-dead0000").mkdir()
    with staged_directory(target) as staging:
        (staging / "weights").write_bytes(b"w")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_json_is_written_atomically_without_temporary_leftovers(tmp_path):
    write_json_atomically(tmp_path / "manifest.json", {"a": 1})
    write_json_atomically(tmp_path / "manifest.json", {"a": 2})
    assert json.loads((tmp_path / "manifest.json").read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_file_is_replaced_from_text_or_bytes(tmp_path):
    path = tmp_path / "record.json"
    replace_file_atomically(path, "é\n")
    assert path.read_bytes() == "é\n".encode()
    replace_file_atomically(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "tensors"
    path.write_bytes(b"old")

    def killed_half_way():
        with replaced_atomically(path) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        killed_half_way()
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["tensors"]
