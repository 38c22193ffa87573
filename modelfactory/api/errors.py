"""Errors of the API, each carrying the HTTP status and the fields of OpenAI's error object.

Services and views raise these; `views.error_response` turns them into
`{"error": {"message", "type", "param", "code"}}` with the status the official clients map to their
exception classes (401 AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, ...).
"""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    type = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidParameter(ApiError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_parameter"


class InvalidApiKey(ApiError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(ApiError):
    status = 403
    type = "invalid_request_error"
    code = "permission_denied"


class NotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class MethodNotAllowed(ApiError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class Conflict(ApiError):
    """The thing is in a state that does not allow this now (a limit held, a job still running)."""

    status = 409
    type = "invalid_request_error"
    code = "conflict"


class RateLimited(ApiError):
    status = 429
    type = "requests"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class InsufficientQuota(ApiError):
    """The caller's prepaid balance cannot cover the answer's maximum price: OpenAI's own shape for an
    exhausted quota (429 `insufficient_quota`, which its clients raise as RateLimitError)."""

    status = 429
    type = "insufficient_quota"
    code = "insufficient_quota"


class Unavailable(ApiError):
    status = 503
    type = "server_error"
    code = "engine_unavailable"


class ApiKeyNotFound(Exception):
    """A domain error of the key pages, not an `ApiError`: no key by that id among the person's own."""


class ApiFileNotFound(Exception):
    """A domain error: no file by that id among the caller's own (another person's file is as absent).
    ``param`` names the request field that gave the id (``training_file``), if one did."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ApiFileRefused(Exception):
    """A domain error: an uploaded file that cannot become training data (a wrong purpose or type, rows
    that break the rules, over a limit); the message names what to fix (rows by their line numbers)."""

    def __init__(self, message: str, *, param: str | None = "file") -> None:
        super().__init__(message)
        self.param = param
