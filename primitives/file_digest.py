"""The sha256 of files, read in blocks so that multi-gigabyte weights never sit in memory at once.

Weights, sketches, GGUF downloads and adapters are all identified or checked by the sha256 of their
bytes; the hex digest of one file is the form every record and manifest stores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def sha256_of_file(path: Path) -> str:
    """The hex sha256 of the file's bytes."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_of_files(paths: Iterable[Path]) -> str:
    """The hex sha256 of the files' bytes one after another, as if they were one file."""
    digest = hashlib.sha256()
    for path in paths:
        with Path(path).open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()
