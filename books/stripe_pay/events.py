"""The events the book reports, as automations name them (``when an invoice is paid``).

Stripe's event types are the SDK's own list: the ``Literal`` of ``enabled_events`` in
``WebhookEndpointCreateParams``. A type is ``<object>.<what happened>`` where the object is
a Stripe object name (``invoice``, ``checkout.session``) or one nested under its parent
(``customer.subscription``, ``charge.dispute``). Each type whose object is one of the book's
nouns (the object names read from the nouns' SDK resource classes) becomes a
:class:`~kognitos_books.Trigger` whose English is made, not written: the noun with its
article, then what happened, read through :data:`PHRASES` (``payment_failed`` ->
``payment fails``). Types on objects the book has no noun for are not offered.

The events themselves are read from Stripe's JSON into :class:`~kognitos_books.Event`
values (:func:`decode`), from a delivery or from ``GET /v1/events`` (:func:`listed`).

Imported only by the hooks that need it: it imports ``stripe``.
"""

from __future__ import annotations

import functools
import json
import typing
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import stripe
from stripe.params import _webhook_endpoint_create_params as endpoint_params

from kognitos_books import BookError, Event, Trigger

from . import objects, schema, sdk
from .book import _article
from .client import StripeSession

#: What happened, in words: a whole suffix, or its last word after the others
#: (``payment_failed`` is ``payment`` + ``fails``). A last word that ends in ``ed`` and is
#: not here reads ``is <word>`` (``attached`` -> ``is attached``).
PHRASES: Mapping[str, str] = {
    "created": "is created",
    "updated": "is updated",
    "deleted": "is deleted",
    "paid": "is paid",
    "overpaid": "is overpaid",
    "sent": "is sent",
    "finalized": "is finalized",
    "voided": "is voided",
    "failed": "fails",
    "succeeded": "succeeds",
    "expired": "expires",
    "trial_will_end": "trial will end",
    "funds_withdrawn": "has its funds withdrawn",
    "funds_reinstated": "has its funds reinstated",
    "internal_failure": "fails internally",
}

#: Other phrases people say for an event (the derived English stays the first name).
ALIASES: Mapping[str, tuple[str, ...]] = {
    "payment_intent.payment_failed": ("a payment fails",),
    "payment_intent.succeeded": ("a payment succeeds",),
    "payment_intent.canceled": ("a payment is canceled",),
    "customer.subscription.deleted": ("a subscription is canceled", "a subscription ends"),
    "customer.subscription.trial_will_end": ("a trial will end",),
    "customer.subscription.created": ("a customer subscribes",),
    "charge.dispute.created": ("a charge is disputed",),
    "checkout.session.completed": ("a checkout is completed",),
}


def _with_article(noun: str) -> str:
    return f"{_article(noun)} {noun}"


@functools.cache
def event_types() -> tuple[str, ...]:
    """Every event type the SDK's webhook endpoints may be sent (``*`` left out)."""
    hints = schema._hints(endpoint_params.WebhookEndpointCreateParams)
    (literal,) = typing.get_args(hints["enabled_events"])  # List[Literal[...]]
    return tuple(name for name in typing.get_args(literal) if name != "*")


@functools.cache
def object_nouns() -> Mapping[str, str]:
    """The book's nouns by the Stripe object name of their records (``invoiceitem`` is the
    invoice item), read from each noun's SDK resource class."""
    return {sdk.resource_class(row.service).OBJECT_NAME: row.noun  # type: ignore[attr-defined]
            for row in objects.OBJECTS}


@attrs.frozen
class Parts:
    """An event type read: its object's name, what happened, and the parent object it is
    nested under (``charge`` of ``charge.refund.updated``), if any."""

    thing: str
    happened: str
    parent: str | None = None

    @property
    def noun(self) -> str:
        return object_nouns()[self.thing]

    def english(self, with_parent: bool = False) -> str:
        """``a refund is updated``; with the parent, ``a refund of a charge is updated``."""
        said = _with_article(self.noun)
        if with_parent and self.parent is not None:
            said += f" of {_with_article(object_nouns()[self.parent])}"
        return f"{said} {phrase(self.happened)}"


def split(event_type: str) -> Parts | None:
    """``event_type`` read (``customer.subscription.trial_will_end``: the ``subscription``,
    ``trial_will_end``, under the ``customer``); None when its object is no noun of the
    book."""
    thing, _, happened = event_type.rpartition(".")
    known = object_nouns()
    if thing in known:
        return Parts(thing, happened)
    parent, _, nested = thing.rpartition(".")
    if parent in known and nested in known:  # customer.subscription, charge.refund
        return Parts(nested, happened, parent)
    return None


def phrase(happened: str) -> str:
    """What happened as a verb phrase: ``payment_failed`` -> ``payment fails``,
    ``marked_uncollectible`` -> ``is marked uncollectible``, ``upcoming`` -> ``is
    upcoming``."""
    if happened in PHRASES:
        return PHRASES[happened]
    words = happened.split("_")
    *before, last = words
    if last in PHRASES or (last.endswith("ed") and not any(w.endswith("ed") for w in before)):
        # payment_failed, amount_capturable_updated; automatically_updated: the adverb
        # goes after "is"
        verb = PHRASES.get(last, f"is {last}").split()
        adverbs = [word for word in before if word.endswith("ly")]
        subject = [word for word in before if not word.endswith("ly")]
        if verb[0] == "is":
            return " ".join((*subject, "is", *adverbs, *verb[1:]))
        return " ".join((*subject, *adverbs, *verb))
    if words[0].endswith("ed"):  # marked_uncollectible
        return " ".join(("is", *words))
    if len(words) == 1:  # upcoming, overdue, processing, ready
        return f"is {last}"
    return " ".join(words)  # requires_action, will_be_due


@functools.cache
def triggers() -> tuple[Trigger, ...]:
    """Every event type on one of the book's nouns, in the SDK's order. A nested type whose
    English another type already has names its parent: ``charge.refund.updated`` is ``a
    refund of a charge is updated``, ``refund.updated`` ``a refund is updated``."""
    read = [(event_type, parts) for event_type in event_types()
            if (parts := split(event_type)) is not None]
    said = Counter(parts.english() for _, parts in read)
    return tuple(
        Trigger(event_type, parts.english(with_parent=said[parts.english()] > 1),
                parts.noun, aliases=ALIASES.get(event_type, ()))
        for event_type, parts in read)


def unoffered() -> tuple[str, ...]:
    """The SDK's event types on objects the book has no noun for (not triggers)."""
    return tuple(t for t in event_types() if split(t) is None)


def noun_of(obj: Mapping[str, object]) -> str | None:
    """The book's noun for an object an event carries, by its ``object`` name."""
    name = obj.get("object")
    return object_nouns().get(name) if isinstance(name, str) else None


# ---------------------------------------------------------------------- reading events

#: Stripe's limits on ``GET /v1/events``: exact types one request may name, events a page.
MAX_TYPES = 20
PAGE_SIZE = 100


def request(session: StripeSession, method: str, path: str,
            params: Mapping[str, Any]) -> dict[str, Any]:
    """One request through the connection's SDK client, its answer as plain JSON values;
    Stripe's refusals as the book's :class:`BookError` (the key never shown)."""
    try:
        answer = session.sdk.raw_request(method, path, **params)
    except stripe.StripeError as exc:
        raise session.error(exc) from None
    found: dict[str, Any] = json.loads(answer.body)
    return found


def decode(session: StripeSession, raw: Any) -> Event | None:
    """The :class:`Event` in Stripe's JSON for one, its object a :class:`Record` of the
    book's noun for it; None when ``raw`` is no event or its object is no noun of the
    book."""
    if not isinstance(raw, dict) or raw.get("object") != "event":
        return None
    data = raw.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    noun = noun_of(obj) if isinstance(obj, dict) else None
    if (noun is None or not isinstance(raw.get("id"), str)
            or not isinstance(raw.get("type"), str) or not isinstance(raw.get("created"), int)):
        return None
    assert isinstance(data, dict) and isinstance(obj, dict)  # (for the type checker)
    previous = data.get("previous_attributes")
    return Event(raw["id"], raw["type"], raw["created"], bool(raw.get("livemode")),
                 session.record(objects.find(noun), obj),
                 previous=previous if isinstance(previous, dict) else None, data=raw)


def listed(session: StripeSession, after: Event | None, types: tuple[str, ...]
           ) -> Iterator[Event]:
    """The events Stripe keeps after ``after`` (every one when None), of ``types`` when
    given, oldest first, a page fetched as the one before is used up.

    Stripe lists newest first. After an event, each page ``ending_before`` the newest seen
    holds the next ones (newest first: read backwards). With no event to start after, the
    pages back to the oldest are fetched first, then read from the oldest. An event Stripe
    no longer has (it keeps them 30 days) is started after by its time instead, with a
    warning. More than :data:`MAX_TYPES` types are filtered here rather than by Stripe.
    """
    path = sdk.route("events", "list").path
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if types and len(types) <= MAX_TYPES:
        params["types"] = list(types)
    wanted = frozenset(types)
    since: int | None = None
    if after is not None:
        try:
            first = request(session, "get", path, {**params, "ending_before": after.id})
        except BookError as error:
            # (Stripe's resource_missing: 400 for an id given as a parameter)
            if error.code != "resource_missing" or error.param != "ending_before":
                raise
            warnings.warn(f"Stripe no longer has the event {after.id} (it keeps events 30 "
                          f"days): listing the events since its time ({after.created}) "
                          "instead", stacklevel=2)
            since = after.created
        else:
            yield from _kept(session, _forward(session, path, params, after.id, first), wanted)
            return
    pages = list(_backward(session, path, {**params, **(
        {"created": {"gte": since}} if since is not None else {})}))
    for items in reversed(pages):
        yield from _kept(session, reversed(items), wanted)
    if pages and pages[0]:  # and what happened while they were read
        yield from _kept(session, _forward(session, path, params, pages[0][0]["id"]), wanted)


def _kept(session: StripeSession, found: Iterator[dict[str, Any]],
          wanted: frozenset[str]) -> Iterator[Event]:
    for raw in found:
        if wanted and raw.get("type") not in wanted:
            continue
        event = decode(session, raw)
        if event is not None:
            yield event


def _forward(session: StripeSession, path: str, params: Mapping[str, Any], cursor: str,
             first: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """The events after ``cursor``, oldest first (``first``: the page already fetched)."""
    page = first
    while True:
        if page is None:
            page = request(session, "get", path, {**params, "ending_before": cursor})
        items = page.get("data") or []
        yield from reversed(items)
        if not page.get("has_more") or not items:
            return
        cursor, page = items[0]["id"], None


def _backward(session: StripeSession, path: str, params: Mapping[str, Any]
              ) -> Iterator[list[dict[str, Any]]]:
    """Every page of the list, newest first, each newest first."""
    params = dict(params)
    while True:
        page = request(session, "get", path, params)
        items = page.get("data") or []
        yield items
        if not page.get("has_more") or not items:
            return
        params["starting_after"] = items[-1]["id"]
