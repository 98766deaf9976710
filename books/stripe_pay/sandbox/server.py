"""The sandbox HTTP server: a werkzeug WSGI app in werkzeug's threaded server.

:class:`SandboxServer` runs one sandbox in a background thread::

    with SandboxServer() as sandbox:           # 127.0.0.1, a free port
        client = stripe.StripeClient("sk_test_123", base_addresses={"api": sandbox.url})

:class:`SandboxApp` is the WSGI application. For ``/v1`` it authenticates the API key, applies
the configured :class:`Faults`, routes through the routes derived from the families and the
book (``routes.py``), validates parameters against the SDK's schema, replays idempotent POSTs
and records every request in the request log. Under ``/_sandbox`` it serves the test
controls (request log, faults, reset, object counts, webhook deliveries), which need no key
and exist only in the sandbox.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import hashlib
import io
import json
import logging
import random
import re
import secrets
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import attrs
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import routes
from .delivery import DeliveryFaults, Settings
from .errors import ApiError, bad_parameter, unrecognized_url
from .idempotency import IDEMPOTENCY_MAX_BYTES, IdempotencyStore, Stored
from .params import decode_form, schema_for, validate
from .resources import Backend

logger = logging.getLogger("stripe_pay.sandbox")

IDEMPOTENCY_KEY_MAX_LENGTH = 255
REQUEST_LOG_MAX = 10_000
DROP_ENVIRON_KEY = "stripe_pay.sandbox.drop"
REQUEST_ID_ENVIRON_KEY = "stripe_pay.sandbox.request_id"
_TEST_KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]+$")
_LIVE_KEY = re.compile(r"^(sk|rk)_live_")
_PUBLISHABLE_KEY = re.compile(r"^pk_(test|live)_")
_KEY_PREFIX = re.compile(r"^[a-z]{2}_(test|live)_")
_SECRET_LIKE = re.compile(r"\b(sk|rk)_(test|live)_[A-Za-z0-9_]+")


def request_params(request: Request) -> dict[str, Any]:
    """Query-string and form parameters of a request, nested (body wins over query string)."""
    pairs = list(request.args.items(multi=True))
    if request.method == "POST":
        pairs.extend(request.form.items(multi=True))
    return decode_form(pairs)


def render_json(body: Any) -> bytes:
    """A response body as UTF-8 JSON.

    Compact, unlike Stripe's indented bodies: indentation forces json's pure-Python encoder,
    which costs more than the rest of a typical request.
    """
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _api_version() -> str:
    from stripe._api_version import _ApiVersion

    return _ApiVersion.CURRENT


def mask_key(key: str) -> str:
    """A key as Stripe quotes it in errors: its prefix and at most its last four characters."""
    prefix_match = _KEY_PREFIX.match(key)
    prefix = prefix_match.group() if prefix_match else ""
    rest = key[len(prefix):]
    tail = rest[-4:] if len(rest) >= 12 else ""
    return f"{prefix}****{tail}"


def _scrub(value: Any) -> Any:
    """Parameters as logged: lists as lists, and anything like a secret key masked."""
    if isinstance(value, str):
        return _SECRET_LIKE.sub(lambda match: mask_key(match.group()), value)
    if isinstance(value, dict):
        if value and all(key.isdigit() for key in value):
            return [_scrub(item) for _, item in sorted(value.items(), key=lambda kv: int(kv[0]))]
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


@attrs.define
class Faults:
    """Misbehaviour to inject into ``/v1`` requests and webhook deliveries; all off by default.

    ``latency_ms`` is added to every request. ``rate_limit`` caps requests per second (over it:
    429 ``rate_limit``). ``fail_rate`` is the fraction of requests answered 500 ``api_error``
    before anything happens. ``drop_rate`` is the fraction of POSTs that take effect (state
    changes, idempotency key stored) and then lose their connection without a response.
    ``webhook_duplicate_rate`` is the fraction of delivered events delivered again,
    ``webhook_shuffle`` holds deliveries until that many wait and sends them in a random order,
    ``webhook_delay_ms`` delays each delivery (see ``delivery.py``). ``seed`` makes the random
    choices repeatable.
    """

    latency_ms: float = 0.0
    rate_limit: float | None = None
    fail_rate: float = 0.0
    drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_shuffle: int = 0
    webhook_delay_ms: float = 0.0
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def delivery_faults(self) -> DeliveryFaults:
        return DeliveryFaults(duplicate_rate=self.webhook_duplicate_rate,
                              shuffle=self.webhook_shuffle, delay_ms=self.webhook_delay_ms)

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with ``changes`` applied; raises ``ValueError`` saying what is wrong."""
        known = {field.name for field in attrs.fields(Faults)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"Unknown fault setting(s): {', '.join(unknown)}. "
                             f"Known: {', '.join(sorted(known))}.")
        result = attrs.evolve(self, **changes)
        for name in ("latency_ms", "fail_rate", "drop_rate", "webhook_duplicate_rate",
                     "webhook_delay_ms"):
            value = getattr(result, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, not {value!r}.")
        for name in ("fail_rate", "drop_rate", "webhook_duplicate_rate"):
            if getattr(result, name) > 1:
                raise ValueError(f"{name} is a fraction, between 0 and 1.")
        shuffle = result.webhook_shuffle
        if isinstance(shuffle, bool) or not isinstance(shuffle, int) or shuffle < 0:
            raise ValueError(f"webhook_shuffle must be a whole number of deliveries >= 0 "
                             f"(0: off), not {shuffle!r}.")
        limit = result.rate_limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)
                                  or limit <= 0):
            raise ValueError(f"rate_limit must be a number of requests per second > 0, or "
                             f"null for no limit, not {limit!r}.")
        if result.seed is not None and (isinstance(result.seed, bool)
                                        or not isinstance(result.seed, int)):
            raise ValueError(f"seed must be an integer or null, not {result.seed!r}.")
        return result


@attrs.define
class LoggedRequest:
    """One ``/v1`` request as the request log shows it (never its API key)."""

    request_id: str
    time: float
    method: str
    path: str
    params: dict[str, Any]
    status: int | None = None
    idempotency_key: str | None = None
    replayed: bool = False
    fault: str | None = None
    duration_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.define
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = attrs.field(factory=dict)


class SandboxApp:
    """The WSGI application of one sandbox; all its state lives in this instance."""

    def __init__(self, backend: Backend | None = None, faults: Faults | None = None,
                 clock: Callable[[], float] = time.time, *,
                 idempotency_max_bytes: int = IDEMPOTENCY_MAX_BYTES) -> None:
        self.backend = backend or Backend(clock=clock)
        self.routes = routes.derive(type(self.backend))
        self.url_map = routes.url_map(self.routes)
        self._clock = clock
        self._faults = Faults()
        self._fault_lock = threading.Lock()
        self._rng = random.Random()
        self._recent: collections.deque[float] = collections.deque()
        self.idempotency = IdempotencyStore(clock, max_bytes=idempotency_max_bytes)
        self.request_log: collections.deque[LoggedRequest] = collections.deque(
            maxlen=REQUEST_LOG_MAX)
        self.set_faults((faults or Faults()).to_json())

    # Controls usable in-process as well as over HTTP.

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, changes: dict[str, Any]) -> Faults:
        """Change some fault settings (validated); a given ``seed`` reseeds the fault RNG."""
        with self._fault_lock:
            self._faults = self._faults.updated(changes)
            if "seed" in changes:
                self._rng = random.Random(self._faults.seed)
            self._recent.clear()
            self.backend.deliveries.configure(faults=self._faults.delivery_faults(),
                                              seed=self._faults.seed, reseed="seed" in changes)
            return self._faults

    def set_webhook_settings(self, changes: dict[str, Any]) -> Settings:
        """Change how deliveries are made (``retry_delays``, ``timeout``; validated)."""
        settings = self.backend.deliveries.settings.updated(changes)
        self.backend.deliveries.configure(settings=settings)
        return settings

    def reset(self) -> None:
        """Forget all objects, idempotency keys, logged requests and recorded changes (faults
        stay as set)."""
        with self.backend.lock:
            self.backend.reset()
            self.idempotency.clear()
            self.request_log.clear()

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first."""
        with self.backend.lock:
            return [entry.to_json() for entry in self.request_log]

    def changes(self, since: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        """The change log (``changes.py``), oldest first: the kept changes after ``since``,
        only of objects of ``kind`` if given."""
        with self.backend.lock:
            return [change.to_json() for change in self.backend.changes.since(since, kind)]

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/_sandbox" or request.path.startswith("/_sandbox/"):
            response = self._control(request)
        else:
            response = self._api(request, environ)
        return response(environ, start_response)

    def _api(self, request: Request, environ: dict[str, Any]) -> Response:
        started = time.perf_counter()
        request_id = "req_" + secrets.token_urlsafe(11).replace("-", "a").replace("_", "b")
        environ[REQUEST_ID_ENVIRON_KEY] = request_id
        idempotency_key = request.headers.get("Idempotency-Key") or None
        entry = LoggedRequest(request_id=request_id, time=self._clock(), method=request.method,
                              path=request.path, params={},
                              idempotency_key=idempotency_key if request.method == "POST"
                              else None)
        try:
            answer = self._answer(request, entry, environ)
        except Exception:
            logger.error("Sandbox error on %s %s:\n%s", request.method, request.path,
                         traceback.format_exc())
            answer = self._error(ApiError(
                status=500, type="api_error",
                message="The sandbox failed unexpectedly on this request; see its log."),
                request)
        headers = {
            "Content-Type": "application/json",
            "Request-Id": request_id,
            "Stripe-Version": request.headers.get("Stripe-Version") or _api_version(),
            "Cache-Control": "no-cache, no-store",
            **answer.headers,
        }
        if entry.idempotency_key is not None:
            headers["Idempotency-Key"] = entry.idempotency_key
        entry.status = answer.status
        entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        with self.backend.lock:
            self.request_log.append(entry)
        logger.info("%s %s -> %s %s%s", request.method, request.path, answer.status, request_id,
                    f" ({entry.fault})" if entry.fault else "")
        return Response(answer.body, status=answer.status, headers=headers)

    def _answer(self, request: Request, entry: LoggedRequest, environ: dict[str, Any]
                ) -> _Answer:
        if not request.path.startswith("/v1/"):
            return self._error(unrecognized_url(request.method, request.path), request)
        key_error = self._authenticate(request)
        if key_error is not None:
            return self._error(key_error, request)
        fault = self._pre_fault(request)
        if fault is not None:
            entry.fault = fault.code or "fail"
            return self._error(fault, request)
        try:
            route, path_args = self._route(request)
            raw = request_params(request)
        except ApiError as error:
            return self._error(error, request)
        entry.params = _scrub(raw)
        with self.backend.lock:
            answer = self._execute(request, route, path_args, raw, entry)
        if request.method == "POST" and self._roll("drop_rate"):
            entry.fault = "drop"
            environ[DROP_ENVIRON_KEY] = True
        return answer

    def _authenticate(self, request: Request) -> ApiError | None:
        key = _api_key(request.headers.get("Authorization", ""))
        if not key:
            return ApiError(
                status=401, type="invalid_request_error", stored=False,
                headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
                message=(
                    "You did not provide an API key. You need to provide your API key in the "
                    "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                    "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                    "details, or we can help at https://support.stripe.com/."))
        if _TEST_KEY.match(key):
            return None
        if _LIVE_KEY.match(key):
            message = (f"This sandbox only accepts test mode keys (sk_test_... or rk_test_...), "
                       f"but a live mode key was provided: {mask_key(key)}. Never send live "
                       "keys to the sandbox.")
        elif _PUBLISHABLE_KEY.match(key):
            message = ("This API call cannot be made with a publishable API key. Please use a "
                       "secret API key (sk_test_...) or a restricted one (rk_test_...).")
        else:
            message = f"Invalid API Key provided: {mask_key(key)}"
        return ApiError(status=401, type="invalid_request_error", message=message, stored=False,
                        headers={"WWW-Authenticate": 'Basic realm="Stripe"'})

    def _roll(self, name: str) -> bool:
        with self._fault_lock:
            rate = getattr(self._faults, name)
            return rate > 0 and self._rng.random() < rate

    def _pre_fault(self, request: Request) -> ApiError | None:
        """Latency, then the rate limit, then an injected failure: all before acting."""
        latency = self._faults.latency_ms
        if latency > 0:
            time.sleep(latency / 1000)
        limit = self._faults.rate_limit
        if limit is not None:
            now = time.monotonic()
            with self._fault_lock:
                while self._recent and self._recent[0] <= now - 1.0:
                    self._recent.popleft()
                if len(self._recent) >= limit:
                    return ApiError(
                        status=429, type="invalid_request_error", code="rate_limit",
                        stored=False,
                        message="Request rate limit exceeded. Learn more about rate limits "
                                "here https://stripe.com/docs/rate-limits.")
                self._recent.append(now)
        if self._roll("fail_rate"):
            return ApiError(
                status=500, type="api_error", stored=False,
                message="An unknown error occurred while processing your request (injected by "
                        "the sandbox's fail_rate fault; nothing was changed).")
        return None

    def _route(self, request: Request) -> tuple[routes.Route, dict[str, str]]:
        adapter = self.url_map.bind("sandbox", path_info=request.path)
        try:
            route, path_args = adapter.match(method=request.method)
        except (NotFound, MethodNotAllowed, RequestRedirect):
            raise unrecognized_url(request.method, request.path) from None
        return route, dict(path_args)

    def _execute(self, request: Request, route: routes.Route, path_args: dict[str, str],
                 raw: dict[str, Any], entry: LoggedRequest) -> _Answer:
        key = entry.idempotency_key
        scope = None
        fingerprint = (request.method, request.path,
                       tuple(sorted(request.args.items(multi=True)))
                       + tuple(sorted(request.form.items(multi=True))))
        if key is not None:
            if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
                return self._error(bad_parameter(
                    f"Idempotency-Key must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
                    param=None), request)
            auth = _api_key(request.headers.get("Authorization", ""))
            scope = (hashlib.sha256(auth.encode()).hexdigest(), key)
            stored = self.idempotency.get(scope)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    return self._error(ApiError(
                        status=400, type="idempotency_error", stored=False,
                        message=(
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{key}' if you meant to execute a different request.")), request)
                entry.replayed = True
                return _Answer(stored.status, stored.body, {
                    "Idempotent-Replayed": "true", "Original-Request": stored.request_id})
        try:
            params = validate(route.params, raw, route.params_module)
            with self.backend.request_context(entry.request_id, key):
                self.backend.origin = request.host_url.rstrip("/")
                body = self.backend.handle(route, params, path_args)
            answer = _Answer(200, render_json(body))
            keep = True
        except ApiError as error:
            answer = self._error(error, request)
            keep = error.stored
        if scope is not None and keep:
            self.idempotency.put(scope, Stored(fingerprint, answer.status, answer.body,
                                               entry.request_id, self._clock()))
        return answer

    @staticmethod
    def _error(error: ApiError, request: Request) -> _Answer:
        # Stripe links each error to its dashboard log; the sandbox links to its own log entry.
        request_id = request.environ.get(REQUEST_ID_ENVIRON_KEY)
        log_url = f"{request.host_url}_sandbox/requests/{request_id}" if request_id else None
        return _Answer(error.status, render_json(error.body(log_url)), dict(error.headers))

    # Controls

    def _control(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        try:
            body, status = self._control_answer(request, path)
        except ValueError as error:
            body, status = {"error": {"message": str(error)}}, 400
        return Response(json.dumps(body, indent=2), status=status,
                        content_type="application/json",
                        headers={"Request-Id": "req_" + secrets.token_hex(7)})

    def _control_answer(self, request: Request, path: str) -> tuple[Any, int]:
        method = request.method
        if path == "/_sandbox/requests" and method == "GET":
            return self.requests(), 200
        if path == "/_sandbox/requests" and method == "DELETE":
            with self.backend.lock:
                cleared = len(self.request_log)
                self.request_log.clear()
            return {"cleared": cleared}, 200
        if path.startswith("/_sandbox/requests/") and method == "GET":
            wanted = path.rsplit("/", 1)[1]
            for entry in self.requests():
                if entry["request_id"] == wanted:
                    return entry, 200
            return {"error": {"message": f"No logged request {wanted}."}}, 404
        if path == "/_sandbox/faults" and method == "GET":
            return self.faults.to_json(), 200
        if path == "/_sandbox/faults" and method == "POST":
            return self.set_faults(_json_body(request)).to_json(), 200
        if path == "/_sandbox/reset" and method == "POST":
            self.reset()
            return {"reset": True}, 200
        if path == "/_sandbox/objects" and method == "GET":
            return self._counts(request.args.get("object")), 200
        if path == "/_sandbox/changes" and method == "GET":
            return self._changes(request.args.get("since", "0"), request.args.get("object")), 200
        if path == "/_sandbox/changes" and method == "DELETE":
            with self.backend.lock:
                return {"cleared": self.backend.changes.clear()}, 200
        if path.startswith("/_sandbox/authenticate/") and method == "POST":
            return self._authenticate_intent(path.rsplit("/", 1)[1], request)
        if path.startswith("/_sandbox/settle/") and method == "POST":
            return self._settle(path.rsplit("/", 1)[1])
        if path.startswith("/_sandbox/portal/") and method == "GET":
            return self._portal(path.removeprefix("/_sandbox/portal/"))
        if path.startswith("/_sandbox/webhooks/"):
            return self._webhooks(request, path.removeprefix("/_sandbox/webhooks/"))
        return {"error": {"message": f"No sandbox control at {method} {request.path}. Controls: "
                                     "GET/DELETE /_sandbox/requests, GET/POST /_sandbox/faults, "
                                     "POST /_sandbox/reset, GET /_sandbox/objects, "
                                     "GET/DELETE /_sandbox/changes, "
                                     "POST /_sandbox/authenticate/{id}, "
                                     "POST /_sandbox/settle/{id}, "
                                     "GET /_sandbox/portal/{id}, "
                                     "GET /_sandbox/webhooks/deliveries, "
                                     "POST /_sandbox/webhooks/drain, "
                                     "GET/POST /_sandbox/webhooks/settings"}}, 404

    def _webhooks(self, request: Request, what: str) -> tuple[Any, int]:
        """The delivery log, waiting for deliveries to be done, and the delivery settings."""
        deliveries = self.backend.deliveries
        if what == "deliveries" and request.method == "GET":
            return deliveries.log(request.args.get("event")), 200
        if what == "drain" and request.method == "POST":
            timeout = _json_body(request).get("timeout", 10)
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
                raise ValueError(f"timeout must be a number of seconds >= 0, not {timeout!r}.")
            drained = deliveries.drain(timeout)
            return {"drained": drained, "outstanding": deliveries.outstanding()}, (
                200 if drained else 504)
        if what == "settings" and request.method == "GET":
            return deliveries.settings.to_json(), 200
        if what == "settings" and request.method == "POST":
            return self.set_webhook_settings(_json_body(request)).to_json(), 200
        return {"error": {"message": f"No sandbox control at {request.method} {request.path}. "
                                     "Webhook controls: GET /_sandbox/webhooks/deliveries, "
                                     "POST /_sandbox/webhooks/drain, "
                                     "GET/POST /_sandbox/webhooks/settings"}}, 404

    def _portal(self, where: str) -> tuple[Any, int]:
        """What the customer portal shows at a session's url (``bps_...``) or a
        configuration's login page (``login/bpc_...``)."""
        with self.backend.lock:
            try:
                if where.startswith("login/"):
                    return self.backend.portal_login(where.removeprefix("login/")), 200
                return self.backend.portal_page(where), 200
            except ApiError as error:
                return error.body(), error.status

    def _authenticate_intent(self, intent_id: str, request: Request) -> tuple[Any, int]:
        """The customer passing (``{"outcome": "complete"}``, the default) or failing
        (``"fail"``) the 3D Secure step an intent waits for."""
        try:
            given = json.loads(request.get_data() or b"{}")
        except json.JSONDecodeError as error:
            raise ValueError(f"The body must be a JSON object: {error}") from None
        outcome = given.get("outcome", "complete") if isinstance(given, dict) else None
        if outcome not in ("complete", "fail"):
            raise ValueError('The body must be {"outcome": "complete"} or {"outcome": "fail"}.')
        try:
            with self.backend.lock:
                return self.backend.authenticate(intent_id, succeed=outcome == "complete"), 200
        except ApiError as error:
            return error.body(), error.status

    def _settle(self, object_id: str) -> tuple[Any, int]:
        """The bank settling a processing debit, or a refund's later outcome (see
        ``Payments.settle_pending``)."""
        try:
            with self.backend.lock:
                return self.backend.settle_pending(object_id), 200
        except ApiError as error:
            return error.body(), error.status

    def _changes(self, since: str, kind: str | None) -> list[dict[str, Any]]:
        if not since.isdigit():
            raise ValueError(f"since must be a change's seq (a whole number >= 0), not {since!r}.")
        if kind is not None and kind not in self.backend.resources:
            raise ValueError(f"Unknown object {kind!r}; known: "
                             f"{', '.join(sorted(self.backend.resources))}.")
        return self.changes(int(since), kind)

    def _counts(self, kind: str | None) -> dict[str, Any]:
        with self.backend.lock:
            stores = self.backend.stores
            if kind is None:
                return {"counts": {name: store.live_count() for name, store in stores.items()}}
            if kind not in stores:
                raise ValueError(f"Unknown object {kind!r}; known: {', '.join(sorted(stores))}.")
            return {"object": kind, "count": stores[kind].live_count()}


def _json_body(request: Request) -> dict[str, Any]:
    """A control's JSON object body ({} when empty); ``ValueError`` if it is not one."""
    try:
        given = json.loads(request.get_data() or b"{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"The body must be a JSON object: {error}") from None
    if not isinstance(given, dict):
        raise ValueError("The body must be a JSON object.")
    return given


def _api_key(header: str) -> str:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return value.strip() or "invalid"
        return decoded.partition(":")[0]
    return header.strip()


class _Handler(WSGIRequestHandler):
    """werkzeug's handler with HTTP/1.1 keep-alive, and abrupt drops for the drop fault.

    werkzeug's own ``run_wsgi`` closes every connection after one response; a keep-alive
    connection saves the client a TCP handshake and the server a thread per request, which
    roughly doubles sequential throughput through the SDK.
    """

    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection is closed after this long, freeing its thread.
    timeout = 60

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in one write, and small responses must not wait for the
        # client's delayed ACK (Nagle), which would cap a connection at ~25 requests a second.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.sandbox_lock:  # type: ignore[attr-defined]
            self.server.sandbox_connections[threading.current_thread()] = (  # type: ignore
                self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.sandbox_lock:  # type: ignore[attr-defined]
                self.server.sandbox_connections.pop(  # type: ignore[attr-defined]
                    threading.current_thread(), None)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are logged by the app, with their request ids."""

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        # Read the whole body first so the next request on this connection starts cleanly,
        # whatever the app reads.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read()
        else:
            body = self.rfile.read(length) if length > 0 else b""
            if len(body) < length:
                # The client went away mid-body (killed, say). Acting on half the parameters
                # under the request's idempotency key would turn its complete repeat into an
                # idempotency error; Stripe acts on whole requests only, so nothing is done.
                self.close_connection = True
                return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)

        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                           ) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        try:
            chunks = self.server.app(environ, start_response)
            try:
                payload = b"".join(chunks)
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        except Exception:
            logger.error("Sandbox error on %s %s:\n%s", self.command, self.path,
                         traceback.format_exc())
            captured["status"] = "500 INTERNAL SERVER ERROR"
            captured["headers"] = [("Content-Type", "application/json")]
            payload = render_json({"error": {"type": "api_error",
                                             "message": "The sandbox failed on this request."}})
        if environ.get(DROP_ENVIRON_KEY):
            self._drop()
            return
        code_text, _, reason = captured["status"].partition(" ")
        self.send_response(int(code_text), reason)
        for name, value in captured["headers"]:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(payload)
        self.flush_headers()

    def _drop(self) -> None:
        # Linger 0 makes close() send a reset: the client sees the connection die mid-request.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so that a taken port raises OSError.

    werkzeug's own binding prints the error and exits the process, which would take down a test
    run or any program hosting the sandbox.
    """
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM)[0]
    listener = socket.socket(family, kind, protocol)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


class SandboxServer:
    """A sandbox serving HTTP on ``host``:``port`` from background threads.

    ``port=0`` picks a free port (see :attr:`url`). It binds loopback by default: the control
    endpoints under ``/_sandbox`` need no key. State lives in this instance only, so several
    sandboxes can run side by side. Use as a context manager, or call :meth:`start` and
    :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, faults: Faults | None = None,
                 clock: Callable[[], float] = time.time,
                 idempotency_max_bytes: int = IDEMPOTENCY_MAX_BYTES) -> None:
        self.host = host
        self.app = SandboxApp(faults=faults, clock=clock,
                              idempotency_max_bytes=idempotency_max_bytes)
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def backend(self) -> Backend:
        return self.app.backend

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The sandbox is not running; call start() first.")
        return self._server.port

    @property
    def url(self) -> str:
        """Base URL to give the SDK, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        """Bind and serve in a background thread; returns self. Raises OSError if the port is
        taken."""
        if self._server is not None:
            raise RuntimeError("The sandbox is already running.")
        # Derive every route's parameter schema now (once per process) rather than in the
        # first requests, which would otherwise take tens of milliseconds each.
        for route in self.app.routes:
            schema_for(route.params, route.params_module)
        listener = _listen(self.host, self._requested_port)
        try:
            server = make_server(self.host, listener.getsockname()[1], self.app, threaded=True,
                                 request_handler=_Handler, fd=listener.fileno())
        finally:
            # werkzeug serves from its own duplicate of the descriptor.
            listener.close()
        server.sandbox_lock = threading.Lock()  # type: ignore[attr-defined]
        server.sandbox_connections = {}  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"stripe-sandbox-{server.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close open connections and join every server thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.backend.deliveries.stop(timeout)
        server.shutdown()
        thread.join(timeout)
        deadline = time.monotonic() + timeout
        while True:
            with server.sandbox_lock:  # type: ignore[attr-defined]
                live = dict(server.sandbox_connections)  # type: ignore[attr-defined]
            if not live:
                break
            for worker, connection in live.items():
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                worker.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                break
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Conveniences for in-process tests.

    @property
    def faults(self) -> Faults:
        return self.app.faults

    def set_faults(self, **changes: Any) -> Faults:
        """Change fault settings, e.g. ``set_faults(fail_rate=0.5, seed=1)``."""
        return self.app.set_faults(changes)

    def reset(self) -> None:
        """Forget all objects, idempotency keys and logged requests."""
        self.app.reset()

    def set_webhook_settings(self, **changes: Any) -> Settings:
        """Change how webhooks are delivered, e.g. ``set_webhook_settings(retry_delays=[0.1])``."""
        return self.app.set_webhook_settings(changes)

    def drain_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until every webhook delivery is done (at most ``timeout`` seconds)."""
        return self.backend.deliveries.drain(timeout)

    def webhook_deliveries(self, event: str | None = None) -> list[dict[str, Any]]:
        """The webhook delivery attempts, oldest first (of ``event`` only, if given)."""
        return self.backend.deliveries.log(event)

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first."""
        return self.app.requests()

    def changes(self, since: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        """The change log, oldest first (see :meth:`SandboxApp.changes`)."""
        return self.app.changes(since, kind)
