"""The committed contracts/build/ matches contracts/src/: nobody deploys bytecode of sources that changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from contracts.artifacts import (
    BUILD_DIR,
    COMPILER_CONFIG,
    CONTRACT_NAMES,
    PACKAGE_JSON,
    SOURCE_DIR,
    load_artifact,
    recorded_source_hash,
    source_hash,
)


def test_artifacts_were_rebuilt_after_the_last_source_change():
    assert source_hash() == recorded_source_hash(), (
        "contracts/src, contracts/compiler.json or the pinned @openzeppelin/contracts changed but "
        "contracts/build/ was not rebuilt: run `make contracts` and commit contracts/build/"
    )


def test_the_recorded_compiler_is_the_pinned_one():
    manifest = json.loads((BUILD_DIR / "source-hash.json").read_text())
    pinned = json.loads(COMPILER_CONFIG.read_text())["solc"]
    assert manifest["compiler"].startswith(f"{pinned}+")
    assert sorted(manifest["contracts"]) == sorted(CONTRACT_NAMES)


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_every_contract_has_an_abi_and_deployable_bytecode(name):
    artifact = load_artifact(name)
    assert any(entry["type"] == "constructor" for entry in artifact.abi)
    assert len(artifact.bytecode) > 2
    assert len(artifact.deployed_bytecode) > 2


@pytest.fixture
def source_copy(tmp_path: Path) -> dict[str, Path]:
    shutil.copytree(SOURCE_DIR, tmp_path / "src")
    shutil.copy(COMPILER_CONFIG, tmp_path / "compiler.json")
    shutil.copy(PACKAGE_JSON, tmp_path / "package.json")
    return {
        "source_dir": tmp_path / "src",
        "compiler_config": tmp_path / "compiler.json",
        "package_json": tmp_path / "package.json",
    }


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    "change",
    ["a source line", "a new source file", "the optimizer", "the pinned openzeppelin"],
)
def test_the_source_hash_notices_every_input_that_changes_the_bytecode(source_copy, change):
    unchanged = source_hash(**source_copy)
    if change == "a source line":
        _edit(
            source_copy["source_dir"] / "AttributionSettlement.sol",
            "uint64 public lastEpoch;",
            "uint64 public x;",
        )
    elif change == "a new source file":
        (source_copy["source_dir"] / "Extra.sol").write_text("// SPDX-License-Identifier: MIT\n")
    elif change == "the optimizer":
        _edit(source_copy["compiler_config"], '"runs": 200', '"runs": 201')
    else:
        _edit(
            source_copy["package_json"],
            '"@openzeppelin/contracts": "5.7.0"',
            '"@openzeppelin/contracts": "5.7.1"',
        )
    assert source_hash(**source_copy) != unchanged
