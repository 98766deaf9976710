"""The Stripe objects the book knows: one row per noun.

Everything the book does for a noun is read from its row: the SDK service that sends the
requests, the id prefix, which conditions Stripe can filter a list by, which fields its
Search API understands, whether it can be deleted, and the actions beyond the record duties
(each naming the SDK service method that performs it, how English says it, and whether it
is destructive or moves money). Nothing the SDK knows is copied here: HTTP methods, paths
and params types come from its service methods (:mod:`stripe_pay.sdk`), accepted and
returned fields from its types (:mod:`stripe_pay.schema`).

Supporting one more Stripe object with only the record duties is one more row; one with a
lifecycle is a row plus its actions (and the sandbox learning it).

This module imports nothing heavy: ``describe_book`` reads it.
"""

from __future__ import annotations

import re
from typing import Literal

import attrs

from kognitos_books.model import Action as HostAction
from kognitos_books.model import Relation

#: The record duties every object has.
RECORD_VERBS: tuple[str, ...] = ("get", "create", "update", "delete")


@attrs.frozen
class ListFilter:
    """A condition Stripe's list endpoint can apply exactly, server side.

    ``kind`` says which conditions fit: ``exact`` takes ``is``; ``range`` also takes
    ``>``, ``<``, ``>=``, ``<=`` (as ``created[gt]``); ``many`` takes ``is`` and ``one of``
    and sends a list (``ids[]``, ``lookup_keys[]``).
    """

    field: str
    param: str
    kind: Literal["exact", "range", "many"] = "exact"


@attrs.frozen
class Operation:
    """One SDK call: the service method, its HTTP method and path (the record acted on as
    ``{id}``), its params TypedDict; ``id_param`` names the input that carries the record's
    id when the path has none (a refund's ``charge``)."""

    method: str
    http: str
    path: str
    params: str
    service: str = ""
    id_param: str | None = None
    params_module: str = ""

    def url_path(self, record_id: str | None = None) -> str:
        return self.path.replace("{id}", record_id or "{id}")


@attrs.frozen
class Default:
    """A parameter the book sends for ``operation`` unless the automation says otherwise.

    It is left out when the inputs already set ``field`` or any of ``unless``, or when
    a field named in ``when`` holds another value.
    """

    operation: str
    field: str
    value: object
    unless: tuple[str, ...] = ()
    when: tuple[tuple[str, object], ...] = ()

    def applies(self, params: dict[str, object]) -> bool:
        if self.field in params or any(name in params for name in self.unless):
            return False
        return all(params.get(name) == value for name, value in self.when)


@attrs.frozen
class Requirement:
    """Inputs Stripe needs for ``operation`` although the SDK's params types mark them
    optional (they are needed only in some cases): one of ``any_of`` must be given when
    every field of ``when`` is and none of ``unless`` is. An ``add`` to a parent counts as
    naming the parent (the book takes what it needs from it).
    """

    operation: str
    any_of: tuple[str, ...]
    when: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    def missing(self, given: set[str]) -> str | None:
        """The input to ask for when ``given`` (the names of the inputs) falls short."""
        if not all(name in given for name in self.when):
            return None
        if any(name in given for name in self.unless + self.any_of):
            return None
        return self.any_of[0]


@attrs.frozen
class Action(HostAction):
    """A verb beyond the record duties, as the host sees it (its English, whether it is
    destructive or moves money, what it returns), performed by the SDK service method
    ``method``: of the row's own service, or of ``service`` (refunding a charge is the
    refunds service's ``create``, with the charge's id sent as ``id_param``).
    """

    method: str = attrs.field(kw_only=True)
    service: str | None = attrs.field(default=None, kw_only=True)
    id_param: str | None = attrs.field(default=None, kw_only=True)

    @property
    def verb(self) -> str:
        return self.name

    def declared(self) -> HostAction:
        """The action as the host sees it (what the host needs, nothing of the SDK)."""
        return HostAction(**{f.name: getattr(self, f.name) for f in attrs.fields(HostAction)})


@attrs.frozen
class StripeObject:
    """Everything the book knows about one noun.

    ``service`` is the attribute on ``StripeClient.v1`` (dotted when nested:
    ``checkout.sessions``): the SDK's service methods say each operation's request, its
    ``retrieve`` the resource class whose annotations list the returned fields.
    ``delete_refusal`` says why the object can never be deleted (None when it can).
    """

    noun: str
    plural: str
    service: str
    id_prefix: str
    list_filters: tuple[ListFilter, ...] = ()
    search_fields: frozenset[str] = frozenset()
    actions: tuple[Action, ...] = ()
    aliases: tuple[str, ...] = ()
    parent: str | None = None
    relations: tuple[Relation, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    #: the field that says what a record is worth (in its currency)
    amount: str | None = None
    delete_refusal: str | None = None
    delete_hint: str | None = None
    defaults: tuple[Default, ...] = ()
    help: str = ""

    @property
    def verbs(self) -> tuple[str, ...]:
        """The record duties the noun has (``add`` when it has a parent)."""
        return RECORD_VERBS + (("add",) if self.parent else ())

    @property
    def every_verb(self) -> tuple[str, ...]:
        return self.verbs + tuple(a.verb for a in self.actions)

    @property
    def searchable(self) -> bool:
        return bool(self.search_fields)

    def with_defaults(self, operation: str, params: dict[str, object]) -> dict[str, object]:
        """``params`` plus the row's defaults for ``operation`` that apply."""
        params = dict(params)
        for default in self.defaults:
            if default.operation == operation and default.applies(params):
                params[default.field] = default.value
        return params

    def list_filter(self, field: str) -> ListFilter | None:
        for found in self.list_filters:
            if found.field == field:
                return found
        return None

    def action(self, verb: str) -> Action | None:
        for found in self.actions:
            if found.verb == verb:
                return found
        return None

    def operation(self, name: str) -> Operation:
        """The SDK call behind ``name``: ``retrieve``, ``list``, ``search``, ``create``,
        ``update``, ``delete``, or one of the row's action verbs; its HTTP method, path and
        params type read from the SDK (which is imported on the first call)."""
        from .sdk import route

        action = self.action(name)
        if action is not None:
            service, method, id_param = action.service or self.service, action.method, \
                action.id_param
        elif name in _STANDARD:
            service, method, id_param = self.service, name, None
        else:
            raise KeyError(f"{self.noun} has no operation {name!r}")
        found = route(service, method)
        return Operation(method, found.http, found.path, found.params, service, id_param,
                         found.params_module)


#: The SDK service methods every row has (``search`` only where Stripe searches)
_STANDARD = ("retrieve", "list", "search", "create", "update", "delete")

_INVOICE_ACTIONS = (
    Action("send", method="send_invoice", help="email the invoice to its customer to pay"),
    Action("finalize", method="finalize_invoice", help="make a draft invoice ready to pay"),
    Action("pay", method="pay", moves_money=True,
           help="collect payment now (or record a payment made outside Stripe)"),
    Action("void", method="void_invoice", destructive=True,
           help="cancel a finalized invoice for good, keeping its record"),
    Action("mark_uncollectible", method="mark_uncollectible", word="mark",
           complement="uncollectible", help="write off an invoice not expected to be paid"),
)

#: The table. Filters and search fields follow Stripe's API reference.
OBJECTS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="customer", plural="customers", service="customers", id_prefix="cus_",
        list_filters=(ListFilter("email", "email"), ListFilter("created", "created", "range")),
        search_fields=frozenset({"email", "name", "phone", "created", "metadata"}),
        help="someone you bill",
    ),
    StripeObject(
        noun="product", plural="products", service="products", id_prefix="prod_",
        list_filters=(ListFilter("active", "active"), ListFilter("id", "ids", "many"),
                      ListFilter("shippable", "shippable"), ListFilter("url", "url"),
                      ListFilter("created", "created", "range")),
        search_fields=frozenset({"active", "description", "name", "shippable", "url",
                                 "metadata"}),
        help="what you sell",
    ),
    StripeObject(
        noun="price", plural="prices", service="prices", id_prefix="price_",
        list_filters=(ListFilter("active", "active"), ListFilter("currency", "currency"),
                      ListFilter("product", "product"), ListFilter("type", "type"),
                      ListFilter("lookup_key", "lookup_keys", "many"),
                      ListFilter("created", "created", "range")),
        search_fields=frozenset({"active", "currency", "lookup_key", "product", "type",
                                 "metadata"}),
        relations=(Relation("product", "product"),),
        amount="unit_amount",
        delete_refusal="a price cannot be deleted; archive it by updating active to false",
        delete_hint='update a price in stripe with the id is "price_..." and the active is'
                    " false",
        help="how much and how often a product costs",
    ),
    StripeObject(
        noun="invoice", plural="invoices", service="invoices", id_prefix="in_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("status", "status"),
                      ListFilter("subscription", "subscription"),
                      ListFilter("collection_method", "collection_method"),
                      ListFilter("created", "created", "range"),
                      ListFilter("due_date", "due_date", "range")),
        search_fields=frozenset({"created", "currency", "customer", "number",
                                 "receipt_number", "status", "subscription", "total",
                                 "metadata"}),
        actions=_INVOICE_ACTIONS,
        relations=(Relation("customer", "customer"),),
        requirements=(
            Requirement("create", ("customer", "customer_account"), unless=("from_invoice",)),
        ),
        amount="amount_due",
        defaults=(
            # Invoices are sent to be paid by the customer unless told otherwise, so that
            # "send the invoice" works (Stripe sends only send_invoice invoices).
            Default("create", "collection_method", "send_invoice"),
            Default("create", "days_until_due", 30, unless=("due_date",),
                    when=(("collection_method", "send_invoice"),)),
            # Paying from an automation records a payment received outside Stripe, unless
            # a payment method or source to charge is named.
            Default("pay", "paid_out_of_band", True,
                    unless=("payment_method", "source", "mandate", "off_session")),
        ),
        help="a bill for a customer",
    ),
    StripeObject(
        noun="invoice item", plural="invoice items", service="invoice_items", id_prefix="ii_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("invoice", "invoice"),
                      ListFilter("pending", "pending"),
                      ListFilter("created", "created", "range")),
        aliases=("item", "items"),
        parent="invoice",
        relations=(Relation("customer", "customer"), Relation("invoice", "invoice")),
        amount="amount",
        # An item added to an invoice takes its customer and currency from the invoice.
        requirements=(
            Requirement("create", ("customer", "customer_account"), unless=("invoice",)),
            Requirement("create", ("currency",), when=("amount",),
                        unless=("invoice", "price", "pricing", "price_data")),
        ),
        help="one line of an invoice",
    ),
)

#: Id prefixes of Stripe objects the book does not handle, to name what a stray id is.
OTHER_PREFIXES: dict[str, str] = {
    "il_": "invoice line item",
    "sub_": "subscription",
    "si_": "subscription item",
    "pi_": "payment intent",
    "ch_": "charge",
    "re_": "refund",
    "pm_": "payment method",
    "cs_": "checkout session",
    "txn_": "balance transaction",
    "acct_": "account",
    "evt_": "event",
    "src_": "source",
    "card_": "card",
    "tok_": "token",
    "seti_": "setup intent",
    "cn_": "credit note",
    "txr_": "tax rate",
    "promo_": "promotion code",
    "po_": "payout",
}

_ID_PREFIX = re.compile(r"^([a-z]+_)")


def find(noun: str) -> StripeObject:
    """The row for ``noun`` (its name, plural or an alias). Raises ``KeyError``."""
    wanted = noun.lower()
    for row in OBJECTS:
        if wanted in (row.noun, row.plural, *row.aliases):
            return row
    raise KeyError(f"the Stripe Pay book has no noun {noun!r}")


def kind_of_id(value: str) -> str | None:
    """What kind of Stripe object an id names, judged by its prefix (None when unknown)."""
    match = _ID_PREFIX.match(value)
    if not match:
        return None
    prefix = match.group(1)
    for row in OBJECTS:
        if row.id_prefix == prefix:
            return row.noun
    return OTHER_PREFIXES.get(prefix)
