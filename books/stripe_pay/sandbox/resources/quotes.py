"""Quotes: prices offered to a customer.

draft -> open (finalize) -> accepted (accept: the quote's invoice is made) | canceled
(cancel, or its ``expires_at`` passing while it is still a draft or open). Only drafts
change. Accepting a quote of one-time prices makes a draft invoice of them, for the
quote's customer, with its collection method; a quote with recurring prices makes a
subscription of them instead (``quote.subscription``), whose first invoice, billed at once,
also carries the quote's one-time prices (``quote.invoice``).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from .. import pages
from ..backend import Equals, Refused, Resource, Store, Within, handles, route
from ..errors import invalid_request, no_such
from ..rules import blank_to_none, merge_metadata
from ..shapes import Shape, derived
from .checkout import ITEM, Checkout, CheckoutItem, _check_item_params
from .invoices import Invoices
from .subscriptions import Subscriptions

if TYPE_CHECKING:
    from ..routes import Route

SECONDS_PER_DAY = 86_400
#: A quote expires this many days after it is made unless told otherwise.
QUOTE_DAYS = 30
QUOTE_LINE_ITEMS_INLINE = 10


@attrs.define(eq=False)
class Quote:
    """A quote and its place in Stripe's state machine."""

    id: str
    seq: int
    created: int
    expires_at: int
    customer: str | None = None
    currency: str | None = None
    items: list[CheckoutItem] = attrs.field(factory=list)
    status: str = "draft"
    number: str | None = None
    collection_method: str = "charge_automatically"
    days_until_due: int | None = None
    description: str | None = None
    header: str | None = None
    footer: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    invoice: str | None = None
    subscription: str | None = None
    #: what the subscription it makes will say of itself: its description, metadata, trial
    subscription_data: dict[str, Any] = attrs.field(factory=lambda: {
        "description": None, "metadata": None, "trial_period_days": None})
    status_transitions: dict[str, int | None] = attrs.field(factory=lambda: {
        "accepted_at": None, "canceled_at": None, "finalized_at": None})
    deleted: bool = False

    OBJECT: ClassVar[str] = "quote"

    @property
    def amount(self) -> int:
        return sum(item.amount for item in self.items)

    def recurring(self, backend: Any) -> list[CheckoutItem]:
        """The line items of recurring prices."""
        return [item for item in self.items
                if backend.prices.objects[item.price].type == "recurring"]


def _items(quote: Quote, items: list[CheckoutItem], path: str, backend: Any
           ) -> dict[str, Any]:
    return {"object": "list",
            "data": [ITEM.render(item, backend) for item in items[:QUOTE_LINE_ITEMS_INLINE]],
            "has_more": len(items) > QUOTE_LINE_ITEMS_INLINE, "url": path}


def _no_totals() -> dict[str, Any]:
    return {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}


def _computed(quote: Quote, backend: Any) -> dict[str, Any]:
    """What the quote costs now (its one-time prices and the first period of its recurring
    ones) and again each period (its recurring prices, all of one interval)."""
    recurring = quote.recurring(backend)
    again = None
    if recurring:
        every = backend.prices.objects[recurring[0].price].recurring or {}
        amount = sum(item.amount for item in recurring)
        again = {"amount_subtotal": amount, "amount_total": amount,
                 "interval": every.get("interval"),
                 "interval_count": every.get("interval_count", 1),
                 "total_details": _no_totals()}
    return {"recurring": again,
            "upfront": {"amount_subtotal": quote.amount, "amount_total": quote.amount,
                        "total_details": _no_totals()}}


def _invoice_settings(quote: Quote, backend: Any) -> dict[str, Any]:
    return {"custom_fields": None, "days_until_due": quote.days_until_due,
            "description": None, "footer": None,
            "issuer": {"account": None, "type": "self"}}


QUOTE = Shape(
    "quote", "Quote",
    own=("collection_method", "created", "currency", "customer", "description", "expires_at",
         "footer", "header", "invoice", "metadata", "number", "status", "status_transitions",
         "subscription"),
    renamed={"amount_subtotal": "amount", "amount_total": "amount"},
    fixed={"application": None, "application_fee_amount": None,
           "application_fee_percent": None,
           "automatic_tax": {"enabled": False, "liability": None, "provider": None,
                             "status": None},
           "customer_account": None, "default_tax_rates": [], "discounts": [],
           "from_quote": None, "livemode": False, "on_behalf_of": None,
           "subscription_schedule": None, "test_clock": None,
           "total_details": _no_totals(), "transfer_data": None},
    derived=(derived("computed", _computed), derived("invoice_settings", _invoice_settings),
             derived("subscription_data", lambda quote, backend: {
                 "billing_mode": {"flexible": None, "type": "classic"},
                 "effective_date": None, **quote.subscription_data})),
    included={
        "line_items": lambda quote, backend: _items(
            quote, quote.items, f"/v1/quotes/{quote.id}/line_items", backend),
        "computed.upfront.line_items": lambda quote, backend: _items(
            quote, quote.items, f"/v1/quotes/{quote.id}/computed_upfront_line_items",
            backend),
        **{path: lambda quote, backend: {"discounts": [], "taxes": []}
           for path in ("total_details.breakdown", "computed.upfront.total_details.breakdown",
                        "computed.recurring.total_details.breakdown")}},
)

#: What the quote says that only a draft may change.
_EDITABLE = ("customer", "line_items", "collection_method", "invoice_settings", "description",
             "header", "footer", "expires_at", "subscription_data")


class Quotes(Subscriptions, Checkout, Invoices):
    """The quotes family."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(QUOTE, "quotes",
                 filters=(Refused("customer_account", kind="account"),
                          Refused("test_clock", kind="test clock"), Equals("customer"),
                          Equals("status"), Within("created"))),
    )
    quotes: Store[Quote]

    def _reset_family(self) -> None:
        #: (expires_at, id) of quotes that may still expire, soonest first
        self._expiring: list[tuple[int, str]] = []

    def handle(self, route: Route, params: dict[str, Any], path_args: Mapping[str, str]
               ) -> dict[str, Any]:
        self.expire_quotes()
        return super().handle(route, params, path_args)

    def expire_quotes(self) -> None:
        """Cancel the draft and open quotes whose ``expires_at`` has passed (recorded as
        their ``cancel``)."""
        now = self.now()
        if not self._expiring or self._expiring[0][0] > now:
            return
        with self.operation():
            while self._expiring and self._expiring[0][0] <= now:
                when, quote_id = heapq.heappop(self._expiring)
                quote = self.quotes.objects.get(quote_id)
                if quote is None or quote.status not in ("draft", "open") or \
                        quote.expires_at != when:
                    continue  # undone, moved on, or its expiry changed
                self._cancel(self.change("cancel", quote), at=when)

    @handles("quote", "create")
    def create_quote(self, params: dict[str, Any]) -> Quote:
        for unsupported, kind in (("from_quote", "quote"), ("on_behalf_of", "account"),
                                  ("test_clock", "test clock"),
                                  ("customer_account", "account")):
            if unsupported in params:
                if unsupported == "from_quote":
                    raise invalid_request("Cloning quotes (from_quote) is not supported by "
                                          "this sandbox.", param="from_quote")
                raise no_such(kind, params[unsupported], param=unsupported)
        self._refuse_unserved(params)
        now = self.now()
        quote = Quote(id=self.new_id("qt_"), seq=self._next_seq(), created=now,
                      expires_at=now + QUOTE_DAYS * SECONDS_PER_DAY)
        self._apply_quote(quote, params)
        self.change("create", quote)
        heapq.heappush(self._expiring, (quote.expires_at, quote.id))
        return quote

    @handles("quote", "update")
    def update_quote(self, quote_id: str, params: dict[str, Any]) -> Quote:
        quote = self.change("update", self.quotes.get(quote_id))
        self._refuse_unserved(params)
        if "on_behalf_of" in params:
            raise no_such("account", params["on_behalf_of"], param="on_behalf_of")
        if quote.status != "draft":
            changed = [name for name in _EDITABLE if name in params]
            if changed:
                raise invalid_request(
                    f"This quote is {quote.status}; {changed[0]} can only be changed while it "
                    "is a draft.", param=changed[0])
        self._apply_quote(quote, params)
        if "expires_at" in params:
            heapq.heappush(self._expiring, (quote.expires_at, quote.id))
        return quote

    @staticmethod
    def _refuse_unserved(params: dict[str, Any]) -> None:
        for name in ("discounts", "application_fee_amount", "application_fee_percent",
                     "transfer_data"):
            if name in params:
                raise invalid_request(
                    f"{name} is not supported by this sandbox's quotes (it has no coupons "
                    "and no connected accounts).", param=name)

    def _apply_quote(self, quote: Quote, params: dict[str, Any]) -> None:
        if "customer" in params:
            quote.customer = self.customers.get(params["customer"], param="customer").id
        if "line_items" in params:
            quote.items = self._quote_items(params["line_items"])
            quote.currency = quote.items[0].currency if quote.items else None
        if "collection_method" in params:
            quote.collection_method = params["collection_method"]
        settings = params.get("invoice_settings", {})
        if "days_until_due" in settings:
            quote.days_until_due = settings["days_until_due"]
        if quote.collection_method == "send_invoice" and quote.days_until_due is None:
            raise invalid_request(
                "Quotes with collection_method=send_invoice need invoice_settings"
                "[days_until_due].", param="invoice_settings[days_until_due]")
        if quote.collection_method == "charge_automatically" and quote.days_until_due:
            raise invalid_request(
                "invoice_settings[days_until_due] goes only with collection_method="
                "send_invoice.", param="invoice_settings[days_until_due]")
        for field in ("description", "header", "footer"):
            if field in params:
                setattr(quote, field, blank_to_none(params[field]))
        if "expires_at" in params:
            if params["expires_at"] <= self.now():
                raise invalid_request("expires_at must be in the future.",
                                      param="expires_at")
            quote.expires_at = params["expires_at"]
        if "metadata" in params:
            quote.metadata = merge_metadata(quote.metadata, params["metadata"])
        given = params.get("subscription_data", {})
        data = quote.subscription_data = dict(quote.subscription_data)
        for field in ("description", "trial_period_days"):
            if field in given:
                data[field] = blank_to_none(given[field])
        if "metadata" in given:
            data["metadata"] = merge_metadata(data["metadata"] or {}, given["metadata"] or {})

    def _quote_items(self, given: list[dict[str, Any]]) -> list[CheckoutItem]:
        """The quote's line items: prices (or price_data, made now) of one currency and,
        for the recurring ones, one interval."""
        items = [dict(item, quantity=item.get("quantity", 1)) for item in given]
        for index, item in enumerate(items):
            _check_item_params(item, f"line_items[{index}]")
        prices = [self._item_price(item, f"line_items[{index}]")
                  for index, item in enumerate(items)]
        self._checked_currency(prices, {})
        intervals = {(price.recurring or {}).get("interval") for price, _ in prices
                     if price.type == "recurring"}
        if len(intervals) > 1:
            raise invalid_request("Every recurring price of a quote must have the same "
                                  "interval.", param="line_items")
        made = self._made_prices(prices, items)
        return [self._new_item(price, quantity, {}) for price, quantity in made]

    @handles("quote", "finalize")
    def finalize_quote(self, quote_id: str, params: dict[str, Any] | None = None) -> Quote:
        """draft -> open: numbered, ready to send to the customer."""
        quote = self.change("finalize", self.quotes.get(quote_id))
        if quote.status != "draft":
            raise invalid_request(
                f"This quote is {quote.status}; only a draft quote can be finalized.")
        if quote.customer is None:
            raise invalid_request("A quote needs a customer before it can be finalized.",
                                  param="customer")
        if not quote.items:
            raise invalid_request("A quote needs line items before it can be finalized.",
                                  param="line_items")
        if params and "expires_at" in params:
            self._apply_quote(quote, {"expires_at": params["expires_at"]})
            heapq.heappush(self._expiring, (quote.expires_at, quote.id))
        customer = self.customers.objects[quote.customer]
        numbered = sum(1 for found in self.lookup("quote", "customer", customer.id)
                       if found.number is not None)
        quote.number = f"QT-{customer.invoice_prefix}-{numbered + 1:04d}-1"
        quote.status = "open"
        quote.status_transitions["finalized_at"] = self.now()
        return quote

    @handles("quote", "accept")
    def accept_quote(self, quote_id: str, params: dict[str, Any] | None = None) -> Quote:
        """open -> accepted: a draft invoice of the quote's one-time prices, or, when it has
        recurring prices, a subscription of them billed at once (its first invoice also
        bills the one-time prices)."""
        quote = self.change("accept", self.quotes.get(quote_id))
        if quote.status != "open":
            raise invalid_request(
                f"This quote is {quote.status}; only an open (finalized) quote can be "
                "accepted.")
        assert quote.customer is not None  # (finalizing needed it)
        quote.status = "accepted"
        quote.status_transitions["accepted_at"] = self.now()
        recurring = quote.recurring(self)
        if recurring:
            self._subscribe_from_quote(quote, recurring)
            return quote
        invoice_params: dict[str, Any] = {"customer": quote.customer,
                                          "currency": quote.currency,
                                          "collection_method": quote.collection_method}
        if quote.days_until_due is not None:
            invoice_params["days_until_due"] = quote.days_until_due
        for field in ("description", "footer"):
            if getattr(quote, field) is not None:
                invoice_params[field] = getattr(quote, field)
        invoice = self.create_invoice(invoice_params)
        for item in quote.items:
            self.create_invoice_item({"customer": quote.customer, "invoice": invoice.id,
                                      "pricing": {"price": item.price},
                                      "quantity": item.quantity or 1})
        quote.invoice = invoice.id
        return quote

    def _subscribe_from_quote(self, quote: Quote, recurring: list[CheckoutItem]) -> None:
        """The subscription an accepted quote of recurring prices makes, as Stripe makes
        it: the recurring prices its items, the one-time prices on its first invoice, the
        quote's collection method and due days, and its ``subscription_data`` (description,
        metadata, trial)."""
        params: dict[str, Any] = {
            "customer": quote.customer, "collection_method": quote.collection_method,
            "items": [{"price": item.price, "quantity": item.quantity or 1}
                      for item in recurring],
            "add_invoice_items": [{"price": item.price, "quantity": item.quantity or 1}
                                  for item in quote.items if item not in recurring]}
        if quote.days_until_due is not None:
            params["days_until_due"] = quote.days_until_due
        data = quote.subscription_data
        params.update({field: data[field] for field in
                       ("description", "metadata", "trial_period_days") if data[field]})
        sub = self.create_subscription(params)
        quote.subscription = sub.id
        quote.invoice = sub.latest_invoice

    @handles("quote", "cancel")
    def cancel_quote(self, quote_id: str, params: dict[str, Any] | None = None) -> Quote:
        """draft or open -> canceled, for good."""
        quote = self.change("cancel", self.quotes.get(quote_id))
        if quote.status not in ("draft", "open"):
            raise invalid_request(
                f"This quote is {quote.status}; only a draft or open quote can be canceled.")
        self._cancel(quote, at=self.now())
        return quote

    @staticmethod
    def _cancel(quote: Quote, *, at: int) -> None:
        quote.status = "canceled"
        quote.status_transitions["canceled_at"] = at

    @route("GET", "/v1/quotes/{id}/line_items", "QuoteLineItemListParams", kind="item",
           name="quote_line_items")
    def list_quote_line_items(self, quote_id: str, params: dict[str, Any]) -> dict[str, Any]:
        quote = self.quotes.get(quote_id)
        return pages.parts_page(self, quote.items, params, f"/v1/quotes/{quote.id}/line_items",
                                shape=ITEM, kind="line item")

    @route("GET", "/v1/quotes/{id}/computed_upfront_line_items",
           "QuoteComputedUpfrontLineItemsListParams", kind="item",
           name="computed_upfront_line_items")
    def list_quote_upfront_items(self, quote_id: str, params: dict[str, Any]
                                 ) -> dict[str, Any]:
        quote = self.quotes.get(quote_id)
        return pages.parts_page(self, quote.items, params,
                                f"/v1/quotes/{quote.id}/computed_upfront_line_items",
                                shape=ITEM, kind="line item")
