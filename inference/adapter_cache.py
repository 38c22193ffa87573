"""The tiered adapter cache: device rows <- host memory <- disk, with budgets in bytes.

* disk: every registered adapter is a name -> directory record (a few hundred bytes each, so 5,000
  registered adapters cost what 100 do);
* host: loaded `AdapterWeights` (CPU tensors at their real rank), LRU within `host_budget_bytes`;
* device: pages of rows in the layers' LoRA pools (what the batched kernel reads); an adapter of rank r
  takes ceil(r / page_rows) pages (`lora_layers.PAGE_ROWS` rows each unless the engine says otherwise),
  so the budget is in bytes and an adapter pays for its rank rounded up to whole pages.
  LRU over adapters no running request uses.

DoRA adapters also carry their magnitudes; their per-output factors m / ||W + s B A|| are computed from
the base weights once per load into the host tier (`_load_now`), and copied with the rows at each device
write. Merges of DoRA adapters are refused (`register_merge`): see `inference.adapter_merging`.

Entries are keyed by (name, generation): registering a name again makes a new generation, so requests
admitted after the call can never see the old weights, while requests already running keep the rows
they hold until they finish. Pinned adapters are never evicted from either tier. Disk reads run on a
background thread (`prefetch`) so that a cold adapter never stalls the batch that is running.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from inference.adapter_merging import dora_merge_refusal, merge_adapters
from inference.adapter_weights import AdapterWeights, read_adapter, read_adapter_config
from inference.errors import AdapterCorrupt, AdapterIncompatible, AdapterNotFound, EngineError
from inference.lora_layers import PAGE_ROWS, MultiLoraModel, ResidentAdapter
from inference.metrics import LatencyHistogram

AdapterKey = tuple[str, int]
Loader = Callable[[str, Path], AdapterWeights]


@dataclass
class AdapterRecord:
    """The disk tier: where an adapter lives, which generation is current, whether it is pinned."""

    name: str
    path: Path | None
    generation: int
    pinned: bool = False
    build: Callable[[], AdapterWeights] | None = None  # derived adapters (merges) are built, not read
    dora: bool = False  # its config says use_dora (merges of it are refused)

    @property
    def key(self) -> AdapterKey:
        return (self.name, self.generation)


@dataclass
class _DeviceEntry:
    resident: ResidentAdapter
    pages: list[int]
    users: int = 0


class AdapterCache:
    """Owns adapter memory in both tiers; the engine thread calls `acquire`/`release` around requests."""

    def __init__(
        self,
        lora: MultiLoraModel,
        *,
        host_budget_bytes: int,
        page_rows: int = PAGE_ROWS,
        max_rank: int = 64,
        loader: Loader | None = None,
        loader_threads: int = 1,
    ) -> None:
        if lora.num_rows % page_rows:
            raise ValueError("the pools' row count must be a multiple of page_rows")
        self.lora = lora
        self.page_rows = page_rows
        self.max_rank = max_rank
        self.host_budget_bytes = host_budget_bytes
        self.num_pages = lora.num_rows // page_rows  # page 0 stays zero: it pads ranks in a batch
        if (self.num_pages - 1) * page_rows < max_rank:
            raise ValueError(f"the device budget holds fewer than max_rank={max_rank} rows; raise it")
        shapes = {path: (layer.in_features, layer.out_features) for path, layer in lora.layers.items()}
        dtype = next(iter(lora.layers.values())).A_pool.dtype
        self._loader = loader or (lambda name, path: read_adapter(name, path, shapes, dtype=dtype))
        self._executor = ThreadPoolExecutor(max_workers=loader_threads, thread_name_prefix="adapter-loader")
        self._lock = threading.RLock()
        self._records: dict[str, AdapterRecord] = {}
        self._generations: Counter[str] = Counter()
        self._host: OrderedDict[AdapterKey, AdapterWeights] = OrderedDict()
        self._host_bytes = 0
        self._device: OrderedDict[AdapterKey, _DeviceEntry] = OrderedDict()
        self._free_pages = list(range(1, self.num_pages))
        self._loading: dict[AdapterKey, Future] = {}
        self._failed: dict[AdapterKey, EngineError] = {}
        self._pinned: set[AdapterKey] = set()
        self.counters: Counter[str] = Counter()
        self.evictions: Counter[str] = Counter()  # "tier:reason" -> count
        self.disk_load = LatencyHistogram()
        self.device_copy = LatencyHistogram()

    # --- registry (disk tier) ---------------------------------------------------------------------------
    def register(
        self, name: str, path: str | Path, *, pin: bool = False, preload: bool = False
    ) -> AdapterRecord:
        """Add or replace an adapter; replacing makes a new generation so nothing stale is ever served."""
        directory = Path(path)
        config = read_adapter_config(directory)  # fail fast on missing files, pickle, unsupported options
        with self._lock:
            old = self._records.get(name)
            self._generations[name] += 1
            record = AdapterRecord(
                name, directory, self._generations[name], pinned=pin, dora=bool(config.get("use_dora"))
            )
            self._records[name] = record
            if old is not None:
                self._forget(old.key)
        if pin or preload:
            weights = self._load_now(record.key)
            if pin:
                with self._lock:
                    self._pinned.add(record.key)
            try:
                self._ensure_host(record.key, weights)
                resident = self.acquire(record.key)
                if resident is None:
                    raise AdapterIncompatible(
                        f"no device room left to preload adapter {name!r}; raise the budget"
                    )
                self.release(resident)
            except EngineError:
                self._drop_pin(record.key)
                raise
        return record

    def register_merge(
        self, name: str, parts: list[tuple[AdapterKey, float]], method: str, density: float
    ) -> str:
        """Register (once per recipe) the derived adapter of a weighted merge; returns its name.

        DoRA parts are refused here, before anything is built (`AdapterIncompatible`)."""
        with self._lock:
            for (part, generation), _weight in parts:
                record = self._records.get(part)
                if record is not None and record.generation == generation and record.dora:
                    raise AdapterIncompatible(dora_merge_refusal(part))
            if name in self._records:
                return name
            self._generations[name] += 1
            self._records[name] = AdapterRecord(
                name,
                None,
                self._generations[name],
                build=lambda: merge_adapters(
                    name,
                    [(self._weights_for(key), weight) for key, weight in parts],
                    method,
                    density,
                    self.max_rank,
                ),
            )
        return name

    def _weights_for(self, key: AdapterKey) -> AdapterWeights:
        with self._lock:
            weights = self._host.get(key)
            record = self._records.get(key[0])
        if weights is not None:
            return weights
        if record is None or record.key != key:
            raise AdapterNotFound(f"adapter {key[0]!r} was removed or replaced; resend the merge request")
        return self._load_now(key)

    def remove(self, name: str) -> None:
        """Forget an adapter; requests already running on it finish on the rows they hold."""
        with self._lock:
            record = self._records.pop(name, None)
            if record is None:
                raise AdapterNotFound(f"no adapter named {name!r} is registered")
            self._forget(record.key)

    def resolve(self, name: str) -> AdapterKey:
        """The current generation of `name`, for a request being admitted now."""
        with self._lock:
            record = self._records.get(name)
        if record is None:
            raise AdapterNotFound(
                f"no adapter named {name!r} is registered; register it before sending requests"
            )
        return record.key

    def registered(self) -> list[str]:
        with self._lock:
            return list(self._records)

    # --- host tier --------------------------------------------------------------------------------------
    def prefetch(self, key: AdapterKey) -> None:
        """Start reading `key` from disk in the background unless it is resident or already loading."""
        with self._lock:
            if key in self._device or key in self._host or key in self._loading or key in self._failed:
                return
            self._loading[key] = self._executor.submit(self._load_in_background, key)

    def _load_in_background(self, key: AdapterKey) -> None:
        try:
            weights = self._load_now(key)
            self._ensure_host(key, weights)
        except EngineError as error:
            with self._lock:
                self._failed[key] = error
        except Exception as error:  # an unexpected loader bug must fail the request, not the engine
            with self._lock:
                self._failed[key] = AdapterIncompatible(f"adapter {key[0]!r} could not be loaded: {error!r}")
        finally:
            with self._lock:
                self._loading.pop(key, None)

    def _load_now(self, key: AdapterKey) -> AdapterWeights:
        with self._lock:
            record = self._records.get(key[0])
        if record is None or record.key != key:
            raise AdapterNotFound(f"adapter {key[0]!r} was removed or replaced while loading")
        started = time.perf_counter()
        weights = record.build() if record.build is not None else self._loader(key[0], record.path)
        if weights.is_dora and not weights.dora_scales:
            scales = self.lora.dora_scales(weights.weights, weights.magnitudes)
            if not all(torch.isfinite(scale).all() for scale in scales.values()):
                raise AdapterCorrupt(
                    f"adapter {key[0]!r} is a DoRA adapter whose weight W + s B A has a zero-norm row here, "
                    "so its magnitude cannot be applied (trained for another base model?)"
                )
            weights = replace(weights, dora_scales=scales)
        if weights.rank > self.max_rank:
            raise AdapterIncompatible(
                f"adapter {key[0]!r} has rank {weights.rank}, above this engine's max_rank={self.max_rank}"
            )
        if weights.nbytes > self.host_budget_bytes:
            raise AdapterIncompatible(
                f"adapter {key[0]!r} needs {weights.nbytes} bytes, more than the whole host budget "
                f"({self.host_budget_bytes}); raise host_budget_bytes"
            )
        self.disk_load.observe(time.perf_counter() - started)
        self.counters["disk_loads"] += 1
        return weights

    def _ensure_host(self, key: AdapterKey, weights: AdapterWeights) -> None:
        with self._lock:
            record = self._records.get(key[0])
            if record is None or record.key != key or key in self._host:
                return
            while self._host_bytes + weights.nbytes > self.host_budget_bytes:
                victim = next((k for k in self._host if k not in self._pinned), None)
                if victim is None:
                    raise AdapterIncompatible(
                        f"adapter {key[0]!r} does not fit in the host budget next to the pinned adapters; "
                        "unpin some or raise host_budget_bytes"
                    )
                self._host_bytes -= self._host.pop(victim).nbytes
                self.evictions["host:lru"] += 1
            self._host[key] = weights
            self._host_bytes += weights.nbytes

    # --- device tier ------------------------------------------------------------------------------------
    def acquire(self, key: AdapterKey) -> ResidentAdapter | None:
        """Rows for `key`, holding them until `release`; None when not loaded yet or no rows free now."""
        with self._lock:
            entry = self._device.get(key)
            if entry is not None:
                entry.users += 1
                self._device.move_to_end(key)
                self.counters["device_hits"] += 1
                return entry.resident
            if key in self._failed:
                raise self._failed[key]
            weights = self._host.get(key)
            if weights is None:
                self.counters["host_misses"] += 1
                self.prefetch(key)
                return None
            self._host.move_to_end(key)
            self.counters["host_hits"] += 1
            pages = self._allocate_pages(math.ceil(weights.rank / self.page_rows))
            if pages is None:
                self.counters["device_full"] += 1
                return None
            started = time.perf_counter()
            resident = self._write(key, weights, pages)
            self.device_copy.observe(time.perf_counter() - started)
            self._device[key] = _DeviceEntry(resident, pages, users=1)
            return resident

    def release(self, resident: ResidentAdapter) -> None:
        with self._lock:
            entry = self._device.get(resident.key)
            if entry is None:
                return
            entry.users -= 1
            record = self._records.get(resident.key[0])
            if entry.users == 0 and (record is None or record.key != resident.key):
                self._free_device(resident.key, "device:replaced")

    def _allocate_pages(self, count: int) -> list[int] | None:
        while len(self._free_pages) < count:
            victim = next(
                (k for k, e in self._device.items() if e.users == 0 and k not in self._pinned), None
            )
            if victim is None:
                return None
            self._free_device(victim, "device:lru")
        self._free_pages.sort()
        run = _contiguous_run(self._free_pages, count)
        chosen = run if run is not None else self._free_pages[:count]
        taken = set(chosen)
        self._free_pages = [page for page in self._free_pages if page not in taken]
        return chosen

    def _write(self, key: AdapterKey, weights: AdapterWeights, pages: list[int]) -> ResidentAdapter:
        rows = torch.cat([torch.arange(p * self.page_rows, (p + 1) * self.page_rows) for p in pages])
        device = next(iter(self.lora.layers.values())).A_pool.device
        rows = rows.to(device)
        dora_slot = pages[0] if weights.is_dora else None  # its first page is its own while resident
        self.lora.write_rows(rows, weights.weights, weights.dora_scales, dora_slot)
        contiguous = all(b == a + 1 for a, b in itertools.pairwise(pages))
        targets = frozenset(self.lora.layer_ids[path] for path in weights.weights)
        return ResidentAdapter(
            key=key,
            rank=weights.rank,
            rows=rows,
            row_start=pages[0] * self.page_rows if contiguous else None,
            targets=targets,
            page_rows=self.page_rows,
            dora_slot=dora_slot,
        )

    def _free_device(self, key: AdapterKey, reason: str) -> None:
        entry = self._device.pop(key)
        self._free_pages.extend(entry.pages)
        self.evictions[reason] += 1

    # --- bookkeeping ------------------------------------------------------------------------------------
    def _forget(self, key: AdapterKey) -> None:
        self._drop_pin(key)
        weights = self._host.pop(key, None)
        if weights is not None:
            self._host_bytes -= weights.nbytes
        self._failed.pop(key, None)
        entry = self._device.get(key)
        if entry is not None and entry.users == 0:
            self._free_device(key, "device:replaced")

    def _drop_pin(self, key: AdapterKey) -> None:
        with self._lock:
            self._pinned.discard(key)

    def host_bytes(self) -> int:
        return self._host_bytes

    def device_pages_used(self) -> int:
        with self._lock:
            return sum(len(entry.pages) for entry in self._device.values())

    def resident(self) -> dict[str, list[str]]:
        with self._lock:
            return {
                "device": [f"{name}@{gen}" for name, gen in self._device],
                "host": [f"{name}@{gen}" for name, gen in self._host],
                "pinned": [f"{name}@{gen}" for name, gen in self._pinned],
            }

    def stats(self) -> dict:
        with self._lock:
            return {
                "registered": len(self._records),
                "host_resident": len(self._host),
                "host_bytes": self._host_bytes,
                "host_budget_bytes": self.host_budget_bytes,
                "device_resident": len(self._device),
                "device_pages_used": sum(len(entry.pages) for entry in self._device.values()),
                "device_pages_total": self.num_pages - 1,
                "device_bytes_per_page": self.lora.bytes_per_row() * self.page_rows,
                "loading": len(self._loading),
                "failed": len(self._failed),
                **{key: value for key, value in self.counters.items()},
                "evictions": dict(self.evictions),
                "disk_load": self.disk_load.summary(),
                "device_copy": self.device_copy.summary(),
            }

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until background loads finish (tests, benchmarks, preloading many adapters)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                futures = list(self._loading.values())
            if not futures:
                return
            for future in futures:
                future.result(timeout=max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _contiguous_run(sorted_pages: list[int], count: int) -> list[int] | None:
    start = 0
    for i in range(1, len(sorted_pages) + 1):
        if i == len(sorted_pages) or sorted_pages[i] != sorted_pages[i - 1] + 1:
            if i - start >= count:
                return sorted_pages[start : start + count]
            start = i
    return None
