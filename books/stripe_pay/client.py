"""The book's handle on Stripe: the official SDK client, plus what this connection knows.

A :class:`StripeSession` wraps one ``stripe.StripeClient`` (never the global
``stripe.api_key``), turns every ``stripe.StripeError`` into a :class:`BookError` that
carries Stripe's message, code, param, request id and HTTP status (and never the key),
and remembers what this connection has written, because Stripe's Search API may not show
those writes for up to a minute.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import stripe

from kognitos_books import BookError, CredentialsRejected, Record, Secret, mask

from .objects import StripeObject

BOOK = "stripe_pay"
DEFAULT_API_BASE = "https://api.stripe.com"
#: The SDK retries network failures, 409, 429 and 5xx this many times, reusing the
#: idempotency key, so a retried POST cannot act twice.
MAX_NETWORK_RETRIES = 2
#: The API version the SDK was generated for; pinned so responses match its types.
API_VERSION: str = stripe.api_version

#: Any Stripe key in a message (Stripe quotes part of a rejected key back).
_KEY = re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]+")
_FIX_KEY = "check the key in the Stripe dashboard (Developers > API keys), then run: " \
           "kbooks install stripe_pay"


def mode_of(key: str) -> str:
    """``live`` for live keys, ``test`` otherwise (the sandbox takes test keys)."""
    return "live" if key.startswith(("sk_live_", "rk_live_")) else "test"


@attrs.define(eq=False)
class StripeSession:
    """A ready Stripe client for one connection.

    ``written`` holds the nouns this connection created, changed or deleted;
    ``invoice_customers`` the customer of each invoice it has seen (an invoice's customer
    never changes), so adding an item needs no extra request to learn it;
    ``finalized_invoices`` the status of each invoice it has seen leave draft (no invoice
    ever returns to draft), so what only a draft allows is refused without a request.
    """

    key: Secret = attrs.field(repr=False)
    api_base: str = DEFAULT_API_BASE
    max_network_retries: int = MAX_NETWORK_RETRIES
    http_client: Any = attrs.field(default=None, repr=False)
    sdk: stripe.StripeClient = attrs.field(init=False, repr=False)
    written: set[str] = attrs.field(factory=set)
    invoice_customers: dict[str, str] = attrs.field(factory=dict, repr=False)
    finalized_invoices: dict[str, str] = attrs.field(factory=dict, repr=False)

    def __attrs_post_init__(self) -> None:
        self.sdk = stripe.StripeClient(
            self.key.reveal(),
            base_addresses={"api": self.api_base},
            max_network_retries=self.max_network_retries,
            stripe_version=API_VERSION,
            http_client=self.http_client,
        )

    @property
    def mode(self) -> str:
        return mode_of(self.key.reveal())

    def verify(self) -> None:
        """Prove the key works with one cheap request: ``GET /v1/customers?limit=1``.

        A 401 means Stripe does not know the key. A 403 means the key is genuine but
        restricted without read access to customers; it is accepted, and each call shows
        what the key may not do.
        """
        try:
            self.sdk.v1.customers.list({"limit": 1})
        except stripe.AuthenticationError:
            raise CredentialsRejected(f"Stripe rejected the API key {self.key.masked}",
                                      hint=_FIX_KEY) from None
        except stripe.PermissionError:
            return
        except stripe.StripeError as exc:
            raise self.error(exc) from None

    # ------------------------------------------------------------------ requests

    def service(self, row: StripeObject) -> Any:
        return getattr(self.sdk.v1, row.service)

    def send(self, row: StripeObject, operation: str, *args: Any,
             params: Mapping[str, Any] | None = None, idempotency_key: str | None = None,
             hint: Callable[[BookError], str | None] | None = None) -> Any:
        """Call ``operation`` (``create``, ``send``...) of ``row``'s SDK service.

        ``hint`` may add advice to a refusal (e.g. "void it instead").
        """
        method = getattr(self.service(row), row.operation(operation).method)
        options = {"idempotency_key": idempotency_key} if idempotency_key else None
        try:
            if options:
                return method(*args, params=dict(params or {}), options=options)
            return method(*args, params=dict(params or {}))
        except stripe.StripeError as exc:
            error = self.error(exc)
            if hint is not None and error.hint is None:
                error.hint = hint(error)
            raise error from None

    def each(self, page: Any) -> Iterator[Any]:
        """Every object of a list or search result, fetching later pages as consumed."""
        try:
            yield from page.auto_paging_iter()
        except stripe.StripeError as exc:
            raise self.error(exc) from None

    def wrote(self, *nouns: str) -> None:
        self.written.update(nouns)

    def record(self, row: StripeObject, obj: Any) -> Record:
        """A Stripe object as a :class:`Record` of plain values."""
        data = obj.to_dict(for_json=True) if hasattr(obj, "to_dict") else dict(obj)
        if data.get("object") == "invoice":
            if isinstance(data.get("customer"), str):
                self.invoice_customers[data["id"]] = data["customer"]
            if data.get("status") not in (None, "draft"):
                self.finalized_invoices[data["id"]] = data["status"]
        return Record(book=BOOK, noun=row.noun, id=data.get("id"), data=data)

    # ------------------------------------------------------------------ errors

    def error(self, exc: stripe.StripeError) -> BookError:
        """Stripe's refusal or failure as a :class:`BookError`, the key never shown."""
        text = self._scrub(exc.user_message or str(exc) or type(exc).__name__)
        if isinstance(exc, stripe.APIConnectionError):
            return BookError(f"could not reach Stripe at {self.api_base}: {text}",
                             hint="check the network, or the api_base setting")
        hint = None
        if isinstance(exc, stripe.AuthenticationError):
            text = f"Stripe rejected the API key {self.key.masked}: {text}"
            hint = _FIX_KEY
        elif isinstance(exc, stripe.PermissionError):
            hint = "the key is restricted; give it this permission in the Stripe dashboard"
        elif isinstance(exc, stripe.RateLimitError):
            hint = "Stripe is rate limiting this account; wait a moment and run again"
        error = exc.error
        return BookError(
            text,
            code=exc.code or (getattr(error, "code", None) if error else None),
            param=getattr(error, "param", None) if error else None,
            request_id=exc.request_id,
            status=exc.http_status,
            hint=hint,
        )

    def _scrub(self, text: str) -> str:
        text = text.replace(self.key.reveal(), self.key.masked)
        return _KEY.sub(lambda m: mask(m.group(0)), text)
