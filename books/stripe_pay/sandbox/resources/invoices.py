"""Invoices: bills for a customer, their invoice items, and the lines they show.

The family's models, Stripe's invoice state machine (draft -> open -> paid | void |
uncollectible), which items belong on which invoice, and their list filters.
"""

from __future__ import annotations

import copy
import decimal
from typing import Any, ClassVar

import attrs

from .. import pages, search
from ..backend import Equals, Matches, Refused, Resource, Store, Within, handles, route
from ..errors import ApiError, bad_parameter, invalid_request, no_such
from ..rules import (
    DEFAULT_CURRENCY,
    blank_to_none,
    given_custom_fields,
    merge_metadata,
    merged_shipping,
    refuse_accounts,
    valid_currency,
)
from ..shapes import NOT_IN_EXAMPLE, STUB_ONLY, Derived, Shape, derived
from .catalog import Catalog, Price
from .discounts import Discounts, Line, Totals
from .payments import PaymentIntent, Payments

INVOICE_LINES_INLINE = 10
SECONDS_PER_DAY = 86_400


@attrs.define(eq=False)
class InvoiceItem:
    """An invoice item: pending (``invoice`` is None) or a line of a draft or finalized invoice."""

    id: str
    seq: int
    created: int
    customer: str
    currency: str
    amount: int
    line_id: str
    period: dict[str, int]
    quantity: int = 1
    unit_amount_decimal: str | None = None
    price: str | None = None
    product: str | None = None
    description: str | None = None
    discountable: bool = True
    invoice: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    discount_ids: list[str] = attrs.field(factory=list)
    #: its own tax rates (None: its invoice's default tax rates)
    tax_rate_ids: list[str] | None = None
    #: of a subscription: its item, and whether it is a proration (an invoice item) or the
    #: subscription's own line for a period (``recurring``: a line only, no invoice item)
    subscription: str | None = None
    subscription_item: str | None = None
    proration: bool = False
    recurring: bool = False
    test_clock: str | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "invoiceitem"

    def line(self) -> Line:
        """The item as the money math sees it."""
        return Line(self.line_id, self.amount, self.discountable, self.product,
                    tuple(self.discount_ids),
                    None if self.tax_rate_ids is None else tuple(self.tax_rate_ids))


@attrs.define(eq=False)
class Invoice:
    """An invoice and its place in Stripe's state machine.

    draft -> open (finalize; paid at once when nothing is due) -> paid | void | uncollectible;
    an uncollectible invoice can still be paid or voided. Only drafts change freely or are deleted.
    """

    id: str
    seq: int
    created: int
    customer: str
    currency: str
    collection_method: str = "charge_automatically"
    status: str = "draft"
    auto_advance: bool = False
    days_until_due: int | None = None
    due_date: int | None = None
    description: str | None = None
    footer: str | None = None
    custom_fields: list[dict[str, str]] | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    number: str | None = None
    item_ids: list[str] = attrs.field(factory=list)
    amount_paid: int = 0
    attempted: bool = False
    attempt_count: int = 0
    effective_at: int | None = None
    status_transitions: dict[str, int | None] = attrs.field(factory=lambda: {
        "finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
        "voided_at": None,
    })
    customer_snapshot: dict[str, Any] | None = None
    default_payment_method: str | None = None
    statement_descriptor: str | None = None
    rendering: dict[str, Any] | None = None
    shipping_details: dict[str, Any] | None = None
    account_tax_ids: list[str] | None = None
    payment_method_types: list[str] | None = None
    automatic_tax_enabled: bool = False
    on_behalf_of: str | None = None
    #: the payment intent its card payments go through (Stripe no longer shows it here)
    payment_intent: str | None = None
    discount_ids: list[str] = attrs.field(factory=list)
    default_tax_rate_ids: list[str] = attrs.field(factory=list)
    billing_reason: str = "manual"
    #: the subscription that made it, and the period it bills (its creation when None)
    subscription: str | None = None
    period: dict[str, int] | None = None
    test_clock: str | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "invoice"

    def items(self, backend: Invoices) -> list[InvoiceItem]:
        return [item for item in (backend.invoice_items.objects[i] for i in self.item_ids)
                if not item.deleted]

    def totals(self, backend: Invoices) -> Totals:
        """Its amounts: its items priced with its discounts and default tax rates."""
        return backend.price_lines([item.line() for item in self.items(backend)],
                                   self.discount_ids, self.default_tax_rate_ids)

    def total(self, backend: Invoices) -> int:
        return self.totals(backend).total

    def customer_details(self, backend: Invoices) -> dict[str, Any]:
        """The customer_* fields: live from the customer until finalization, frozen after."""
        if self.customer_snapshot is not None:
            return self.customer_snapshot
        customer = backend.customers.objects[self.customer]
        return {
            "customer_address": customer.address,
            "customer_email": customer.email,
            "customer_name": customer.name,
            "customer_phone": customer.phone,
            "customer_shipping": customer.shipping,
            "customer_tax_exempt": customer.tax_exempt,
        }


def _line_parent(item: InvoiceItem, backend: Invoices) -> dict[str, Any]:
    if item.subscription_item is not None:
        return {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None if item.recurring else item.id,
                "proration": item.proration,
                "proration_details": {"credited_items": None},
                "subscription": item.subscription,
                "subscription_item": item.subscription_item,
            },
            "type": "subscription_item_details",
        }
    return {
        "invoice_item_details": {
            "invoice_item": item.id,
            "proration": False,
            "proration_details": {"credited_items": None},
            "subscription": item.subscription,
        },
        "subscription_item_details": None,
        "type": "invoice_item_details",
    }


def _item_parent(item: InvoiceItem, backend: Invoices) -> dict[str, Any] | None:
    if item.subscription is None:
        return None
    return {"subscription_details": {"subscription": item.subscription,
                                     "subscription_item": item.subscription_item},
            "type": "subscription_details"}


def _pricing(item: InvoiceItem, backend: Invoices) -> dict[str, Any]:
    details = None if item.price is None else {"price": item.price, "product": item.product}
    return {"price_details": details, "type": "price_details",
            "unit_amount_decimal": item.unit_amount_decimal}


def _quantity_decimal(item: InvoiceItem, backend: Invoices) -> str:
    return str(item.quantity)


def _priced_line(item: InvoiceItem, backend: Invoices) -> dict[str, Any]:
    """The item's line as its invoice prices it (alone while it is pending)."""
    invoice = backend.invoices.objects.get(item.invoice or "")
    totals = (invoice.totals(backend) if invoice is not None and not item.deleted else
              backend.price_lines([item.line()], (), ()))
    priced = totals.lines[item.line_id]
    return copy.deepcopy({"discount_amounts": priced.discount_amounts, "taxes": priced.taxes})


def _item_amounts(item: InvoiceItem, backend: Invoices) -> dict[str, Any]:
    return {"discounts": list(item.discount_ids),
            "net_amount": backend.price_lines([item.line()], (), ()).lines[item.line_id].net,
            "tax_rates": backend.render_tax_rates(item.tax_rate_ids or [])}


INVOICE_ITEM = Shape(
    "invoiceitem", "InvoiceItem",
    own=("amount", "currency", "customer", "description", "discountable", "invoice",
         "metadata", "period", "proration", "quantity", "test_clock"),
    renamed={"date": "created"},
    fixed={"customer_account": None, "livemode": False},
    derived=(derived("pricing", _pricing), derived("quantity_decimal", _quantity_decimal),
             Derived(("discounts", "net_amount", "tax_rates"), _item_amounts),
             derived("parent", _item_parent)),
    absent={"frozen_fields": NOT_IN_EXAMPLE, "invoicing_rules": NOT_IN_EXAMPLE,
            "proration_details": NOT_IN_EXAMPLE, "deleted": STUB_ONLY},
)

#: An invoice item as an ``il_`` line of its invoice.
LINE_ITEM = Shape(
    "line_item", "InvoiceLineItem",
    own=("amount", "currency", "description", "discountable", "invoice", "metadata", "period",
         "quantity", "subscription"),
    renamed={"id": "line_id", "subtotal": "amount"},
    fixed={"livemode": False, "pretax_credit_amounts": []},
    derived=(derived("parent", _line_parent), derived("pricing", _pricing),
             derived("quantity_decimal", _quantity_decimal),
             derived("discounts", lambda item, backend: list(item.discount_ids)),
             Derived(("discount_amounts", "taxes"), _priced_line)),
    stub_when_deleted=False,
)

CUSTOMER_DETAILS = ("customer_address", "customer_email", "customer_name", "customer_phone",
                    "customer_shipping", "customer_tax_exempt")
AMOUNTS = ("amount_due", "amount_remaining", "subtotal", "subtotal_excluding_tax", "total",
           "total_excluding_tax", "total_discount_amounts", "total_taxes", "starting_balance",
           "ending_balance", "pre_payment_credit_notes_amount",
           "post_payment_credit_notes_amount")


@attrs.frozen
class InvoiceCredits:
    """What changes an invoice's amount due besides its lines: the customer's balance
    when it was finalized (``starting_balance``, negative for a credit) and after
    (``ending_balance``; None for a draft), and its credit notes before and after payment."""

    starting_balance: int = 0
    ending_balance: int | None = None
    pre_payment: int = 0
    post_payment: int = 0


def _amounts(invoice: Invoice, backend: Invoices) -> dict[str, Any]:
    totals = invoice.totals(backend)
    credits = backend.invoice_credits(invoice)
    applied = credits.starting_balance - (credits.ending_balance or 0)
    amount_due = max(totals.total + applied - credits.pre_payment, 0)
    return {"amount_due": amount_due,
            "amount_remaining": max(amount_due - invoice.amount_paid, 0),
            "subtotal": totals.subtotal, "subtotal_excluding_tax": totals.subtotal_excluding_tax,
            "total": totals.total, "total_excluding_tax": totals.total_excluding_tax,
            "total_discount_amounts": copy.deepcopy(totals.total_discount_amounts),
            "total_taxes": copy.deepcopy(totals.total_taxes),
            "starting_balance": credits.starting_balance,
            "ending_balance": credits.ending_balance,
            "pre_payment_credit_notes_amount": credits.pre_payment,
            "post_payment_credit_notes_amount": credits.post_payment}


def _lines(invoice: Invoice, backend: Invoices) -> dict[str, Any]:
    items = invoice.items(backend)
    return {
        "object": "list",
        "data": [LINE_ITEM.render(item, backend) for item in items[:INVOICE_LINES_INLINE]],
        "has_more": len(items) > INVOICE_LINES_INLINE,
        "url": f"/v1/invoices/{invoice.id}/lines",
    }


def _automatic_tax(invoice: Invoice, backend: Invoices) -> dict[str, Any]:
    return {"disabled_reason": None, "enabled": invoice.automatic_tax_enabled,
            "liability": None, "provider": None, "status": None}


def _payment_settings(invoice: Invoice, backend: Invoices) -> dict[str, Any]:
    return {"default_mandate": None, "payment_method_options": None,
            "payment_method_types": invoice.payment_method_types}


def _invoice_parent(invoice: Invoice, backend: Invoices) -> dict[str, Any] | None:
    if invoice.subscription is None:
        return None
    found = backend.find("subscription", invoice.subscription)
    return {"quote_details": None,
            "subscription_details": {"metadata": getattr(found, "metadata", None),
                                     "subscription": invoice.subscription,
                                     "subscription_proration_date": None},
            "type": "subscription_details"}


def _period(invoice: Invoice, backend: Invoices) -> dict[str, Any]:
    period = invoice.period or {"start": invoice.created, "end": invoice.created}
    return {"period_start": period["start"], "period_end": period["end"]}


INVOICE = Shape(
    "invoice", "Invoice",
    own=("account_tax_ids", "amount_paid", "attempt_count", "attempted", "auto_advance",
         "billing_reason", "collection_method", "created", "currency", "custom_fields", "customer",
         "default_payment_method", "description", "due_date", "effective_at", "footer",
         "metadata", "number", "on_behalf_of", "rendering", "shipping_details",
         "statement_descriptor", "status", "status_transitions", "test_clock"),
    fixed={"account_country": "US", "account_name": None, "amount_overpaid": 0,
           "amount_shipping": 0, "application": None, "automatically_finalizes_at": None,
           "customer_account": None, "customer_tax_ids": [],
           "default_source": None,
           "from_invoice": None, "hosted_invoice_url": None, "invoice_pdf": None,
           "issuer": {"account": None, "type": "self"}, "last_finalization_error": None,
           "latest_revision": None, "livemode": False, "next_payment_attempt": None,
           "receipt_number": None, "shipping_cost": None,
           "total_pretax_credit_amounts": [], "webhooks_delivered_at": None},
    derived=(Derived(AMOUNTS, _amounts),
             Derived(CUSTOMER_DETAILS, lambda invoice, backend: invoice.customer_details(backend)),
             derived("lines", _lines), derived("automatic_tax", _automatic_tax),
             derived("payment_settings", _payment_settings),
             derived("discounts", lambda invoice, backend: list(invoice.discount_ids)),
             derived("default_tax_rates", lambda invoice, backend: backend.render_tax_rates(
                 invoice.default_tax_rate_ids)),
             derived("parent", _invoice_parent),
             Derived(("period_end", "period_start"), _period)),
    absent={"amount_paid_off_stripe": NOT_IN_EXAMPLE, "status_details": NOT_IN_EXAMPLE,
            "threshold_reason": NOT_IN_EXAMPLE, "deleted": STUB_ONLY},
    included={"confirmation_secret": lambda invoice, backend: None,
              "payments": lambda invoice, backend: _payments(invoice, backend)},
)


def _payments(invoice: Invoice, backend: Invoices) -> dict[str, Any]:
    """The invoice's payments: its card payment's payment intent, as an invoice payment."""
    found = []
    intent = backend.payment_intents.objects.get(invoice.payment_intent or "")
    if intent is not None:
        paid = intent.status == "succeeded"
        found.append({
            "id": "inpay_" + intent.id.removeprefix("pi_"), "object": "invoice_payment",
            "amount_paid": intent.amount_received if paid else None,
            "amount_requested": intent.amount, "created": intent.created,
            "currency": intent.currency, "invoice": invoice.id, "is_default": True,
            "livemode": False,
            "payment": {"charge": None, "payment_intent": intent.id, "payment_record": None,
                        "type": "payment_intent"},
            "status": "paid" if paid else "canceled" if intent.status == "canceled" else "open",
            "status_transitions": {"canceled_at": intent.canceled_at,
                                   "paid_at": invoice.status_transitions["paid_at"] if paid
                                   else None}})
    return {"object": "list", "data": found, "has_more": False,
            "url": f"/v1/invoice_payments?invoice={invoice.id}"}

def _pending_matches(item: InvoiceItem, pending: bool) -> bool:
    return (item.invoice is None) == pending


class Invoices(Discounts, Payments, Catalog):
    """The invoices family: invoices and invoice items (and the items' lines)."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(
            INVOICE_ITEM, "invoice_items",
            filters=(Refused("customer_account", kind="account"), Equals("customer"),
                     Equals("invoice"), Matches("pending", test=_pending_matches),
                     Within("created")),
        ),
        Resource(
            INVOICE, "invoices",
            filters=(Refused("customer_account", kind="account"),
                     Equals("subscription"), Equals("customer"),
                     Equals("status"), Equals("collection_method"), Within("created"),
                     Within("due_date")),
            search={"created": search.number("created"), "currency": search.text("currency"),
                    "customer": search.text("customer"), "metadata": search.METADATA,
                    "number": search.text("number", substring=True),
                    "receipt_number": search.text("receipt_number", substring=True),
                    "status": search.text("status", substring=True),
                    "subscription": search.text("parent", "subscription_details",
                                                "subscription", substring=True),
                    "total": search.number("total")},
        ),
    )
    SHAPES = (LINE_ITEM,)
    invoice_items: Store[InvoiceItem]
    invoices: Store[Invoice]

    @handles("invoiceitem", "create")
    def create_invoice_item(self, params: dict[str, Any]) -> InvoiceItem:
        """A pending item, or a line of the draft named by ``params["invoice"]``."""
        _require_customer(params)
        if "subscription" in params:
            raise no_such("subscription", params["subscription"], param="subscription")
        customer = self.customers.get(params["customer"], param="customer")
        if params.get("quantity", 1) < 0:
            raise invalid_request("This value must be greater than or equal to 0.",
                                  param="quantity")
        # Every refusal comes before anything is stored (price_data creates a price).
        currency = self._incoming_currency(params, creating=True)
        assert currency is not None  # creating: a currency is found or the call refused
        invoice = None
        if "invoice" in params:
            invoice = self.invoices.get(params["invoice"], param="invoice")
            self._check_item_fits(customer.id, currency, invoice)
        elif customer.currency is not None and customer.currency != currency:
            raise invalid_request(
                "You cannot combine currencies on a single customer. This customer has an "
                f"active subscription, subscription schedule, discount, quote, or invoice item "
                f"with currency {customer.currency}.", param="currency")
        if "period" in params and params["period"]["end"] < params["period"]["start"]:
            raise invalid_request("The period end must be on or after the period start.",
                                  param="period[end]")
        now = self.now()
        item = InvoiceItem(id=self.new_id("ii_"), seq=self._next_seq(), created=now,
                           customer=customer.id, currency=currency, amount=0,
                           line_id=self.new_id("il_"), period={"end": now, "start": now})
        self._price_item(item, params)
        self._apply_item_details(item, params)
        self._apply_item_money(item, params)
        if customer.currency is None:
            self.change("update", customer).currency = item.currency
        self.change("create", item)
        if invoice is not None:
            self._attach(item, invoice)
        return item

    def _incoming_currency(self, params: dict[str, Any], *, creating: bool) -> str | None:
        """The currency an item create or update sets, checking how it is priced first."""
        price_id = params.get("pricing", {}).get("price")
        candidates = (("amount", "amount" in params), ("pricing[price]", price_id is not None),
                      ("price_data", "price_data" in params),
                      ("unit_amount_decimal", "unit_amount_decimal" in params))
        given = [name for name, present in candidates if present]
        if len(given) > 1:
            raise invalid_request(
                f"You may only specify one of these parameters: {', '.join(given)}.",
                param=given[1])
        if price_id is not None:
            price = self.prices.get(price_id, param="pricing[price]")
            self._check_item_price(price, "pricing[price]")
            return price.currency
        if "price_data" in params:
            data = params["price_data"]
            self.products.get(data["product"], param="price_data[product]")
            if "unit_amount" not in data and "unit_amount_decimal" not in data:
                raise bad_parameter("Missing required param: price_data[unit_amount].",
                                    param="price_data[unit_amount]", code="parameter_missing")
            return valid_currency(data["currency"], "price_data[currency]")
        if not creating:
            return None
        if not given:
            raise bad_parameter(
                "Missing required param: amount. Pass amount and currency, pricing[price], "
                "or price_data.", param="amount", code="parameter_missing")
        if "currency" not in params:
            raise bad_parameter("Missing required param: currency.", param="currency",
                                code="parameter_missing")
        return valid_currency(params["currency"])

    def _price_item(self, item: InvoiceItem, params: dict[str, Any]) -> None:
        """Set the item's price, unit amount and amount from already checked parameters."""
        if "quantity" in params:
            item.quantity = params["quantity"]
        price_id = params.get("pricing", {}).get("price")
        if "price_data" in params:
            price_id = self.create_price({**params["price_data"], "active": False}).id
        if price_id is not None:
            price = self.prices.objects[price_id]
            item.price, item.product, item.currency = price.id, price.product, price.currency
            item.unit_amount_decimal = price.unit_amount_decimal
            item.amount = price.amount_for(item.quantity)
        elif "amount" in params:
            item.price = item.product = None
            item.amount = params["amount"]
            item.unit_amount_decimal = _decimal_string(
                decimal.Decimal(item.amount) / (item.quantity or 1))
        elif "unit_amount_decimal" in params:
            item.price = item.product = None
            item.unit_amount_decimal = params["unit_amount_decimal"]
            item.amount = _units_amount(item.unit_amount_decimal, item.quantity)
        elif "quantity" in params:
            if item.price is not None:
                item.amount = self.prices.objects[item.price].amount_for(item.quantity)
            else:
                item.amount = _units_amount(item.unit_amount_decimal, item.quantity)

    @staticmethod
    def _check_item_price(price: Price, param: str) -> None:
        if price.type == "recurring":
            raise invalid_request(
                "The price specified is set to `type=recurring` but this field only accepts "
                "prices with `type=one_time`.", param=param)
        if price.custom_unit_amount is not None:
            raise invalid_request(
                "The price specified has a custom_unit_amount, which invoice items can't use.",
                param=param)

    @staticmethod
    def _apply_item_details(item: InvoiceItem, params: dict[str, Any]) -> None:
        if "description" in params:
            item.description = blank_to_none(params["description"])
        if "discountable" in params:
            item.discountable = params["discountable"]
        if "period" in params:
            item.period = {"end": params["period"]["end"], "start": params["period"]["start"]}
        if "metadata" in params:
            item.metadata = merge_metadata(item.metadata, params["metadata"])

    @staticmethod
    def _check_item_fits(customer_id: str, currency: str | None, invoice: Invoice) -> None:
        if invoice.status != "draft":
            raise invalid_request(
                f"Invoice items can only be added to draft invoices; invoice {invoice.id} is "
                f"{invoice.status}.", param="invoice")
        if invoice.customer != customer_id:
            raise invalid_request(
                f"The invoice item's customer ({customer_id}) must be the customer of invoice "
                f"{invoice.id} ({invoice.customer}).", param="invoice")
        if currency is not None and invoice.currency != currency:
            raise invalid_request(
                f"The invoice item's currency ({currency}) must match the currency of "
                f"invoice {invoice.id} ({invoice.currency}).", param="currency")

    def _attach(self, item: InvoiceItem, invoice: Invoice) -> None:
        self.change("update", item).invoice = invoice.id
        self.change("update", invoice).item_ids.append(item.id)

    def _editable_item(self, item_id: str, verb: str) -> InvoiceItem:
        item = self.invoice_items.get(item_id)
        if item.invoice is not None:
            invoice = self.invoices.objects[item.invoice]
            if invoice.status != "draft":
                raise invalid_request(
                    f"You can't {verb} invoice item {item.id}: it belongs to invoice "
                    f"{invoice.id}, which is {invoice.status}. Only items that are pending or on "
                    "a draft invoice can change.")
        return item

    @handles("invoiceitem", "update")
    def update_invoice_item(self, item_id: str, params: dict[str, Any]) -> InvoiceItem:
        """Change a pending item or one on a draft; its invoice's totals follow."""
        item = self.change("update", self._editable_item(item_id, "update"))
        currency = self._incoming_currency(params, creating=False)
        if currency is not None and currency != item.currency:
            if item.invoice is not None:
                self._check_item_fits(item.customer, currency, self.invoices.objects[item.invoice])
            raise invalid_request(
                f"The invoice item's currency is {item.currency}; its new price must be in "
                f"{item.currency} too, not {currency}.", param="currency")
        if "period" in params and params["period"]["end"] < params["period"]["start"]:
            raise invalid_request("The period end must be on or after the period start.",
                                  param="period[end]")
        if params.get("quantity", 0) < 0:
            raise invalid_request("This value must be greater than or equal to 0.",
                                  param="quantity")
        self._price_item(item, params)
        self._apply_item_details(item, params)
        self._apply_item_money(item, params)
        return item

    def _apply_item_money(self, item: InvoiceItem, params: dict[str, Any]) -> None:
        """An item's own discounts and tax rates."""
        if "tax_rates" in params:
            item.tax_rate_ids = (None if params["tax_rates"] == "" else
                                 self.usable_tax_rates(params["tax_rates"], "tax_rates"))
        if "discounts" in params:
            found = self.redeem(params["discounts"], customer=item.customer,
                                currency=item.currency, subtotal=item.amount,
                                param="discounts", invoice_item=item.id)
            self.drop_discounts(item.discount_ids, keep=found)
            item.discount_ids = found

    @handles("invoiceitem", "delete")
    def delete_invoice_item(self, item_id: str, params: dict[str, Any] | None = None
                            ) -> InvoiceItem:
        """Delete a pending item or one on a draft (it leaves the invoice's lines)."""
        item = self._editable_item(item_id, "delete")
        if item.invoice is not None:
            # Announced first: the invoice's lines and totals show the item until it goes.
            self.change("update", self.invoices.objects[item.invoice]).item_ids.remove(item.id)
        self.change("delete", item).deleted = True
        return item

    @handles("invoice", "create")
    def create_invoice(self, params: dict[str, Any]) -> Invoice:
        """A draft for ``params["customer"]``; pulls in pending items only if asked to."""
        _require_customer(params)
        for unsupported, kind in (("subscription", "subscription"), ("from_invoice", None)):
            if unsupported in params:
                if kind is None:
                    raise invalid_request(
                        "Invoice revisions (from_invoice) are not supported by this sandbox.",
                        param=unsupported)
                raise no_such(kind, params[unsupported], param=unsupported)
        customer = self.customers.get(params["customer"], param="customer")
        currency = valid_currency(params["currency"]) if "currency" in params else (
            customer.currency or DEFAULT_CURRENCY)
        invoice = Invoice(id=self.new_id("in_"), seq=self._next_seq(), created=self.now(),
                          customer=customer.id, currency=currency)
        self._apply_invoice(invoice, params)
        self._check_due_terms(invoice)
        self.change("create", invoice)
        if params.get("pending_invoice_items_behavior", "exclude") == "include":
            pending = [item for item in self.lookup("invoiceitem", "customer", customer.id)
                       if item.invoice is None and item.currency == currency]
            for item in pending:
                self._attach(item, invoice)
        return invoice

    # Fields a finalized invoice still accepts; everything else is fixed at finalization.
    FINALIZED_EDITABLE = frozenset({"metadata", "description", "footer", "custom_fields",
                                    "auto_advance", "rendering", "expand"})

    @handles("invoice", "update")
    def update_invoice(self, invoice_id: str, params: dict[str, Any]) -> Invoice:
        """Change a draft freely; a finalized invoice only in ``FINALIZED_EDITABLE`` fields."""
        invoice = self.change("update", self.invoices.get(invoice_id))
        if invoice.status != "draft":
            for name in params:
                if name not in self.FINALIZED_EDITABLE:
                    raise invalid_request(
                        f"This invoice is {invoice.status}; {name} can only be changed while "
                        "an invoice is a draft.", param=name)
            if "auto_advance" in params and invoice.status in ("paid", "void"):
                raise invalid_request(
                    f"This invoice is {invoice.status}; auto_advance can't change any more.",
                    param="auto_advance")
        self._apply_invoice(invoice, params)
        self._check_due_terms(invoice)  # a refusal undoes the whole update
        return invoice

    def _apply_invoice(self, invoice: Invoice, params: dict[str, Any]) -> None:
        if "days_until_due" in params and "due_date" in params:
            raise invalid_request(
                "You may only specify one of these parameters: days_until_due, due_date.",
                param="days_until_due")
        if "collection_method" in params:
            invoice.collection_method = params["collection_method"]
            if invoice.collection_method == "charge_automatically":
                invoice.days_until_due = invoice.due_date = None
        if "days_until_due" in params:
            invoice.days_until_due = params["days_until_due"]
            invoice.due_date = invoice.created + params["days_until_due"] * SECONDS_PER_DAY
        if "due_date" in params:
            invoice.due_date = params["due_date"]
            invoice.days_until_due = None
        if "auto_advance" in params:
            invoice.auto_advance = params["auto_advance"]
        for field in ("description", "footer", "statement_descriptor", "number",
                      "default_payment_method"):
            if field in params:
                setattr(invoice, field, blank_to_none(params[field]))
        if "on_behalf_of" in params:
            raise no_such("account", params["on_behalf_of"], param="on_behalf_of")
        if "custom_fields" in params:
            invoice.custom_fields = given_custom_fields(params["custom_fields"])
        if "metadata" in params:
            invoice.metadata = merge_metadata(invoice.metadata, params["metadata"])
        if "account_tax_ids" in params:
            ids = params["account_tax_ids"]
            invoice.account_tax_ids = None if ids == "" else list(ids)
        if "automatic_tax" in params:
            invoice.automatic_tax_enabled = params["automatic_tax"]["enabled"]
        if "default_tax_rates" in params:
            invoice.default_tax_rate_ids = self.usable_tax_rates(params["default_tax_rates"],
                                                                 "default_tax_rates")
        if "discounts" in params:
            found = self.redeem(params["discounts"], customer=invoice.customer,
                                currency=invoice.currency,
                                subtotal=invoice.totals(self).subtotal, param="discounts",
                                invoice=invoice.id)
            self.drop_discounts(invoice.discount_ids, keep=found)
            invoice.discount_ids = found
        if "payment_settings" in params:
            types = params["payment_settings"].get("payment_method_types")
            if types is not None:
                invoice.payment_method_types = None if types == "" else list(types)
        if "rendering" in params:
            given = params["rendering"]
            current = invoice.rendering or {"amount_tax_display": None, "pdf": None,
                                            "template": None, "template_version": None}
            rendering = dict(current)
            for field in ("amount_tax_display", "template", "template_version"):
                if field in given:
                    rendering[field] = blank_to_none(given[field])
            if "pdf" in given:
                rendering["pdf"] = {"page_size": given["pdf"].get("page_size")}
            invoice.rendering = rendering
        if "shipping_details" in params:
            invoice.shipping_details = merged_shipping(params["shipping_details"],
                                                 invoice.shipping_details)

    @staticmethod
    def _check_due_terms(invoice: Invoice) -> None:
        if invoice.collection_method == "send_invoice":
            if invoice.due_date is None:
                raise invalid_request(
                    "Invoices with collection_method=send_invoice need days_until_due or "
                    "due_date.", param="days_until_due")
        elif invoice.days_until_due is not None or invoice.due_date is not None:
            raise invalid_request(
                "You can only set days_until_due or due_date when collection_method is "
                "send_invoice.", param="days_until_due" if invoice.days_until_due is not None
                else "due_date")

    @handles("invoice", "delete")
    def delete_invoice(self, invoice_id: str, params: dict[str, Any] | None = None) -> Invoice:
        """Delete a draft together with its items; anything else must be voided instead."""
        invoice = self.change("delete", self.invoices.get(invoice_id))
        if invoice.status != "draft":
            raise invalid_request(
                f"You can only delete draft invoices. This invoice is {invoice.status}; "
                + ("void it instead." if invoice.status in ("open", "uncollectible")
                   else "it can no longer be deleted."))
        for item in invoice.items(self):
            self.change("delete", item).deleted = True
        invoice.deleted = True
        return invoice

    @handles("invoice", "finalize")
    def finalize_invoice(self, invoice_id: str, params: dict[str, Any] | None = None
                         ) -> Invoice:
        """draft -> open, numbered; paid at once if nothing is due."""
        invoice = self.change("finalize", self.invoices.get(invoice_id))
        if invoice.status != "draft":
            raise invalid_request(
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.")
        if params and "auto_advance" in params:
            invoice.auto_advance = params["auto_advance"]
        self._finalize(invoice)
        return invoice

    def _finalize(self, invoice: Invoice) -> None:
        now = self.now()
        customer = self.customers.objects[invoice.customer]
        invoice.customer_snapshot = invoice.customer_details(self)
        if invoice.number is None:
            invoice.number = f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"
            self.change("update", customer).next_invoice_sequence += 1
        if invoice.days_until_due is not None:
            invoice.due_date = now + invoice.days_until_due * SECONDS_PER_DAY
        invoice.status = "open"
        invoice.effective_at = now
        invoice.status_transitions["finalized_at"] = now
        self.invoice_finalized(invoice)
        if _amounts(invoice, self)["amount_due"] <= 0:
            # Stripe settles an invoice with nothing due as soon as it is finalized.
            self._mark_paid(invoice, now)

    def invoice_credits(self, invoice: Invoice) -> InvoiceCredits:
        """What the customer's balance and credit notes change about ``invoice``'s amount
        due (the credit notes family says; here, nothing)."""
        return InvoiceCredits(ending_balance=None if invoice.status == "draft" else 0)

    def invoice_finalized(self, invoice: Invoice) -> None:
        """``invoice`` has just left draft (the credit notes family applies the customer's
        balance to it here)."""

    def _mark_paid(self, invoice: Invoice, now: int) -> None:
        invoice.amount_paid = _amounts(invoice, self)["amount_due"]
        invoice.status = "paid"
        invoice.status_transitions["paid_at"] = now
        self.invoice_paid(invoice)

    def invoice_paid(self, invoice: Invoice) -> None:
        """Told when an invoice is paid (by card, out of band, or with nothing due)."""

    def invoice_payment_failed(self, invoice: Invoice) -> None:
        """Told when an attempt to charge an invoice fails or waits for authentication."""

    @handles("invoice", "pay")
    def pay_invoice(self, invoice_id: str, params: dict[str, Any]) -> Invoice:
        """Pay out of band or by card; a draft is finalized first.

        A card payment goes through a payment intent and its charge, as on Stripe; a decline
        raises the 402 card error and a card that needs authentication Stripe's
        ``invoice_payment_intent_requires_action``; either way the attempt is counted.
        """
        invoice = self.change("pay", self.invoices.get(invoice_id))
        if invoice.status == "paid":
            raise invalid_request("Invoice is already paid.")
        if invoice.status == "void":
            raise invalid_request("This invoice has been voided and can no longer be paid.")
        if invoice.status == "draft":
            self._finalize(invoice)
            if invoice.status == "paid":
                return invoice
        processing = (self.payment_intents.objects.get(invoice.payment_intent)
                      if invoice.payment_intent else None)
        if processing is not None and processing.status == "processing":
            raise invalid_request(
                f"This invoice's payment ({processing.id}) is processing: it is paid when the "
                "bank settles it. Wait for it, or cancel that payment intent first.")
        if params.get("paid_out_of_band"):
            self._mark_paid(invoice, self.now())
            return invoice
        customer = self.customers.objects[invoice.customer]
        param = next((name for name in ("payment_method", "source") if name in params), None)
        reference = (params.get("payment_method") or params.get("source")
                     or invoice.default_payment_method
                     or customer.invoice_settings["default_payment_method"]
                     or customer.default_source)
        if reference is None:
            raise invalid_request(
                "This customer has no attached payment source or default payment method. "
                "Please consider adding a default payment method. (In this sandbox, pay with "
                "payment_method=pm_card_visa or paid_out_of_band=true.)")
        intent = self.charge_for_invoice(
            invoice.payment_intent, amount=_amounts(invoice, self)["amount_remaining"],
            currency=invoice.currency, customer=invoice.customer, reference=reference,
            param=param or "payment_method")
        invoice.payment_intent = intent.id
        invoice.attempted = True
        invoice.attempt_count += 1
        if intent.status == "succeeded":
            self._mark_paid(invoice, self.now())
            return invoice
        if intent.status == "processing":  # a bank debit: paid when the bank settles it
            return invoice
        self.invoice_payment_failed(invoice)
        if intent.status == "requires_action":
            raise ApiError(
                status=402, type="card_error", code="invoice_payment_intent_requires_action",
                message="This payment requires additional user action before it can be "
                        "completed successfully. Payment can be completed using the "
                        "PaymentIntent associated with the invoice.",
                keeps_changes=True, extra={"payment_intent": self.render(intent)})
        raise self.payment_error(intent)

    def payment_succeeded(self, intent: PaymentIntent) -> None:
        """An invoice's payment intent that succeeds later (authenticated, say) pays it."""
        for invoice in self.lookup("invoice", "payment_intent", intent.id):
            if invoice.status in ("open", "uncollectible"):
                self._mark_paid(self.change("pay", invoice), self.now())

    @handles("invoice", "void")
    def void_invoice(self, invoice_id: str, params: dict[str, Any] | None = None) -> Invoice:
        """open or uncollectible -> void."""
        invoice = self.change("void", self.invoices.get(invoice_id))
        if invoice.status not in ("open", "uncollectible"):
            advice = {"draft": " Delete a draft invoice instead.",
                      "paid": " A paid invoice can no longer be voided.",
                      "void": " It is already void."}[invoice.status]
            raise invalid_request(
                f"You can only void open or uncollectible invoices. This invoice is "
                f"{invoice.status}.{advice}")
        invoice.status = "void"
        invoice.status_transitions["voided_at"] = self.now()
        return invoice

    @handles("invoice", "mark_uncollectible")
    def mark_uncollectible(self, invoice_id: str, params: dict[str, Any] | None = None
                           ) -> Invoice:
        """open -> uncollectible."""
        invoice = self.change("mark_uncollectible", self.invoices.get(invoice_id))
        if invoice.status != "open":
            raise invalid_request(
                f"You can only mark open invoices as uncollectible. This invoice is "
                f"{invoice.status}.")
        invoice.status = "uncollectible"
        invoice.status_transitions["marked_uncollectible_at"] = self.now()
        return invoice

    @handles("invoice", "send")
    def send_invoice(self, invoice_id: str, params: dict[str, Any] | None = None) -> Invoice:
        """Finalize a ``send_invoice`` draft (no email is sent); open ones are returned as is."""
        invoice = self.change("send", self.invoices.get(invoice_id))
        if invoice.collection_method != "send_invoice":
            raise invalid_request(
                "You can only manually send an invoice if its collection method is "
                "'send_invoice'.")
        if invoice.status in ("paid", "void"):
            raise invalid_request(
                f"You can't send this invoice: it is {invoice.status}. Only draft, open and "
                "uncollectible invoices can be sent.")
        if invoice.status == "draft":
            self._finalize(invoice)
        return invoice

    @route("GET", "/v1/invoices/{id}/lines", "InvoiceLineItemListParams", kind="line_item",
           name="lines")
    def list_invoice_lines(self, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """An invoice's lines, in the order they were added (unlike top-level lists)."""
        invoice = self.invoices.get(invoice_id)
        return pages.parts_page(self, invoice.items(self), params,
                                f"/v1/invoices/{invoice.id}/lines", shape=LINE_ITEM,
                                kind="line_item", cursor=lambda item: item.line_id)


def _units_amount(unit_amount_decimal: str | None, quantity: int) -> int:
    unit = decimal.Decimal(unit_amount_decimal or 0)
    return int((unit * quantity).to_integral_value(decimal.ROUND_HALF_UP))


def _decimal_string(value: decimal.Decimal) -> str:
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(int(normalized))
    return format(normalized, "f")


def _require_customer(params: dict[str, Any]) -> None:
    """Invoices and invoice items belong to a customer, as Stripe requires."""
    refuse_accounts(params)
    if "customer" not in params:
        raise bad_parameter("Missing required param: customer.", param="customer",
                            code="parameter_missing")
