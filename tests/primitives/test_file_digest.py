"""File digests equal hashlib's over the whole bytes, however large the file."""

from __future__ import annotations

import hashlib

from primitives.file_digest import sha256_of_file, sha256_of_files


def test_a_file_digest_is_the_sha256_of_its_bytes(tmp_path):
    data = bytes(range(256)) * 20_000  # several read blocks
    (tmp_path / "weights").write_bytes(data)
    assert sha256_of_file(tmp_path / "weights") == hashlib.sha256(data).hexdigest()


def test_files_are_digested_as_if_concatenated(tmp_path):
    (tmp_path / "a").write_bytes(b"config")
    (tmp_path / "b").write_bytes(b"weights")
    assert sha256_of_files([tmp_path / "a", tmp_path / "b"]) == hashlib.sha256(b"configweights").hexdigest()
