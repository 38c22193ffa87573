"""One engine per web process, started on first use, shared by the playground and the API.

The engine is created lazily (not at import: migrations and management commands must not load a
model) and registers a published adapter the first time a request needs it, so a model published
or republished in any process is servable in every process without a restart. Adapter names carry
the published version (`api-name@3`), so a republished adapter never serves stale cached weights.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from inference.engine import Engine
    from inference.request import Request
    from inference.sampling import SamplingParams
    from modelfactory.catalog.models import PublishedModel

logger = logging.getLogger(__name__)

_engine: Engine | None = None
_lock = threading.Lock()


def engine() -> Engine:
    """The process's engine, started on first call."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                from inference.engine import Engine

                logger.info("starting the serving engine on %s", settings.MODELFACTORY_BASE_MODEL)
                _engine = Engine(
                    settings.MODELFACTORY_BASE_MODEL,
                    kv_cache_bytes=settings.MODELFACTORY_ENGINE_KV_CACHE_MB * 2**20,
                    max_num_seqs=settings.MODELFACTORY_ENGINE_MAX_SEQS,
                    max_rank=settings.MODELFACTORY_ADAPTER_MAX_RANK,
                    device_adapter_budget_bytes=(settings.MODELFACTORY_ENGINE_DEVICE_ADAPTER_MB * 2**20)
                    or None,
                    host_adapter_budget_bytes=settings.MODELFACTORY_ENGINE_HOST_ADAPTER_MB * 2**20,
                ).start()
    return _engine


def engine_if_started() -> Engine | None:
    return _engine


def shutdown() -> None:
    global _engine
    with _lock:
        if _engine is not None:
            _engine.stop()
            _engine = None


def _ensure_registered(running: Engine, published: PublishedModel) -> str:
    from inference.errors import AdapterNotFound

    name = published.engine_name
    try:
        running.adapters.resolve(name)
    except AdapterNotFound:
        running.register_adapter(name, published.adapter_path)
    return name


def chat_prompt(messages: list[dict[str, str]]) -> str:
    """Render a chat with the base model's own template, ready for the assistant's turn."""
    return engine().tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def request_for(
    published: PublishedModel,
    *,
    sampling: SamplingParams,
    prompt: str | None = None,
    prompt_token_ids: list[int] | None = None,
) -> Request:
    """The engine request that serves `published` (base, adapter or composite merge) for the prompt, given
    as text or as token ids."""
    from inference.request import Request
    from modelfactory.catalog.models import PublishedModel as Published

    running = engine()
    given = {"prompt": prompt, "prompt_token_ids": prompt_token_ids, "sampling": sampling}
    if published.kind == Published.Kind.BASE:
        return Request(**given)
    if published.kind == Published.Kind.ADAPTER:
        return Request(adapter=_ensure_registered(running, published), **given)
    parts = Published.objects.filter(api_name__in=[name for name, _ in published.recipe["adapters"]])
    by_name = {part.api_name: part for part in parts}
    adapters = [
        (_ensure_registered(running, by_name[name]), float(weight))
        for name, weight in published.recipe["adapters"]
    ]
    return Request(
        adapters=adapters,
        merge=published.recipe.get("method", "linear"),
        density=float(published.recipe.get("density", 1.0)),
        **given,
    )
