"""Celery's side of the logs: each task's lines carry its id and name, in JSON when asked.

Connected in `modelfactory/celery.py`. The task's id and name go into the log context when it starts
(`task_prerun`, in the thread that runs it, whatever the pool) and out when it ends (`task_postrun`).
Celery sets up its own handlers on the root and task loggers when a worker or beat starts; with
`MODELFACTORY_LOG_FORMAT=json` their formatter is swapped for ours once they exist
(`after_setup_logger`, `after_setup_task_logger`), so Celery's own lines (received, succeeded, retried,
failed with its traceback) are JSON lines too.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from contextvars import Token

from django.conf import settings

from modelfactory.observability import log_context
from modelfactory.observability.json_logs import JsonFormatter

_tokens: dict[str, Token] = {}
_tokens_lock = threading.Lock()


def task_started(task_id: str | None = None, task=None, **_kwargs) -> None:
    token = log_context.begin(task_id=task_id, task_name=getattr(task, "name", None))
    with _tokens_lock:
        _tokens[str(task_id)] = token


def task_ended(task_id: str | None = None, **_kwargs) -> None:
    with _tokens_lock:
        token = _tokens.pop(str(task_id), None)
    if token is not None:
        # ended from another context than it began in (never with Celery's pools): leave that one alone
        with contextlib.suppress(ValueError):
            log_context.end(token)


def use_json_format(logger: logging.Logger | None = None, **_kwargs) -> None:
    if settings.MODELFACTORY_LOG_FORMAT != "json" or logger is None:
        return
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
