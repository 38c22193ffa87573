"""The compiled contracts under contracts/build/, and the hash that says whether they are current.

`make contracts` (contracts/compile.mjs) writes one JSON per contract (ABI and bytecode) and
build/source-hash.json. The app only reads these files, so running it needs no Node; the test
tests/contracts/test_artifacts_are_fresh.py compares `source_hash()` with the recorded one so that a
source change without a rebuild fails CI instead of deploying stale bytecode.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_utils import function_signature_to_4byte_selector

from contracts.errors import ArtifactsMissing

CONTRACTS_DIR = Path(__file__).resolve().parent
REPO_DIR = CONTRACTS_DIR.parent
SOURCE_DIR = CONTRACTS_DIR / "src"
BUILD_DIR = CONTRACTS_DIR / "build"
COMPILER_CONFIG = CONTRACTS_DIR / "compiler.json"
SOURCE_HASH_FILE = BUILD_DIR / "source-hash.json"
PACKAGE_JSON = REPO_DIR / "package.json"

# In deployment order: the settlement contract takes the vault, the vault takes the token.
CONTRACT_NAMES = ("OpenToken", "DatanetRegistry", "ModelRegistry", "PaymentVault", "AttributionSettlement")


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    immutable_ranges: tuple[tuple[int, int], ...]  # (start, length) in the runtime code

    def matches_runtime_code(self, code: bytes) -> bool:
        """Whether `code` (eth_getCode at an address) is this contract, ignoring its immutables' values."""
        expected = bytearray(bytes.fromhex(self.deployed_bytecode.removeprefix("0x")))
        actual = bytearray(code)
        if len(actual) != len(expected):
            return False
        for start, length in self.immutable_ranges:
            actual[start : start + length] = bytes(length)
            expected[start : start + length] = bytes(length)
        return actual == expected


@cache
def load_artifact(name: str) -> ContractArtifact:
    path = BUILD_DIR / f"{name}.json"
    if not path.is_file():
        raise ArtifactsMissing(f"{path} is missing: run `make contracts` (needs Node and npm install)")
    data = json.loads(path.read_text())
    return ContractArtifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        immutable_ranges=tuple(
            (ref["start"], ref["length"]) for refs in data["immutableReferences"].values() for ref in refs
        ),
    )


def recorded_source_hash() -> str:
    if not SOURCE_HASH_FILE.is_file():
        raise ArtifactsMissing(f"{SOURCE_HASH_FILE} is missing: run `make contracts`")
    return json.loads(SOURCE_HASH_FILE.read_text())["sourceHash"]


def source_hash(
    source_dir: Path = SOURCE_DIR, compiler_config: Path = COMPILER_CONFIG, package_json: Path = PACKAGE_JSON
) -> str:
    """sha256 over everything that decides the bytecode; must equal compile.mjs's `sourceHash()`.

    The manifest is one line per input: the pinned solc and OpenZeppelin versions, the sha256 of
    compiler.json's bytes (optimizer, EVM version) and of each source file, sorted by name. The
    OpenZeppelin sources are not in the repo, so their pinned version (package.json) stands for them.
    """
    config = json.loads(compiler_config.read_text())
    openzeppelin = json.loads(package_json.read_text())["dependencies"]["@openzeppelin/contracts"]
    lines = [
        f"solc {config['solc']}",
        f"openzeppelin {openzeppelin}",
        f"compiler.json {_sha256(compiler_config.read_bytes())}",
    ]
    for path in sorted(source_dir.glob("*.sol"), key=lambda p: p.name):
        lines.append(f"src/{path.name} {_sha256(path.read_bytes())}")
    return _sha256(("\n".join(lines) + "\n").encode())


@cache
def error_abis() -> dict[bytes, tuple[str, dict[str, Any]]]:
    """Every custom error of every contract (OpenZeppelin's included), by 4-byte selector.

    Reverts are decoded against this union because a call into one contract can revert with another
    contract's error (the settlement bubbles up OpenToken's ERC20InsufficientAllowance).
    """
    errors: dict[bytes, tuple[str, dict[str, Any]]] = {}
    for name in CONTRACT_NAMES:
        for entry in load_artifact(name).abi:
            if entry["type"] == "error":
                signature = f"{entry['name']}({','.join(abi_type(i) for i in entry['inputs'])})"
                errors[function_signature_to_4byte_selector(signature)] = (name, entry)
    return errors


def abi_type(parameter: dict[str, Any]) -> str:
    if parameter["type"].startswith("tuple"):
        inner = ",".join(abi_type(c) for c in parameter["components"])
        return f"({inner}){parameter['type'][len('tuple') :]}"
    return parameter["type"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
