"""Content hashes of rows: the leaves of a version's Merkle tree and the duplicate detector.

keccak256 over canonical JSON (sorted keys, no spaces, UTF-8), so the same content hashes the
same in Python, in Solidity and in any other client.
"""

from __future__ import annotations

import json

from eth_utils import keccak


def canonical_json(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(content: dict) -> str:
    return "0x" + keccak(canonical_json(content)).hex()
