"""Domain errors become HTTP here, and nowhere else: one table, used by the pages and mapped once for the API.

Services and selectors raise errors that say what was wrong (`NotDatanetOwner`, `JobNotFound`, ...), each
defined in its app's `errors.py`. `STATUS_FOR` gives each its status; `DomainErrorMiddleware` renders it as
a page (or as JSON to a page's own `fetch`), and `modelfactory.api.errors.api_error_for` gives the same
error OpenAI's shape. A view never picks a status for a domain error itself (a test reads them for it).

**What a person may not see is not there.** Two kinds of thing, one rule each:
- Things whose existence is public (listed datanets, epochs, receipts, models in the catalog): a missing
  one is 404; one the person may not act on is 403 with what to do (ask for access, ask the owner).
- Things private to a person or an allow-list (jobs, uploads, API keys, conversations, withdrawals, adapter
  imports, private models): another person's is 404 in the very words a missing one gets, so an id or a
  name probed from outside tells nothing. The selectors that find these raise the `...NotFound` error for
  both cases, so no caller can tell them apart by accident.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from datanets.errors import (
    DatanetAccessDenied,
    DatanetInvalid,
    DatanetItemNotFound,
    DatanetNotFound,
    NotDatanetOwner,
    UploadRefused,
)
from modelfactory.accounts.errors import DevelopmentAccountRefused, LimitReached, Throttled
from modelfactory.api.errors import ApiFileNotFound, ApiFileRefused, ApiKeyNotFound
from modelfactory.billing.errors import BillingError, InsufficientBalance
from modelfactory.catalog.errors import (
    AdapterImportNotFound,
    AdapterImportRefused,
    ModelNotFound,
    PublishRefused,
)
from modelfactory.finetuning.errors import ArtifactNotReady, JobNotFound, JobRefused, NotJobOwner
from modelfactory.ledger.errors import (
    ClaimRefused,
    EpochNotFound,
    PayoutNotFound,
    ReceiptNotFound,
    WalletVerificationFailed,
)
from modelfactory.playground.errors import ConversationTooLong, InvalidSettings, PlaygroundItemNotFound
from modelfactory.vault.errors import WithdrawalNotFound, WithdrawalRefused

STATUS_FOR: dict[type[Exception], int] = {
    # Asked wrongly: the message names what to change.
    UploadRefused: 400,
    DatanetInvalid: 400,
    InvalidSettings: 400,
    ConversationTooLong: 400,
    PublishRefused: 400,
    AdapterImportRefused: 400,
    WalletVerificationFailed: 400,
    WithdrawalRefused: 400,
    ApiFileRefused: 400,
    DevelopmentAccountRefused: 400,
    BillingError: 400,  # its subclasses say more (a balance too low is 402)
    # Cannot pay for it.
    InsufficientBalance: 402,
    # Public thing, not yours to act on.
    DatanetAccessDenied: 403,
    NotDatanetOwner: 403,
    NotJobOwner: 403,
    # Not there, or not yours to see: the same.
    DatanetNotFound: 404,
    DatanetItemNotFound: 404,
    ModelNotFound: 404,
    AdapterImportNotFound: 404,
    JobNotFound: 404,
    ArtifactNotReady: 404,
    PlaygroundItemNotFound: 404,
    EpochNotFound: 404,
    ReceiptNotFound: 404,
    PayoutNotFound: 404,
    WithdrawalNotFound: 404,
    ApiKeyNotFound: 404,
    ApiFileNotFound: 404,
    # In a state that does not allow it now: finish or remove something first.
    JobRefused: 409,
    LimitReached: 409,
    ClaimRefused: 409,
    # Too much too fast: Retry-After says when.
    Throttled: 429,
}

TITLES = {
    400: "Cannot do that",
    402: "Balance too low",
    403: "Not allowed",
    404: "Not found",
    409: "Not now",
    429: "Slow down",
}


def status_for(error: BaseException) -> int | None:
    """The status of a domain error (its most specific class in the table wins), None for any other."""
    for kind in type(error).__mro__:
        if kind in STATUS_FOR:
            return STATUS_FOR[kind]
    return None


def retry_after_s(error: BaseException) -> int | None:
    """Seconds until a refused request may succeed, for the Retry-After header, where the error knows."""
    return getattr(error, "retry_after_s", None)


def answers_json(view: Callable) -> Callable:
    """Marks a view whose answers are JSON (the playground's send and stop): its refusals are JSON too."""
    view.answers_json = True
    return view


def wants_json(request: HttpRequest) -> bool:
    """A page's own `fetch` asks for JSON (the playground, the live job page), or the view answers JSON
    (`answers_json`); a browser asks for HTML."""
    return getattr(request, "view_answers_json", False) or request.headers.get("Accept", "").startswith(
        "application/json"
    )


def error_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    """The one rendering of a refused page request: the error page, or `{"error": ...}` for scripts."""
    reason, status = str(error), status_for(error) or 400
    if wants_json(request):
        body = {"error": reason}
        if isinstance(error, InsufficientBalance):  # the page links to where to deposit
            body["deposit_url"] = error.deposit_path
        response: HttpResponse = JsonResponse(body, status=status)
    elif isinstance(error, DatanetAccessDenied) and error.datanet is not None:
        response = _locked_datanet_page(request, error.datanet, status)
    else:
        title = TITLES.get(status, "Cannot do that")
        response = render(
            request, "error.html", {"status": status, "title": title, "reason": reason}, status=status
        )
    return refusal_response(response, error)


def _locked_datanet_page(request: HttpRequest, datanet, status: int) -> HttpResponse:
    """A permissioned datanet's own 403: whose it is, and the form to ask for access."""
    from datanets.selectors import access_request_of

    context = {"datanet": datanet, "access_request": access_request_of(request.user, datanet)}
    return render(request, "datanets/locked.html", context, status=status)


def refusal_response(response: HttpResponse, error: BaseException, *, in_place: bool = False) -> HttpResponse:
    """A page that shows a refusal itself (a form with the reason above it) gets the error's status and
    Retry-After from the table, as the error page would. `in_place`: a fragment htmx swaps into the page
    stays 200, because htmx swaps only 2xx answers; Retry-After still says when."""
    response.status_code = 200 if in_place else status_for(error) or 400
    return with_retry_after(response, error)


def with_retry_after(response: HttpResponse, error: BaseException) -> HttpResponse:
    """The one place Retry-After is written, for pages and the API alike, where the error knows when."""
    if (retry := retry_after_s(error)) is not None:
        response["Retry-After"] = str(retry)
    return response


class DomainErrorMiddleware:
    """Renders every domain error a page view lets through; anything else stays a 500."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args, view_kwargs) -> None:
        request.view_answers_json = getattr(view_func, "answers_json", False)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return None if status_for(exception) is None else error_response(request, exception)
