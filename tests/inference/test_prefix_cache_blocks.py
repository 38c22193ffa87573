"""The prefix cache's bookkeeping on its own: chain hashes name prefix + model, held blocks are never
evicted or handed out again, evictable ones go least recently used first and count as free."""

from __future__ import annotations

import random

from inference.kv_cache import BlockAllocator
from inference.prefix_cache import PrefixCache, block_hash, extend_hashes

BLOCK = 4


def test_a_block_hash_names_its_tokens_everything_before_them_and_the_model():
    first = extend_hashes([], [1, 2, 3, 4, 5, 6, 7, 8], None, BLOCK, 8)
    assert len(first) == 2
    assert extend_hashes([], [1, 2, 3, 4, 5, 6, 7, 8, 9], None, BLOCK, 9) == first  # partial block: none
    assert extend_hashes([], [0, 2, 3, 4, 5, 6, 7, 8], None, BLOCK, 8)[1] != first[1]  # other parent
    assert extend_hashes([], [1, 2, 3, 4, 5, 6, 7, 8], ("support", 1), BLOCK, 8)[0] != first[0]
    assert extend_hashes([], [1, 2, 3, 4], ("support", 2), BLOCK, 4) != extend_hashes(
        [], [1, 2, 3, 4], ("support", 1), BLOCK, 4
    )  # a new generation of the same name
    assert block_hash(first[0], None, [5, 6, 7, 8]) == first[1]


def test_evictable_blocks_count_as_free_and_go_least_recently_used_first():
    cache = PrefixCache(BlockAllocator(7))  # blocks 1..6
    a, b = cache.allocate(3), cache.allocate(3)
    hashes_a = extend_hashes([], list(range(12)), None, BLOCK, 12)
    hashes_b = extend_hashes([], list(range(100, 112)), None, BLOCK, 12)
    for block, digest in zip(a + b, hashes_a + hashes_b, strict=True):
        cache.publish(block, digest)
    cache.release(a)
    cache.release(b)
    assert cache.num_available == 6
    assert cache.stats()["cached_blocks"] == 6

    assert cache.match(hashes_a) == a
    cache.take(a[:2])  # a's first two blocks are in use again: never evicted
    fresh = cache.allocate(4)

    assert set(fresh) == {a[2], *b}  # the rest, a's tail first (released last-block-first), then b's
    assert cache.stats()["evictions"] == 4
    assert cache.match(hashes_a) == a[:2]
    assert cache.match(hashes_b) == []
    assert cache.allocate(1) is None  # nothing left that is not held


def test_a_random_workload_never_reads_a_block_overwritten_or_hands_out_a_held_one():
    rng = random.Random(0)
    cache = PrefixCache(BlockAllocator(24))
    content: dict[int, tuple] = {}  # block -> the (model, prefix) its keys were computed for
    holders: dict[int, list[int]] = {}  # live sequence id -> its blocks
    prompts = [[rng.randrange(4) for _ in range(12)] for _ in range(5)]  # few, so prefixes repeat
    for step in range(3000):
        if holders and (rng.random() < 0.45 or cache.num_available < 4):
            victim = rng.choice(list(holders))
            cache.release(holders.pop(victim))
            continue
        model = rng.choice([None, ("a", 1), ("a", 2)])
        tokens = rng.choice(prompts)[: rng.randrange(1, 13)] + [rng.randrange(4) for _ in range(4)]
        hashes = extend_hashes([], tokens, model, BLOCK, len(tokens))
        cached = cache.match(hashes[: (len(tokens) - 1) // BLOCK])
        needed = -(-len(tokens) // BLOCK) - len(cached)
        if needed > cache.num_available - cache.num_evictable(cached):
            continue
        for index, block in enumerate(cached):  # what the cache gives back is what was computed there
            assert content[block] == (model, tuple(tokens[: (index + 1) * BLOCK]))
        cache.take(cached)
        new = cache.allocate(needed)
        held = {block for blocks in holders.values() for block in blocks}
        assert not held & set(new), "a block in use was handed out again"
        blocks = cached + new
        for index in range(len(cached), len(tokens) // BLOCK):  # computed, then published
            content[blocks[index]] = (model, tuple(tokens[: (index + 1) * BLOCK]))
            cache.publish(blocks[index], hashes[index])
        for block in new[len(tokens) // BLOCK - len(cached) :]:
            content[block] = ("partial", step)
        holders[step] = blocks
        for block in {b for blocks in holders.values() for b in blocks}:
            assert cache.refs(block) == sum(blocks.count(block) for blocks in holders.values())
            assert not cache.is_evictable(block)
    assert cache.stats()["hit_tokens"] == 0  # lookups were not counted here (the scheduler counts them)
    assert cache.stats()["evictions"] > 0


def test_a_disabled_cache_publishes_and_matches_nothing():
    cache = PrefixCache(BlockAllocator(4), enabled=False)
    blocks = cache.allocate(2)
    hashes = extend_hashes([], list(range(8)), None, BLOCK, 8)
    for block, digest in zip(blocks, hashes, strict=True):
        cache.publish(block, digest)
    cache.release(blocks)
    assert cache.match(hashes) == []
    assert cache.allocator.num_free == 3
