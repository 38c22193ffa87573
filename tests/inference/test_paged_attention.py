"""Decode attention groups: sequences of very different context lengths are not all padded to the longest."""

from __future__ import annotations

import itertools

from inference.paged_attention import split_by_width


def test_groups_cover_every_sequence_once_in_order():
    widths = [1, 1, 2, 3, 3, 3, 8, 8, 9]
    groups = split_by_width(widths, overhead=4)
    assert groups[0][0] == 0
    assert groups[-1][1] == len(widths)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(groups))


def test_similar_widths_stay_one_group_and_far_apart_ones_split():
    assert split_by_width([4, 4, 5, 5], overhead=16) == [(0, 4)]
    # 16 short contexts and 16 long ones: one group would gather 32 x 10 blocks, two gather 16 + 160
    assert split_by_width([1] * 16 + [10] * 16, overhead=16) == [(0, 16), (16, 32)]
    assert split_by_width([]) == []


def test_the_split_minimises_gathered_blocks_plus_overhead():
    widths = [1, 2, 2, 3, 5, 6, 6, 9]
    overhead = 3

    def cost(groups):
        return sum((end - start) * widths[end - 1] + overhead for start, end in groups)

    best = min(
        cost(list(zip((0, *cuts), (*cuts, len(widths)), strict=True)))
        for k in range(len(widths))
        for cuts in itertools.combinations(range(1, len(widths)), k)
    )
    assert cost(split_by_width(widths, overhead)) == best
