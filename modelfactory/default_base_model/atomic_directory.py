"""Publish a directory all at once, so that readers never see a half-written model.

A build takes minutes and may be killed at any point (Ctrl-C, OOM, a container stop). Writing
straight into the final directory would leave weights without a tokenizer, or a tokenizer with
stale weights, that the next run might mistake for a finished model. Instead everything is built
in a hidden sibling directory and moved into place with ``rename``, which is atomic on one
filesystem; the build report is the last file written, so its presence marks completeness.
"""

from __future__ import annotations

import fcntl
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_LOCK_MARK = ".lock"
_STAGING_MARK = ".staging-"
_RETIRED_MARK = ".retired-"


@contextmanager
def exclusive_build_lock(target: Path) -> Iterator[None]:
    """Serialize builds of one ``target`` across processes (blocking until the holder finishes).

    A second build started while one runs then finds the first one's result in the cache instead
    of training the same model twice -- and cannot delete the first one's staging directory.
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


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory; on success it replaces ``target``, on error it vanishes.

    The previous ``target`` (if any) stays untouched until the new one is complete, so a failed
    rebuild keeps the old, working model. Hold :func:`exclusive_build_lock` around it: leftovers
    of killed builds are cleared on entry, which is only safe when no other build is running.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target)
    staging = target.parent / f".{target.name}{_STAGING_MARK}{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        _replace(target, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_leftovers(target: Path) -> None:
    """Delete staging/retired siblings that a killed earlier build left behind."""
    if not target.parent.is_dir():
        return
    for marker in (_STAGING_MARK, _RETIRED_MARK):
        for leftover in target.parent.glob(f".{target.name}{marker}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _replace(target: Path, staging: Path) -> None:
    # rename() cannot replace a non-empty directory, so the old one is first moved aside. If we
    # are killed between the two renames, `target` is simply absent: never half-complete.
    retired = None
    if target.exists():
        retired = target.parent / f".{target.name}{_RETIRED_MARK}{uuid.uuid4().hex[:8]}"
        target.rename(retired)
    staging.rename(target)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
