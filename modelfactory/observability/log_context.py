"""The facts of the request or task being handled, which every log line it writes carries.

One mutable mapping per request or task, held in a context variable: `asgiref` copies contexts into the
threads that run sync code for an async view (and back), so a field bound in any of them (the API binds
the key's user once it is known, the model once the answer starts) is seen by every line of the request,
the middleware's closing request line included.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

FIELDS = ("request_id", "user_id", "model", "receipt_id", "task_id", "task_name")
"""What a log line may carry; documented in README ("Logs")."""

_current: ContextVar[dict | None] = ContextVar("modelfactory_log_context", default=None)


def begin(**fields: object) -> Token:
    """Start a fresh context (a request arrives, a task starts); pass the token to `end`."""
    return _current.set(_known(fields))


def end(token: Token) -> None:
    _current.reset(token)


def bind(**fields: object) -> None:
    """Add facts to the current request's or task's context (outside one: to this context only)."""
    current = _current.get()
    if current is None:
        current = {}
        _current.set(current)
    current.update(_known(fields))


def current() -> dict:
    """A copy of the fields bound now; empty outside a request or task."""
    return dict(_current.get() or {})


def _known(fields: dict) -> dict:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not log context fields: {', '.join(sorted(unknown))}")
    return {name: value for name, value in fields.items() if value is not None and value != ""}
