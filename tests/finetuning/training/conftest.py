"""Fixtures for the training library tests.

The base model is the suite-wide ``tiny_base_model`` (a real ~35k-parameter Llama with a ChatML
tokenizer whose template has ``{% generation %}`` markers), built once per session.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _one_thread_per_test_process():
    # Two cores are shared by several engineers' test runs; one thread is also faster for tiny models.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def _private_hash_cache(tmp_path_factory):
    # The base-weights hash cache defaults to ~/.cache/modelfactory; tests keep theirs to themselves.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELFACTORY_CACHE_DIR", str(tmp_path_factory.mktemp("modelfactory-cache")))
        yield
