"""Who holds which KV block, and which full blocks can be shared: the prefix cache.

A *full* block (all `block_size` slots computed) holds the keys and values of its tokens, and those
depend on every token before them and on the weights that computed them. So a full block is named by a
hash chain over exactly that:

    hash(block i) = sha256(hash(block i - 1) || model key || token ids of block i)

where the model key is the adapter's `(name, generation)` (a merge's recipe name holds its parts' names,
weights and generations, plus method and density), or `None` for the base model. The generation is what
makes re-registration safe: `register_adapter` on an existing name makes a new generation, so blocks
computed under the old weights can never match a request admitted afterwards, even though the name and
the tokens are the same. (The base model itself is implicit: the cache lives in one engine's KV memory
and an engine serves one base.) sha256, not Python's `hash`, because a forged collision would let one
request read another's keys.

Every block has a reference count (the sequences holding it). Blocks of no sequence are either *free*
(no content worth keeping) or *evictable* (a published full block, kept in LRU order until its memory
is needed). Admission counts evictable blocks as free; a block some running sequence holds is never
evicted, and a block is published only once the step that wrote it has finished, so no sequence ever
writes into a block another one may read. With `enabled=False` nothing is published or matched and this
is a plain free list.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import OrderedDict
from collections.abc import Hashable, Sequence

from inference.kv_cache import BlockAllocator

ROOT = b""  # the parent hash of every chain's first block


def block_hash(parent: bytes, model_key: Hashable, tokens: Sequence[int]) -> bytes:
    """The chain hash of one full block (see the module docstring)."""
    digest = hashlib.sha256(parent)
    digest.update(repr(model_key).encode())
    digest.update(array("q", tokens).tobytes())
    return digest.digest()


def extend_hashes(
    hashes: list[bytes], token_ids: Sequence[int], model_key: Hashable, block_size: int, full_tokens: int
) -> list[bytes]:
    """Append to `hashes` the chain hashes of the full blocks of `token_ids[:full_tokens]` it lacks."""
    for index in range(len(hashes), full_tokens // block_size):
        parent = hashes[-1] if hashes else ROOT
        hashes.append(block_hash(parent, model_key, token_ids[index * block_size : (index + 1) * block_size]))
    return hashes


class PrefixCache:
    """KV blocks by reference count, plus the published full blocks by chain hash, evicted LRU."""

    def __init__(self, allocator: BlockAllocator, *, enabled: bool = True) -> None:
        self.allocator = allocator
        self.enabled = enabled
        self._refs = [0] * allocator.num_blocks
        self._block_of: dict[bytes, int] = {}  # published hash -> block
        self._hash_of: dict[int, bytes] = {}  # block -> its published hash
        self._evictable: OrderedDict[int, None] = OrderedDict()  # published, unreferenced; LRU first
        self.queried_tokens = 0  # prompt tokens looked up at admission
        self.hit_tokens = 0  # ... of which found in the cache
        self.evictions = 0

    # --- what admission needs to know --------------------------------------------------------------------
    @property
    def num_available(self) -> int:
        """Blocks an allocation may hand out now: free ones and evictable cached ones."""
        return self.allocator.num_free + len(self._evictable)

    def match(self, hashes: Sequence[bytes]) -> list[int]:
        """The cached blocks of the longest prefix of `hashes` (nothing is taken yet)."""
        if not self.enabled:
            return []
        blocks = []
        for digest in hashes:
            block = self._block_of.get(digest)
            if block is None:
                break
            blocks.append(block)
        return blocks

    def num_evictable(self, blocks: Sequence[int]) -> int:
        """How many of these (matched) blocks would stop being available once taken."""
        return sum(1 for block in blocks if self._refs[block] == 0)

    # --- holding and letting go ----------------------------------------------------------------------------
    def take(self, blocks: Sequence[int]) -> None:
        """Hold matched cached blocks (a running sequence's blocks are never evicted)."""
        for block in blocks:
            if self._refs[block] == 0:
                del self._evictable[block]
            self._refs[block] += 1

    def allocate(self, count: int) -> list[int] | None:
        """`count` private blocks, evicting the least recently used cached ones if the free list is short."""
        if count > self.num_available:
            return None
        while self.allocator.num_free < count:
            block, _ = self._evictable.popitem(last=False)
            del self._block_of[self._hash_of.pop(block)]
            self.evictions += 1
            self.allocator.free([block])
        blocks = self.allocator.allocate(count)
        assert blocks is not None
        for block in blocks:
            assert self._refs[block] == 0, "a held block was on the free list"
            self._refs[block] = 1
        return blocks

    def release(self, blocks: Sequence[int]) -> None:
        """Let go of a sequence's blocks: published ones become evictable (its last blocks first, so that a
        chain is evicted from its end), the others free."""
        free = []
        for block in reversed(blocks):
            self._refs[block] -= 1
            if self._refs[block] > 0:
                continue
            if block in self._hash_of:
                self._evictable[block] = None
            else:
                free.append(block)
        if free:
            self.allocator.free(free[::-1])

    def publish(self, block: int, digest: bytes) -> None:
        """A full block whose keys and values are computed: shareable from now on. When another block
        already holds the same content, that one stays the cached copy and this one stays private."""
        if not self.enabled or digest in self._block_of or block in self._hash_of:
            return
        self._block_of[digest] = block
        self._hash_of[block] = digest

    def count_lookup(self, queried: int, hit: int) -> None:
        self.queried_tokens += queried
        self.hit_tokens += hit

    def refs(self, block: int) -> int:
        """How many sequences hold this block."""
        return self._refs[block]

    def is_published(self, block: int) -> bool:
        return block in self._hash_of

    def is_evictable(self, block: int) -> bool:
        return block in self._evictable

    def stats(self) -> dict:
        return {
            "enabled": self.enabled,
            "hit_rate": self.hit_tokens / self.queried_tokens if self.queried_tokens else 0.0,
            "hit_tokens": self.hit_tokens,
            "queried_tokens": self.queried_tokens,
            "cached_blocks": len(self._block_of),
            "evictable_blocks": len(self._evictable),
            "evictions": self.evictions,
        }
