"""The book's handle on Stripe: the official SDK client, plus what this connection knows.

A :class:`StripeSession` wraps one ``stripe.StripeClient`` (never the global
``stripe.api_key``), turns every ``stripe.StripeError`` into a :class:`BookError` that
carries Stripe's message, code, param, request id and HTTP status (and never the key),
and remembers what this connection has written, because Stripe's Search API may not show
those writes for up to a minute.

The SDK's own log (``STRIPE_LOG=debug`` or ``info``, or ``stripe.log``) holds whole response
bodies, and a server at a wrong ``api_base`` may echo the request's ``Authorization`` header
back in one: every line of it is masked (see :func:`_mask_the_sdk_log`).
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote_plus

import attrs
import stripe
from stripe import StripeResponse
from stripe import _util as stripe_util

from kognitos_books import BookError, CredentialsRejected, Record, Secret, mask

from .objects import Operation, StripeObject

#: operations that answer with a page of objects (read, and the next pages fetched, by
#: StripeSession.each)
PAGED = frozenset(("list", "search"))
#: Names ``raw_request`` takes as its own rather than as parameters to send; a request with
#: a parameter so named (a setup intent's ``usage``) goes through the service method.
RAW_REQUEST_OWN = frozenset(("base", "usage"))

BOOK = "stripe_pay"
DEFAULT_API_BASE = "https://api.stripe.com"
#: The SDK retries network failures, 409 and 5xx this many times, reusing the
#: idempotency key, so a retried POST cannot act twice.
MAX_NETWORK_RETRIES = 2
#: The SDK does not retry 429 (rate limited) answers at all; the book waits them out this
#: many times per request before reporting one. With the backoff below that is 20 to 40
#: seconds of a sustained limit.
RATE_LIMIT_RETRIES = 10
#: Backoff after a 429 without ``Retry-After``: doubling from the first delay up to the
#: most, each randomly shortened by up to half so that parallel requests spread out.
RATE_LIMIT_FIRST_DELAY = 0.5
RATE_LIMIT_MAX_DELAY = 5.0
#: The longest ``Retry-After`` honoured; a longer wait is better reported than hidden.
RETRY_AFTER_MAX = 60.0
#: The API version the SDK was generated for; pinned so responses match its types.
API_VERSION: str = stripe.api_version

#: Any Stripe key in a message (Stripe quotes part of a rejected key back).
_KEY = re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]+")
#: A bearer token, as an echoed ``Authorization`` header shows it (up to the end of the
#: header, or of the quoted or escaped text it is in); a shorter word after "Bearer" is
#: prose ("using Bearer auth", in Stripe's own message for a missing key).
_BEARER = re.compile(r"\b(Bearer\s+)([^\s'\"\\,;]{8,})", re.IGNORECASE)
_FIX_KEY = "check the key in the Stripe dashboard (Developers > API keys), then run: " \
           "kbooks install stripe_pay"


def scrub(text: str) -> str:
    """``text`` with every Stripe key and bearer token in it masked (``sk_test_…4242``)."""
    text = _BEARER.sub(lambda m: m.group(0) if "…" in m.group(2)  # (masked already)
                       else m.group(1) + mask(m.group(2)), text)
    return _KEY.sub(lambda m: mask(m.group(0)), text)


class _MaskKeys(logging.Filter):
    """Masks the keys and bearer tokens in every record of the ``stripe`` logger, before
    any handler (this process's, or an application's) sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # (logging would show the raw message and arguments instead)
            message = f"{record.msg} {record.args}"
        record.msg, record.args = scrub(message), ()
        return True


class _SdkConsole(logging.Handler):
    """Prints the ``stripe`` logger's lines (masked by then) on standard error, as the SDK
    prints its own: all of them when its setting (``stripe.log``, else ``STRIPE_LOG``) is
    ``debug``, from INFO up when it is ``info``, none otherwise."""

    def __init__(self, setting: Callable[[], str | None]) -> None:
        super().__init__()
        self.setting = setting

    def emit(self, record: logging.LogRecord) -> None:
        wanted = self.setting()
        if wanted == "debug" or (wanted == "info" and record.levelno >= logging.INFO):
            try:
                print(record.getMessage(), file=sys.stderr)
            except Exception:
                self.handleError(record)


#: The SDK's own reading of its log setting, kept when it no longer prints (see below).
_sdk_setting: Callable[[], str | None] | None = None
_SDK_LOG_LOCK = threading.Lock()
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def _mask_the_sdk_log() -> None:
    """Have every line the SDK logs masked, wherever it goes (set up once a process).

    The SDK writes each line to the ``stripe`` logger and, when its setting asks for it
    (``stripe.log``, else ``STRIPE_LOG``), prints it on standard error itself, past any
    filter. So its own printing is turned off (it asks ``_console_log_level()`` before each
    line), and a handler of the logger prints instead, behind the filter that masks keys.
    Each connection made opens the logger to the level the setting asks for at the time.
    """
    global _sdk_setting
    logger = stripe_util.logger
    with _SDK_LOG_LOCK:
        if _sdk_setting is None:
            _sdk_setting = stripe_util._console_log_level
            stripe_util._console_log_level = lambda: None  # the SDK prints nothing itself
            logger.addFilter(_MaskKeys())
            logger.addHandler(_SdkConsole(_sdk_setting))
        wanted = _LEVELS.get(_sdk_setting() or "")
        if wanted is not None and logger.getEffectiveLevel() > wanted:
            logger.setLevel(wanted)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A response header by name in any case (the SDK's clients differ in how they keep
    them)."""
    if not headers:
        return None
    found = headers.get(name)
    if found is not None:
        return found
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


class RateLimitPatience(stripe.HTTPClient):
    """Wraps the SDK's HTTP client so that a 429 is waited out instead of failing the call.

    The SDK retries connection errors, 409 and 5xx but never a plain 429, and a bulk run
    at the account's limit meets one now and then. Each 429 is retried up to ``retries``
    times, after ``Retry-After`` when Stripe sends it, else after a jittered exponential
    backoff; ``Stripe-Should-Retry: false`` is obeyed. A refused request changed nothing
    (Stripe does not keep a 429 under the idempotency key), so repeating it is safe. These
    retries sit below the SDK's own and do not use up ``max_network_retries``.
    """

    def __init__(self, inner: stripe.HTTPClient, retries: int | None = None, *,
                 first_delay: float | None = None, max_delay: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.inner = inner
        # Read the module's settings now rather than at import, so they can be tuned.
        self.retries = RATE_LIMIT_RETRIES if retries is None else retries
        self.first_delay = RATE_LIMIT_FIRST_DELAY if first_delay is None else first_delay
        self.max_delay = RATE_LIMIT_MAX_DELAY if max_delay is None else max_delay
        self.sleep = sleep
        #: 429s waited out so far, by every thread using this client
        self.waited = 0
        self._count_lock = threading.Lock()

    @property  # the SDK reports its HTTP library's name in its user agent
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    def delay(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        """Seconds to wait before repeating a request refused for the ``attempt``-th time
        (0-based)."""
        after = _header(headers, "Retry-After")
        if after is not None:
            try:
                return min(max(float(after), 0.0), RETRY_AFTER_MAX)
            except ValueError:
                pass  # an HTTP date: Stripe sends seconds; fall back to the backoff
        ceiling = min(self.first_delay * 2 ** attempt, self.max_delay)
        return ceiling * random.uniform(0.5, 1.0)

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage: list[str] | None = None
                ) -> tuple[str, int, Mapping[str, str]]:
        attempt = 0
        while True:
            # (the SDK's concrete clients take no _usage; the signature mirrors the base's)
            content, status, rheaders = self.inner.request(method, url, headers, post_data)
            if (status != 429 or attempt >= self.retries
                    or _header(rheaders, "Stripe-Should-Retry") == "false"):
                return content, status, rheaders
            with self._count_lock:
                self.waited += 1
            self.sleep(self.delay(attempt, rheaders))
            attempt += 1

    def request_stream(self, method: str, url: str, headers: Mapping[str, str] | None,
                       post_data: Any = None, *, _usage: list[str] | None = None
                       ) -> tuple[Any, int, Mapping[str, str]]:
        return self.inner.request_stream(method, url, headers, post_data)

    def close(self) -> None:
        self.inner.close()


def _passing(status: int | None, headers: Mapping[str, str] | None) -> bool:
    """Whether a refusal may go away when the same request is sent again: what Stripe says in
    ``Stripe-Should-Retry``, else a conflict (409), a rate limit (429) or a server error
    (5xx), as the SDK itself judges; the idempotency key makes the repeat safe."""
    should = _header(headers, "Stripe-Should-Retry")
    if should in ("true", "false"):
        return should == "true"
    return status is not None and (status in (409, 429) or status >= 500)


def _refused(status: int | None, headers: Mapping[str, str] | None) -> bool:
    """Whether Stripe refused a request outright, so that it took no effect: a 4xx answer
    other than a conflict (409) or a rate limit (429) that Stripe does not call worth
    retrying. (Stripe keeps such an answer under the idempotency key for 24 hours, so the
    same request with the same key would only be refused again.)"""
    return (status is not None and 400 <= status < 500 and status not in (409, 429)
            and not _passing(status, headers))


@attrs.frozen
class Page:
    """The first answer of a list or search, and what asks for the next ones."""

    path: str
    params: dict[str, Any]
    search: bool
    first: StripeResponse = attrs.field(repr=False)


def _plain(obj: StripeResponse | dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """What Stripe sent as plain JSON values, and the JSON text they were read from: a
    whole answer, or an item of a page (read from its page's text by each(): no text)."""
    if isinstance(obj, StripeResponse):
        return json.loads(obj.body), obj.body
    return obj, None


def mode_of(key: str) -> str:
    """``live`` for live keys, ``test`` otherwise (the sandbox takes test keys)."""
    return "live" if key.startswith(("sk_live_", "rk_live_")) else "test"


@attrs.define(eq=False)
class StripeSession:
    """A ready Stripe client for one connection.

    ``written`` holds the nouns this connection created, changed or deleted;
    ``invoice_customers`` and ``invoice_currencies`` the customer and currency of each
    invoice it has seen (neither ever changes), so adding an item needs no extra request
    to learn them;
    ``finalized_invoices`` the status of each invoice it has seen leave draft (no invoice
    ever returns to draft), so what only a draft allows is refused without a request.
    ``rate_limit_retries`` is how often a 429 is waited out (see
    :class:`RateLimitPatience`); by default :data:`RATE_LIMIT_RETRIES`, or none at all
    when ``max_network_retries`` is 0.
    """

    key: Secret = attrs.field(repr=False)
    api_base: str = DEFAULT_API_BASE
    max_network_retries: int = MAX_NETWORK_RETRIES
    http_client: Any = attrs.field(default=None, repr=False)
    rate_limit_retries: int | None = None
    sdk: stripe.StripeClient = attrs.field(init=False, repr=False)
    written: set[str] = attrs.field(factory=set)
    invoice_customers: dict[str, str] = attrs.field(factory=dict, repr=False)
    invoice_currencies: dict[str, str] = attrs.field(factory=dict, repr=False)
    finalized_invoices: dict[str, str] = attrs.field(factory=dict, repr=False)

    def __attrs_post_init__(self) -> None:
        _mask_the_sdk_log()
        if self.rate_limit_retries is None:
            self.rate_limit_retries = RATE_LIMIT_RETRIES if self.max_network_retries else 0
        http = self.http_client
        if self.rate_limit_retries > 0:
            http = RateLimitPatience(http or stripe.new_default_http_client(),
                                     self.rate_limit_retries)
        self.sdk = stripe.StripeClient(
            self.key.reveal(),
            base_addresses={"api": self.api_base},
            max_network_retries=self.max_network_retries,
            stripe_version=API_VERSION,
            http_client=http,
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
            self.sdk.raw_request("get", "/v1/customers", limit=1)
        except stripe.AuthenticationError:
            raise CredentialsRejected(f"Stripe rejected the API key {self.key.masked}",
                                      hint=_FIX_KEY) from None
        except stripe.PermissionError:
            return
        except stripe.StripeError as exc:
            raise self.error(exc) from None

    # ------------------------------------------------------------------ requests

    def send(self, row: StripeObject, operation: str, *args: Any,
             params: Mapping[str, Any] | None = None, idempotency_key: str | None = None,
             hint: Callable[[BookError], str | None] | None = None) -> Any:
        """Call ``operation`` (``create``, ``send``...) of ``row``'s SDK service.

        ``hint`` may add advice to a refusal (e.g. "void it instead").
        """
        found = row.operation(operation)
        # The SDK's raw_request sends exactly what the service method would (same encoding,
        # retries, errors) and hands back the response, which the book reads itself,
        # instead of first building the SDK's object tree (about a fifth of each request's
        # time on the client, which a bulk run of thousands feels). The inputs are the
        # operation's own parameters (checked against the SDK's), none of which is named
        # like one of raw_request's options. A page is read, and the next ones fetched, by
        # each().
        parent, given = found.split(dict(params or {}))
        if found.path_parent and parent is None:
            raise BookError(f"{row.plural} are reached through their {row.parent}: name the "
                            f"{row.parent}", hint=f"add: the {row.parent} is ...")
        request = dict(given)
        if idempotency_key:
            request["idempotency_key"] = idempotency_key
        path = found.url_path(quote_plus(args[0]) if args else None,
                              quote_plus(parent) if parent else None)
        if parent is not None:
            args = (parent, *args)  # (the service method takes the parent's id first)
        try:
            if RAW_REQUEST_OWN & request.keys():
                answer = self._by_service(found, args, given, idempotency_key)
            else:
                answer = self.sdk.raw_request(found.http.lower(), path, **request)
            if found.method in PAGED:
                return Page(path, request, found.method == "search", answer)
            return answer
        except stripe.StripeError as exc:
            error = self.error(exc)
            if hint is not None and error.hint is None:
                error.hint = hint(error)
            raise error from None

    def _by_service(self, found: Operation, args: tuple[Any, ...], params: dict[str, Any],
                    idempotency_key: str | None) -> StripeResponse:
        """Send through the SDK's service method (same request; the SDK builds its object,
        whose response the book reads as it reads raw_request's)."""
        service: Any = self.sdk.v1
        for part in found.service.split("."):
            service = getattr(service, part)
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        result = getattr(service, found.method)(*args, params=params, options=options)
        response: StripeResponse = result.last_response
        return response

    def each(self, page: Page) -> Iterator[dict[str, Any]]:
        """Every object of a list or search result, fetching later pages as consumed (a
        list after its last object's id, a search with the ``next_page`` Stripe gave)."""
        try:
            answer, params = page.first, dict(page.params)
            while True:
                body = json.loads(answer.body)
                items = body.get("data") or []
                yield from items
                if not body.get("has_more") or not items:
                    return
                if page.search:
                    if not body.get("next_page"):
                        return
                    params["page"] = body["next_page"]
                else:
                    params["starting_after"] = items[-1]["id"]
                answer = self.sdk.raw_request("get", page.path, **params)
        except stripe.StripeError as exc:
            raise self.error(exc) from None

    def wrote(self, *nouns: str) -> None:
        self.written.update(nouns)

    def record(self, row: StripeObject, obj: StripeResponse | dict[str, Any]) -> Record:
        """A Stripe object as a :class:`Record` of plain values."""
        data, text = _plain(obj)
        if data.get("object") == "invoice":
            if isinstance(data.get("customer"), str):
                self.invoice_customers[data["id"]] = data["customer"]
            if isinstance(data.get("currency"), str):
                self.invoice_currencies[data["id"]] = data["currency"]
            if data.get("status") not in (None, "draft"):
                self.finalized_invoices[data["id"]] = data["status"]
        return Record(book=BOOK, noun=row.noun, id=data.get("id"), data=data, text=text)

    # ------------------------------------------------------------------ errors

    def error(self, exc: stripe.StripeError) -> BookError:
        """Stripe's refusal or failure as a :class:`BookError`, the key never shown."""
        text = self._scrub(exc.user_message or str(exc) or type(exc).__name__)
        if isinstance(exc, stripe.APIConnectionError):
            return BookError(f"could not reach Stripe at {self.api_base}: {text}",
                             hint="check the network, or the api_base setting",
                             retryable=bool(getattr(exc, "should_retry", False)))
        hint = None
        if isinstance(exc, stripe.AuthenticationError):
            text = f"Stripe rejected the API key {self.key.masked}: {text}"
            hint = _FIX_KEY
        elif isinstance(exc, stripe.PermissionError):
            hint = "the key is restricted; give it this permission in the Stripe dashboard"
        elif isinstance(exc, stripe.RateLimitError):
            hint = ("Stripe kept rate limiting this account; wait a moment and run again "
                    "(kbooks run --rate sets a lower pace)")
        error = exc.error
        decline = getattr(error, "decline_code", None) if error else None
        if isinstance(exc, stripe.CardError) and decline:
            # the issuer's reason: insufficient_funds, lost_card, ...
            text = f"{text} (decline code {decline})"
            hint = "try another payment method, or ask the customer to update theirs"
        return BookError(
            text,
            code=exc.code or (getattr(error, "code", None) if error else None),
            param=getattr(error, "param", None) if error else None,
            request_id=exc.request_id,
            status=exc.http_status,
            hint=hint,
            retryable=_passing(exc.http_status, exc.headers),
            refused=_refused(exc.http_status, exc.headers),
        )

    def _scrub(self, text: str) -> str:
        return scrub(text.replace(self.key.reveal(), self.key.masked))
