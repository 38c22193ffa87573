"""The one table of domain errors (`modelfactory.domain_errors`), in OpenAI's error shapes, mapped once.

A status means the same on the API as on the pages, with one exception OpenAI's clients need: a balance
too low is their `insufficient_quota` (429, which they raise as RateLimitError), not a 402 they do not know.
"""

from __future__ import annotations

from modelfactory.accounts.errors import Throttled
from modelfactory.api.errors import (
    ApiError,
    Conflict,
    InsufficientQuota,
    InvalidParameter,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from modelfactory.domain_errors import status_for


def api_error_for(error: BaseException) -> ApiError | None:
    """The `ApiError` a domain error is on the API, or None when it is not a domain error (a 500)."""
    status = status_for(error)
    message = str(error)
    param = getattr(error, "param", None) or getattr(error, "field", None)
    if status == 400:
        return InvalidParameter(message, param=param)
    if status == 402:
        return InsufficientQuota(message)
    if status == 403:
        return PermissionDenied(message, param=param)
    if status == 404:
        return NotFound(message, param=param, code=getattr(error, "code", None))
    if status == 409:
        return Conflict(message)
    if status == 429:
        code = error.code if isinstance(error, Throttled) else None
        return RateLimited(message, retry_after_s=getattr(error, "retry_after_s", 1), code=code)
    return None
