"""Which Stripe Events each recorded change emits: one declarative table, :data:`EMITS`.

A row per kind of stored object says what its changes emit (``changes.py`` records them):

- a create emits ``created`` (``customer.created``), a delete ``deleted``;
- any other change emits ``actions[action]`` when the action has its own events (an invoice's
  ``send``: ``invoice.sent``), else ``updated``, when some field changed;
- each rule in ``when`` adds its events when the object after the change has a field newly
  set to a value (its ``status`` became ``succeeded``: ``payment_intent.succeeded``), on a
  create as on an update, so an object created and paid by one operation emits both; a rule
  ``instead`` of ``updated`` leaves that out (a subscription canceled is only
  ``customer.subscription.deleted``).

Names are ``<name>.<suffix>``, ``name`` being the object kind unless the row says otherwise
(subscriptions are ``customer.subscription``). Every name the table can make is one of the
SDK's event types (tested): :func:`sdk_event_types` reads them from the ``enabled_events`` of
``stripe.params.WebhookEndpointCreateParams``.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Any

import attrs

Suffixes = tuple[str, ...]


@attrs.frozen
class When:
    """Events emitted when ``field`` (dotted for a nested one) is newly set, to ``to`` if
    given (to anything but null if not), while the object's fields in ``where`` have those
    values."""

    emits: Suffixes
    to: Any = None
    field: str = "status"
    where: Mapping[str, Any] = attrs.field(factory=dict)
    instead: bool = False

    def fires(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
        value = _at(after, self.field)
        return (value is not None and value != _at(before, self.field)
                and (self.to is None or value == self.to)
                and all(after.get(name) == wanted for name, wanted in self.where.items()))


@attrs.frozen
class Emits:
    """What the changes of one kind of object emit (see the module's docstring)."""

    kind: str
    name: str = ""
    created: Suffixes = ("created",)
    updated: Suffixes = ("updated",)
    deleted: Suffixes = ("deleted",)
    actions: Mapping[str, Suffixes] = attrs.field(factory=dict)
    when: tuple[When, ...] = ()

    @property
    def prefix(self) -> str:
        return self.name or self.kind

    def types(self) -> list[str]:
        """Every event type this row can emit, in the table's order."""
        suffixes = [*self.created, *self.updated, *self.deleted,
                    *(one for found in self.actions.values() for one in found),
                    *(one for rule in self.when for one in rule.emits)]
        return [f"{self.prefix}.{one}" for one in dict.fromkeys(suffixes)]

    def emitted(self, action: str, after: Mapping[str, Any],
                previous: Mapping[str, Any] | None) -> list[str]:
        """The event types of one change: its ``action``, the object ``after`` it, and the
        ``previous`` values of the fields it changed (None for a create or a delete)."""
        if action == "delete":
            found = list(self.deleted)
        elif action == "create":
            found = list(self.created) + [one for rule in self.when if rule.fires({}, after)
                                          for one in rule.emits]
        else:
            before = {**after, **(previous or {})}
            fired = [rule for rule in self.when if rule.fires(before, after)]
            base = self.actions.get(action)
            if base is None:
                base = () if not previous or any(rule.instead for rule in fired) \
                    else self.updated
            found = [one for rule in fired for one in rule.emits] + list(base)
        return [f"{self.prefix}.{one}" for one in dict.fromkeys(found)]


def silent(kind: str) -> Emits:
    """A kind whose changes Stripe emits no event for."""
    return Emits(kind, created=(), updated=(), deleted=())


#: The table: what every kind of stored object emits. Kinds the SDK has no event types for
#: are silent; each row keeps to the types the SDK lists for its kind.
EMITS: tuple[Emits, ...] = (
    Emits("product"),
    Emits("price"),
    Emits("plan"),
    silent("balance_transaction"),
    Emits("payout", deleted=(), when=(
        When(("paid",), "paid"), When(("failed",), "failed"), When(("canceled",), "canceled"))),
    Emits("customer"),
    Emits("billing_portal.configuration", deleted=()),
    Emits("billing_portal.session", updated=(), deleted=()),
    Emits("payment_method", created=(), deleted=(), actions={"detach": ("detached",)},
          when=(When(("attached",), field="customer", instead=True),)),
    Emits("card", name="customer.source"),
    Emits("setup_intent", updated=(), deleted=(), when=(
        When(("requires_action",), "requires_action"), When(("succeeded",), "succeeded"),
        When(("canceled",), "canceled"),
        When(("setup_failed",), field="last_setup_error",
             where={"status": "requires_payment_method"}))),
    Emits("payment_intent", updated=(), deleted=(), when=(
        When(("processing",), "processing"), When(("requires_action",), "requires_action"),
        When(("amount_capturable_updated",), "requires_capture"),
        When(("succeeded",), "succeeded"), When(("canceled",), "canceled"),
        When(("payment_failed",), field="last_payment_error",
             where={"status": "requires_payment_method"}))),
    Emits("charge", created=(), deleted=(),
          actions={"capture": ("captured",), "refund": ("refunded",), "settle": ()},
          when=(When(("pending",), "pending"), When(("succeeded",), "succeeded"),
                When(("failed",), "failed"))),
    Emits("refund", deleted=(), when=(When(("failed",), "failed"),)),
    Emits("dispute", name="charge.dispute", deleted=(), actions={"close": ("closed",)}),
    Emits("tax_rate", deleted=()),
    Emits("coupon"),
    Emits("promotion_code", deleted=()),
    Emits("discount", name="customer.discount"),
    Emits("invoiceitem", updated=()),
    Emits("invoice", actions={"send": ("sent",)}, when=(
        When(("finalized",), field="status_transitions.finalized_at"),
        When(("paid",), "paid"),
        When(("payment_succeeded",), "paid", where={"attempted": True}),
        When(("payment_failed",), field="attempt_count", where={"status": "open"}),
        When(("voided",), "void"),
        When(("marked_uncollectible",), "uncollectible"))),
    Emits("checkout.session", created=(), updated=(), deleted=(), when=(
        When(("completed",), "complete"), When(("expired",), "expired"))),
    Emits("payment_link", deleted=()),
    silent("customer_balance_transaction"),
    Emits("credit_note", deleted=(), when=(When(("voided",), "void"),)),
    Emits("test_helpers.test_clock", updated=(),
          actions={"advance": ("advancing",), "ready": ("ready",)}),
    Emits("subscription", name="customer.subscription",
          actions={"resume": ("resumed", "updated")},
          when=(When(("deleted",), "canceled", instead=True), When(("paused",), "paused"))),
    silent("subscription_item"),
    Emits("quote", updated=(), deleted=(), actions={
        "finalize": ("finalized",), "accept": ("accepted",), "cancel": ("canceled",)}),
    Emits("subscription_schedule", deleted=(), when=(
        When(("canceled",), "canceled"), When(("released",), "released"),
        When(("completed",), "completed"))),
    silent("webhook_endpoint"),
)

BY_KIND: dict[str, Emits] = {row.kind: row for row in EMITS}


@functools.cache
def sdk_event_types() -> frozenset[str]:
    """Every event type the SDK lets an endpoint enable (without ``*``), read from the
    ``Literal`` of ``WebhookEndpointCreateParams.enabled_events``."""
    from stripe.params import WebhookEndpointCreateParams

    (literal,) = typing.get_args(WebhookEndpointCreateParams.__annotations__["enabled_events"])
    return frozenset(typing.get_args(literal)) - {"*"}


def matches(pattern: str, event_type: str) -> bool:
    """Whether ``event_type`` is ``pattern``: a name, ``*`` or a wildcard group such as
    ``invoice.*`` (``customer.*`` holds ``customer.subscription.created`` too)."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def _at(value: Mapping[str, Any], path: str) -> Any:
    found: Any = value
    for part in path.split("."):
        if not isinstance(found, Mapping):
            return None
        found = found.get(part)
    return found


def markdown_table(rows: tuple[Emits, ...] = EMITS) -> str:
    """The table as docs/SANDBOX.md shows it (tested to match)."""
    lines = ["| object | create | other changes | by action | when the object after has |",
             "| --- | --- | --- | --- | --- |"]
    for row in rows:
        actions = "; ".join(f"{action}: {_names(row, found)}"
                            for action, found in row.actions.items())
        rules = "; ".join(
            f"`{rule.field}` {'= ' + repr(rule.to) if rule.to is not None else 'set'}"
            + "".join(f", `{name}` = {wanted!r}" for name, wanted in rule.where.items())
            + f": {_names(row, rule.emits)}" + (" (not `updated`)" if rule.instead else "")
            for rule in row.when)
        lines.append(f"| {row.kind} | {_names(row, row.created)} | "
                     f"{_names(row, row.updated)}; delete: {_names(row, row.deleted)} | "
                     f"{actions or '-'} | {rules or '-'} |")
    return "\n".join(lines)


def _names(row: Emits, suffixes: Suffixes) -> str:
    return ", ".join(f"`{row.prefix}.{one}`" for one in suffixes) or "none"
