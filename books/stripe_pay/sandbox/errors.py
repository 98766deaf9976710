"""Stripe-shaped API errors raised by the sandbox's models and request handling.

Every refusal the sandbox makes is an :class:`ApiError`; the server renders it as Stripe does:
``{"error": {"type", "code", "message", "param", "doc_url", ...}}`` with the matching HTTP status.
"""

from __future__ import annotations

from typing import Any

import attrs

DOCS_ERROR_CODES = "https://stripe.com/docs/error-codes/"


@attrs.define(auto_exc=True, eq=False)
class ApiError(Exception):
    """An error answer: HTTP ``status`` plus the fields of Stripe's error object.

    ``stored`` says whether an idempotent request that ends in this error records it for replay.
    Stripe replays errors raised once an endpoint has started executing, but not requests refused
    before that (bad parameters, authentication, rate limits), so those are retried afresh.
    ``keeps_changes``: what the operation changed before failing stands (a declined payment
    still counts its attempt); otherwise a failed operation changes nothing. ``extra`` holds
    the other fields of the error object (a card error's ``charge`` and ``payment_intent``).
    """

    status: int
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    decline_code: str | None = None
    stored: bool = True
    headers: dict[str, str] = attrs.field(factory=dict)
    keeps_changes: bool = False
    extra: dict[str, Any] = attrs.field(factory=dict)

    def body(self, request_log_url: str | None = None) -> dict[str, Any]:
        """The JSON body Stripe sends for this error (absent fields left out, as Stripe does)."""
        error: dict[str, Any] = {}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = DOCS_ERROR_CODES + self.code.replace("_", "-")
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        error["message"] = self.message
        if self.param is not None:
            error["param"] = self.param
        error.update(self.extra)
        if request_log_url is not None:
            error["request_log_url"] = request_log_url
        error["type"] = self.type
        return {"error": error}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> ApiError:
    """A 400 ``invalid_request_error`` from the endpoint's own rules (replayed on retry)."""
    return ApiError(status=status, type="invalid_request_error", message=message, code=code,
                    param=param)


def bad_parameter(message: str, *, param: str | None, code: str | None = None) -> ApiError:
    """A 400 for a malformed request: not recorded under its idempotency key, like Stripe."""
    return ApiError(status=400, type="invalid_request_error", message=message, code=code,
                    param=param, stored=False)


def no_such(kind: str, object_id: str, *, param: str = "id", status: int | None = None) -> ApiError:
    """Stripe's ``resource_missing``: 404 when the id is in the path, 400 when it is a parameter."""
    if status is None:
        status = 404 if param == "id" else 400
    return ApiError(status=status, type="invalid_request_error", code="resource_missing",
                    message=f"No such {kind}: '{object_id}'", param=param)


def unrecognized_url(method: str, path: str) -> ApiError:
    """The 404 Stripe gives for a path (or method on a path) it does not serve."""
    return ApiError(
        status=404,
        type="invalid_request_error",
        message=(
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/."
        ),
        stored=False,
    )
