"""Deliveries and endpoints: checking that a delivery is Stripe's and reading its event, and
the account's webhook endpoint for a listener's URL.

A delivery is verified by the SDK's ``stripe.WebhookSignature.verify_header`` (what
``stripe.Webhook.construct_event`` does first), with its five-minute tolerance; the body is
then read as plain JSON, as every other answer of the book is. Endpoints are found, made,
changed and removed through the connection's SDK client (``GET``, ``POST`` and ``DELETE
/v1/webhook_endpoints``, paths read from the SDK's service).

Imported only by the hooks that need it: it imports ``stripe``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import stripe

from kognitos_books import Connection, DeliveryRejected, Endpoint, Event, Secret

from . import events, sdk
from .client import StripeSession

#: How old a signature may be, in seconds: the SDK's own default (``construct_event``).
TOLERANCE: int = stripe.Webhook.DEFAULT_TOLERANCE
#: The header Stripe signs deliveries in (names arrive lower-cased).
SIGNATURE_HEADER = "stripe-signature"


def verify(connection: Connection, headers: Mapping[str, str], body: bytes,
           secret: Secret) -> Event:
    """The event in ``body`` once its signature is Stripe's, made with ``secret`` at most
    :data:`TOLERANCE` seconds ago, and it belongs to the connection's mode; else
    :class:`DeliveryRejected` saying which of these failed."""
    header = headers.get(SIGNATURE_HEADER, "")
    if not header:
        raise DeliveryRejected("the delivery has no Stripe-Signature header: it is not from "
                               "Stripe, or something on the way dropped the header")
    if not secret.reveal().strip():
        raise DeliveryRejected("there is no signing secret to check the delivery with",
                               hint="the endpoint's secret (whsec_...) is shown when it is "
                                    "made")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DeliveryRejected("the delivery is not a Stripe event: its body is not "
                               "UTF-8 text") from None
    _check_signature(text, header, secret.reveal())
    try:
        raw = json.loads(text)
    except ValueError:
        raise DeliveryRejected("the delivery is not a Stripe event: its body is not "
                               "JSON") from None
    live = isinstance(raw, dict) and bool(raw.get("livemode"))
    if isinstance(raw, dict) and live != (connection.mode == "live"):
        raise DeliveryRejected(f"the event {raw.get('id')} is a {'live' if live else 'test'}"
                               f"-mode event, and this connection is in {connection.mode} "
                               "mode")
    session: StripeSession = connection.client
    event = events.decode(session, raw)
    if event is None:
        raise DeliveryRejected("the delivery is not a Stripe event the book reports: "
                               f"{_kind(raw)}")
    return event


def _check_signature(text: str, header: str, secret: str) -> None:
    """Raise :class:`DeliveryRejected` unless ``header`` signs ``text`` with ``secret``
    recently. The SDK's error says why in words only; which check failed is told by checking
    again without the time limit (a signature that matches then is only too old)."""
    verify_header = stripe.WebhookSignature.verify_header
    try:
        verify_header(text, header, secret, tolerance=TOLERANCE)
        return
    except stripe.SignatureVerificationError:
        pass
    try:
        verify_header(text, header, secret, tolerance=None)
    except stripe.SignatureVerificationError:
        raise DeliveryRejected("the delivery's Stripe-Signature does not match its body: it "
                               "was signed with another secret, or changed on the way"
                               ) from None
    raise DeliveryRejected(f"the delivery's signature is more than {TOLERANCE} seconds old: "
                           "a replay, or this machine's clock is off")


def _kind(raw: Any) -> str:
    """What a decoded body that is no event of the book is, in words."""
    if not isinstance(raw, dict) or raw.get("object") != "event":
        return "its JSON is not an event object"
    found = raw.get("type")
    return f"the book has no noun for the object of {found!r} events" if isinstance(
        found, str) else "it has no type"


# ---------------------------------------------------------------------- endpoints


def _endpoints(session: StripeSession) -> Iterator[dict[str, Any]]:
    """Every webhook endpoint of the account (Stripe allows 16; paged all the same)."""
    path = sdk.route("webhook_endpoints", "list").path
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = events.request(session, "get", path, params)
        items = page.get("data") or []
        yield from items
        if not page.get("has_more") or not items:
            return
        params["starting_after"] = items[-1]["id"]


def _find(session: StripeSession, url: str) -> dict[str, Any] | None:
    return next((found for found in _endpoints(session) if found.get("url") == url), None)


def _key() -> str:
    """A fresh idempotency key for one write: the SDK's retries of it repeat the key."""
    return f"kbooks-endpoint-{uuid.uuid4().hex}"


def ensure(connection: Connection, url: str, types: tuple[str, ...]) -> Endpoint:
    """The account's endpoint for ``url``, made when there is none (with the pinned API
    version, so its events read as the SDK's types say), changed when it is sent other
    types or is disabled. No types means every event (``*``)."""
    session: StripeSession = connection.client
    wanted = list(types) or ["*"]
    found = _find(session, url)
    if found is None:
        made = events.request(session, "post", sdk.route("webhook_endpoints", "create").path,
                              {"url": url, "enabled_events": wanted,
                               "api_version": stripe.api_version,
                               "description": "kbooks listener", "idempotency_key": _key()})
        return Endpoint(made["id"], made["url"], tuple(made.get("enabled_events") or wanted),
                        created=True, secret=Secret(made["secret"]))
    changes: dict[str, Any] = {}
    if sorted(found.get("enabled_events") or ()) != sorted(wanted):
        changes["enabled_events"] = wanted
    if found.get("status") == "disabled":
        changes["disabled"] = False
    if changes:
        path = sdk.route("webhook_endpoints", "update").path.replace("{id}", found["id"])
        found = events.request(session, "post", path, {**changes, "idempotency_key": _key()})
    return Endpoint(found["id"], found["url"], tuple(found.get("enabled_events") or ()))


def remove(connection: Connection, url: str) -> bool:
    """Delete the account's endpoint for ``url``; False when there is none. The ``DELETE``
    carries an idempotency key, as the book's other deletes do."""
    session: StripeSession = connection.client
    found = _find(session, url)
    if found is None:
        return False
    path = sdk.route("webhook_endpoints", "delete").path.replace("{id}", found["id"])
    events.request(session, "delete", path, {"idempotency_key": _key()})
    return True
