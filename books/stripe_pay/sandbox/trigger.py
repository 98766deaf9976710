"""``kbooks sandbox trigger EVENT_TYPE``: make Stripe (or the sandbox) send an event by doing
what causes it, as ``stripe trigger`` does.

Each fixture of :data:`FIXTURES` is the sequence of SDK calls whose last one produces its
event type: ``invoice.paid`` creates a customer, gives them a card, an invoice item and an
invoice, finalizes it and pays it. The calls go through the real SDK (the book's
:class:`~stripe_pay.client.StripeSession`, so its log is masked); each request is printed as
the SDK's service says it (method and path read from :mod:`stripe_pay.sdk`) with the id it
answered, and then the event ``GET /v1/events`` lists for those objects. Steps meant to be
declined (``invoice.payment_failed``) say so and count as done when the card is declined.

The key is ``KBOOKS_STRIPE_PAY_API_KEY`` when set, else a test key the sandbox takes; a key
that is not a test key, or an API base beyond this machine, is refused unless asked for.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus, urlsplit

import attrs

from .cli import DEFAULT_HOST, DEFAULT_PORT, _is_loopback

DEFAULT_API_BASE = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
KEY_ENV = "KBOOKS_STRIPE_PAY_API_KEY"
#: The key used when none is given: well-formed, so the sandbox takes it.
SANDBOX_KEY = "sk_test_kbooks_sandbox_trigger"
DESCRIPTION = "(created by kbooks sandbox trigger)"


@attrs.frozen
class Ref:
    """The id an earlier step (by its ``name``) answered with."""

    name: str


@attrs.frozen
class Step:
    """One SDK call: ``StripeClient.v1.<service>.<method>``, on the record ``target`` (an id,
    or a :class:`Ref` to an earlier step's) when the method acts on one, with ``params``
    (which may hold refs). ``name`` lets later steps use its id; ``declines``: the card is
    meant to be declined, and the event is that failure."""

    service: str
    method: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    target: str | Ref | None = None
    name: str = ""
    declines: bool = False


def _resolve(value: Any, ids: Mapping[str, str]) -> Any:
    if isinstance(value, Ref):
        return ids[value.name]
    if isinstance(value, Mapping):
        return {key: _resolve(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, ids) for item in value]
    return value


# ---------------------------------------------------------------------- the fixtures


def _customer() -> Step:
    return Step("customers", "create", {"description": DESCRIPTION}, name="customer")


def _card(test_card: str = "pm_card_visa") -> Step:
    """The customer's card: a test payment method attached to them."""
    return Step("payment_methods", "attach", {"customer": Ref("customer")}, target=test_card,
                name="card")


def _invoice(test_card: str = "pm_card_visa") -> tuple[Step, ...]:
    """A customer with a card, and a draft invoice of one item for them."""
    return (
        _customer(), _card(test_card),
        Step("invoice_items", "create", {"customer": Ref("customer"), "amount": 2000,
                                         "currency": "usd", "description": DESCRIPTION}),
        Step("invoices", "create", {"customer": Ref("customer"), "description": DESCRIPTION,
                                    "pending_invoice_items_behavior": "include",
                                    "collection_method": "charge_automatically"},
             name="invoice"),
    )


_FINALIZE = Step("invoices", "finalize_invoice", target=Ref("invoice"))


def _pay(declines: bool = False) -> Step:
    return Step("invoices", "pay", {"payment_method": Ref("card")}, target=Ref("invoice"),
                declines=declines)


def _payment(test_card: str = "pm_card_visa", confirm: bool = True) -> Step:
    params: dict[str, Any] = {"amount": 2000, "currency": "usd", "description": DESCRIPTION,
                              "payment_method": test_card,
                              "automatic_payment_methods": {"enabled": True,
                                                            "allow_redirects": "never"}}
    if confirm:
        params["confirm"] = True
    return Step("payment_intents", "create", params, name="payment_intent",
                declines=test_card != "pm_card_visa")


def _subscription() -> tuple[Step, ...]:
    """A customer with a card, subscribed to a monthly price."""
    return (
        Step("products", "create", {"name": "kbooks trigger plan"}, name="product"),
        Step("prices", "create", {"product": Ref("product"), "unit_amount": 1500,
                                  "currency": "usd", "recurring": {"interval": "month"}},
             name="price"),
        _customer(), _card(),
        Step("subscriptions", "create", {"customer": Ref("customer"),
                                         "default_payment_method": Ref("card"),
                                         "items": [{"price": Ref("price")}]},
             name="subscription"),
    )


_DECLINING = "pm_card_chargeDeclined"
_FAILING_LATER = "pm_card_chargeCustomerFail"  # attaches, then every charge fails
_METADATA = {"metadata": {"kbooks_trigger": "updated"}}

#: The event types ``kbooks sandbox trigger`` can cause, and the calls that cause each.
FIXTURES: Mapping[str, tuple[Step, ...]] = {
    "customer.created": (_customer(),),
    "customer.updated": (_customer(), Step("customers", "update", _METADATA,
                                           target=Ref("customer"))),
    "customer.deleted": (_customer(), Step("customers", "delete", target=Ref("customer"))),
    "product.created": (Step("products", "create", {"name": "kbooks trigger product"}),),
    "price.created": (
        Step("products", "create", {"name": "kbooks trigger product"}, name="product"),
        Step("prices", "create", {"product": Ref("product"), "unit_amount": 1500,
                                  "currency": "usd"})),
    "invoice.created": _invoice(),
    "invoice.finalized": (*_invoice(), _FINALIZE),
    "invoice.paid": (*_invoice(), _FINALIZE, _pay()),
    "invoice.payment_succeeded": (*_invoice(), _FINALIZE, _pay()),
    "invoice.payment_failed": (*_invoice(_FAILING_LATER), _FINALIZE, _pay(declines=True)),
    "invoice.voided": (*_invoice(), _FINALIZE,
                       Step("invoices", "void_invoice", target=Ref("invoice"))),
    "payment_intent.created": (_payment(confirm=False),),
    "payment_intent.succeeded": (_payment(),),
    "payment_intent.payment_failed": (_payment(_DECLINING),),
    "payment_intent.canceled": (_payment(confirm=False),
                                Step("payment_intents", "cancel",
                                     target=Ref("payment_intent"))),
    "charge.succeeded": (_payment(),),
    "charge.failed": (_payment(_DECLINING),),
    "charge.refunded": (_payment(), Step("refunds", "create",
                                         {"payment_intent": Ref("payment_intent")})),
    "customer.subscription.created": _subscription(),
    "customer.subscription.updated": (*_subscription(), Step(
        "subscriptions", "update", _METADATA, target=Ref("subscription"))),
    "customer.subscription.deleted": (*_subscription(), Step(
        "subscriptions", "cancel", target=Ref("subscription"))),
}


# ---------------------------------------------------------------------- the command


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``kbooks sandbox trigger``."""
    parser.add_argument("event_type", nargs="?", metavar="EVENT_TYPE",
                        help="the Stripe event type to cause, e.g. invoice.paid (see --list)")
    parser.add_argument("--list", action="store_true", dest="list_fixtures",
                        help="list the event types that can be caused, and their requests")
    parser.add_argument("--api-base", default=DEFAULT_API_BASE, metavar="URL",
                        help=f"where to send the requests (default {DEFAULT_API_BASE}, the "
                             "sandbox's default address)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="send to an API base beyond this machine (e.g. Stripe itself)")
    parser.add_argument("--allow-live", action="store_true",
                        help=f"use a live key from {KEY_ENV} (it makes real objects)")


def run(args: argparse.Namespace) -> int:
    """Send the requests of ``args.event_type``'s fixture; the process's exit status."""
    if args.list_fixtures:
        for event_type, fixture in FIXTURES.items():
            print(event_type)
            for step in fixture:
                print(f"  {_path(step, None)}")
        return 0
    if not args.event_type:
        print("sandbox trigger: name an event type (kbooks sandbox trigger --list shows them)",
              file=sys.stderr)
        return 2
    steps = FIXTURES.get(args.event_type)
    if steps is None:
        import difflib

        close = difflib.get_close_matches(args.event_type, list(FIXTURES), n=3, cutoff=0.5)
        print(f"sandbox trigger: no fixture for {args.event_type!r}"
              + (f"; did you mean {' or '.join(close)}?" if close else "")
              + " (kbooks sandbox trigger --list shows them all)", file=sys.stderr)
        return 2
    key = os.environ.get(KEY_ENV) or SANDBOX_KEY
    refusal = _refusal(args, key)
    if refusal:
        print(f"sandbox trigger: {refusal}", file=sys.stderr)
        return 2
    return _send(args.event_type, steps, args.api_base.rstrip("/"), key)


def _refusal(args: argparse.Namespace, key: str) -> str | None:
    """Why these requests must not be sent as asked, or None."""
    from ..client import mode_of

    try:
        parts = urlsplit(args.api_base)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # an unclosed [ of an IPv6 address
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        return f"--api-base {args.api_base!r} is not an http(s) URL"
    if not _is_loopback(host) and not args.allow_remote:
        return (f"{args.api_base} is beyond this machine; add --allow-remote to send "
                "these requests there")
    if mode_of(key) != "test" and not args.allow_live:
        return f"the key in {KEY_ENV} is a live key; add --allow-live to make real objects"
    return None


def _said(step: Step) -> str:
    """A step in words: ``invoices.finalize_invoice``."""
    return f"{step.service}.{step.method}"


def _path(step: Step, target: str | None) -> str:
    from .. import sdk

    route = sdk.route(step.service, step.method)
    path = route.path.replace("{id}", quote_plus(target)) if target else route.path
    return f"{route.http} {path}"


def _send(event_type: str, steps: Sequence[Step], api_base: str, key: str) -> int:
    import stripe

    from kognitos_books import Secret

    from ..client import StripeSession

    session = StripeSession(Secret(key), api_base)
    ids: dict[str, str] = {}
    made: set[str] = set()
    print(f"Causing {event_type} at {api_base}:")
    for step in steps:
        target = _resolve(step.target, ids)
        params = _resolve(step.params, ids)
        print(f"  {_path(step, target)}", flush=True)
        service: Any = session.sdk.v1
        for part in step.service.split("."):
            service = getattr(service, part)
        call = getattr(service, step.method)
        try:
            answer = call(target, params=params) if target else call(params=params)
        except stripe.CardError as exc:
            if not step.declines:
                print(f"sandbox trigger: {session.error(exc)}", file=sys.stderr)
                return 1
            body = exc.json_body if isinstance(exc.json_body, dict) else {}
            error: dict[str, Any] = body.get("error") or {}
            intent = (error.get("payment_intent") or {}).get("id")
            made.update(found for found in (intent, error.get("charge")) if found)
            print(f"    -> declined ({exc.code}), as wanted" + (f": {intent}" if intent else ""))
            continue
        except stripe.StripeError as exc:
            print(f"sandbox trigger: {session.error(exc)}", file=sys.stderr)
            return 1
        if step.declines:
            print(f"sandbox trigger: {_said(step)} was meant to be declined and was not",
                  file=sys.stderr)
            return 1
        print(f"    -> {answer.id}")
        made.add(answer.id)
        if step.name:
            ids[step.name] = answer.id
    print(_caused(session, event_type, made))
    return 0


def _caused(session: Any, event_type: str, made: set[str]) -> str:
    """The event these requests caused, as ``GET /v1/events`` lists it: the newest of the
    type whose object is (or names) one of the objects made."""
    import json

    import stripe

    from .. import sdk

    try:
        answer = session.sdk.raw_request("get", sdk.route("events", "list").path,
                                         type=event_type, limit=10)
    except stripe.StripeError as exc:
        return f"Sent; the events could not be listed: {session.error(exc)}"
    for event in json.loads(answer.body).get("data") or []:
        obj = event.get("data", {}).get("object", {})
        if made & {value for value in obj.values() if isinstance(value, str)}:
            return f"Stripe made the event {event['id']} ({event_type})."
    return f"Sent; Stripe lists no {event_type} event of these objects yet."
