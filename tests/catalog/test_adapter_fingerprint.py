"""An adapter's fingerprint sees through what a copier can do without changing the answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from modelfactory.catalog.adapter_fingerprint import MATCH_SHARE, is_copy, matched_share
from modelfactory.catalog.adapter_import import module_shapes
from modelfactory.catalog.adapter_origin_services import fingerprint_of_directory
from modelfactory.catalog.models import BaseModel
from tests.support.lora_files import disguised, random_pairs, write_adapter

RANK = 8


@pytest.fixture
def base(tiny_base_model: Path) -> BaseModel:
    return BaseModel(name="tiny-base", source=str(tiny_base_model))  # only its source is read


@pytest.fixture
def shapes(base: BaseModel) -> dict[str, tuple[int, int]]:
    return dict(module_shapes(base.source))  # every linear layer: 14 on the tiny model


def printed(tmp_path: Path, name: str, pairs, base: BaseModel, *, rank: int = RANK, alpha: float = 16):
    return fingerprint_of_directory(write_adapter(tmp_path / name, pairs, rank=rank, alpha=alpha), base)


def test_rescaling_a_and_b_and_five_percent_noise_do_not_hide_a_copy(tmp_path, base, shapes):
    original = random_pairs(shapes, rank=RANK, seed=1)

    copied = printed(tmp_path, "copy", disguised(original, scale=7.0, noise=0.05, seed=2), base)

    assert matched_share(printed(tmp_path, "original", original, base), copied) == 1.0


def test_another_alpha_or_a_rank_padded_with_zeros_is_still_the_same_adapter(tmp_path, base, shapes):
    original = random_pairs(shapes, rank=RANK, seed=1)
    padded = {
        module: (torch.cat([a, torch.zeros_like(a)]), torch.cat([b, torch.zeros_like(b)], dim=1))
        for module, (a, b) in original.items()
    }
    first = printed(tmp_path, "original", original, base)

    assert matched_share(first, printed(tmp_path, "alpha", original, base, alpha=3)) == 1.0
    assert matched_share(first, printed(tmp_path, "padded", padded, base, rank=2 * RANK, alpha=32)) == 1.0


def test_dropping_a_few_modules_does_not_hide_a_copy(tmp_path, base, shapes):
    original = random_pairs(shapes, rank=RANK, seed=1)
    kept = dict(sorted(original.items())[1:])  # one module in 14 left out

    first, cut = printed(tmp_path, "original", original, base), printed(tmp_path, "cut", kept, base)

    copied, share = is_copy(first, cut)

    assert copied
    assert MATCH_SHARE <= share < 1.0


def test_an_unrelated_adapter_of_the_same_shapes_matches_no_module(tmp_path, base, shapes):
    first = printed(tmp_path, "first", random_pairs(shapes, rank=RANK, seed=1), base)
    other = printed(tmp_path, "other", random_pairs(shapes, rank=RANK, seed=3), base)

    assert is_copy(first, other) == (False, 0.0)


def test_an_adapter_retrained_away_from_the_original_is_not_a_copy(tmp_path, base, shapes):
    original = random_pairs(shapes, rank=RANK, seed=1)

    changed = printed(tmp_path, "changed", disguised(original, scale=1.0, noise=1.0, seed=4), base)

    assert not is_copy(printed(tmp_path, "original", original, base), changed)[0]
