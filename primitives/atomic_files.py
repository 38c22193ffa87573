"""Replace a file or a directory all at once, so that a reader never sees half of it.

Writers here are killed at any point (Ctrl-C, OOM, a container stop, a worker's time limit), and what
they write is read by others: a manifest whose presence says "this run completed", a model directory
that serving loads, a deployment record that says which contracts are live. Writing in place would
let a kill leave weights without a config, or half a JSON document. So everything is written under a
hidden sibling name and moved into place with a rename, which is atomic on one filesystem.

One crash-safety policy for all of them: the new file's data is flushed to disk before the rename (or
a power loss could leave the new name pointing at empty blocks) and the directory is synced after it
(or the rename itself could be forgotten).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_LOCK_MARK = ".lock"
_STAGING_MARK = ".staging-"
_RETIRED_MARK = ".retired-"


# --- Files ------------------------------------------------------------------------------------------------
@contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """Yield a hidden temporary sibling of ``path`` to write; on success it durably replaces ``path``.

    For writers that want a path rather than bytes (``save_file``, ``save_pretrained``-style APIs). On
    error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield temporary
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def replace_file_atomically(path: Path, data: bytes | str) -> None:
    """Write ``data`` (str as UTF-8) to ``path``: readers see the old file or the new one, never a mix."""
    with replaced_atomically(path) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_json_atomically(path: Path, data: Any) -> None:
    """``data`` as indented JSON with sorted keys (stable diffs between runs), replaced atomically."""
    replace_file_atomically(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def fsync_directory(directory: Path) -> None:
    """Make a rename (or a new entry) in ``directory`` survive a power loss."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- Directories ------------------------------------------------------------------------------------------
@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory; on success it replaces ``target``, on error it vanishes.

    The previous ``target`` (if any) stays untouched until the new one is complete, so a failed rebuild
    keeps the old, working one. Leftovers of killed earlier writers are cleared on entry, which is only
    safe when no other writer of ``target`` is running: hold :func:`exclusive_build_lock` around it
    unless something else (one job, one worker) already guarantees that.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    staging = target.parent / f".{target.name}{_STAGING_MARK}{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        _sync_tree(staging)
        _replace_directory(target, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def exclusive_build_lock(target: Path) -> Iterator[None]:
    """Serialize builds of one ``target`` across processes (blocking until the holder finishes).

    A second build started while one runs then finds the first one's result instead of building the
    same thing twice -- and cannot delete the first one's staging directory.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}{_LOCK_MARK}"
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def remove_leftovers(target: Path) -> None:
    """Delete the staging and retired siblings of ``target`` that a killed earlier writer left behind."""
    target = Path(target)
    if not target.parent.is_dir():
        return
    for marker in (_STAGING_MARK, _RETIRED_MARK):
        for leftover in target.parent.glob(f".{target.name}{marker}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _sync_tree(directory: Path) -> None:
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
        fsync_directory(Path(root))


def _replace_directory(target: Path, staging: Path) -> None:
    # rename() cannot replace a non-empty directory, so the old one is first moved aside. If we are
    # killed between the two renames, `target` is simply absent: never half-complete.
    retired = None
    if target.exists():
        retired = target.parent / f".{target.name}{_RETIRED_MARK}{uuid.uuid4().hex[:8]}"
        target.rename(retired)
    staging.rename(target)
    fsync_directory(target.parent)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
