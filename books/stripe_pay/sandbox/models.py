"""The sandbox's state and Stripe's rules: customers, products, prices, invoice items, invoices.

A :class:`Backend` holds every object of one sandbox in memory. Handlers call its methods with
parameters already validated against the SDK's schema (see ``params.py``); the methods apply
Stripe's rules (the invoice state machine, which items belong on which invoice, which objects can
be deleted) and raise :class:`~.errors.ApiError` with Stripe's wording where Stripe refuses.
Each model renders itself in the shape Stripe returns for the SDK's API version.

The backend is not thread-safe on its own: the server holds :attr:`Backend.lock` around each
request, which also makes every request atomic.
"""

from __future__ import annotations

import decimal
import itertools
import math
import random
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import attrs

from .errors import ApiError, bad_parameter, invalid_request, no_such

ID_ALPHABET = string.ascii_letters + string.digits

# Currencies Stripe accepts for charges; a price or invoice item in any other is refused.
_CURRENCY_CODES = """
usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn
bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf
gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr
lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen
pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd
top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
"""
CURRENCIES = frozenset(_CURRENCY_CODES.split())

DEFAULT_CURRENCY = "usd"

# Stripe's test payment methods that succeed; the declining ones map to their decline codes.
DECLINING_TEST_CARDS = {
    "chargedeclinedinsufficientfunds": ("card_declined", "insufficient_funds",
                                        "Your card has insufficient funds."),
    "chargedeclinedexpiredcard": ("expired_card", "expired_card", "Your card has expired."),
    "chargedeclinedincorrectcvc": ("incorrect_cvc", "incorrect_cvc",
                                   "Your card's security code is incorrect."),
    "chargedeclined": ("card_declined", "generic_decline", "Your card was declined."),
}

ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500
INVOICE_LINES_INLINE = 10
SECONDS_PER_DAY = 86_400


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def _address(given: Any, previous: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if given == "" or given is None:
        return None
    previous = previous or {}
    return {field: _blank_to_none(given.get(field, previous.get(field)))
            for field in ADDRESS_FIELDS}


def _shipping(given: Any, previous: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if given == "" or given is None:
        return None
    previous = previous or {}
    return {
        "address": _address(given.get("address", {}), previous.get("address")),
        "name": _blank_to_none(given.get("name", previous.get("name"))),
        "phone": _blank_to_none(given.get("phone", previous.get("phone"))),
    }


def _custom_fields(given: Any) -> list[dict[str, str]] | None:
    if given == "" or given is None:
        return None
    return [{"name": field["name"], "value": field["value"]} for field in given]


def merge_metadata(current: dict[str, str], given: Any) -> dict[str, str]:
    """Stripe's metadata update: keys merge, an empty value deletes a key, ``""`` clears all."""
    if given == "":
        return {}
    merged = dict(current)
    for key, value in given.items():
        if value == "":
            merged.pop(key, None)
            continue
        if len(key) > METADATA_MAX_KEY_LENGTH:
            raise bad_parameter(
                f"Metadata keys can have at most {METADATA_MAX_KEY_LENGTH} characters; "
                f"'{key}' has {len(key)}.", param=f"metadata[{key}]")
        if len(value) > METADATA_MAX_VALUE_LENGTH:
            raise bad_parameter(
                f"Metadata values can have at most {METADATA_MAX_VALUE_LENGTH} characters.",
                param=f"metadata[{key}]")
        merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise bad_parameter(f"Metadata can have at most {METADATA_MAX_KEYS} keys.",
                            param="metadata")
    return merged


def _currency(value: str, param: str = "currency") -> str:
    code = value.lower()
    if code not in CURRENCIES:
        raise invalid_request(
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)), param=param)
    return code


def deleted_stub(id: str, kind: str) -> dict[str, Any]:
    """What Stripe answers for a deleted object: its id, its kind and ``deleted``."""
    return {"id": id, "object": kind, "deleted": True}


@attrs.define(eq=False)
class Customer:
    """A customer; ``currency`` is fixed by its first invoice item, as in Stripe."""

    id: str
    seq: int
    created: int
    invoice_prefix: str
    address: dict[str, Any] | None = None
    balance: int = 0
    business_name: str | None = None
    currency: str | None = None
    description: str | None = None
    email: str | None = None
    individual_name: str | None = None
    invoice_settings: dict[str, Any] = attrs.field(factory=lambda: {
        "custom_fields": None, "default_payment_method": None, "footer": None,
        "rendering_options": None,
    })
    metadata: dict[str, str] = attrs.field(factory=dict)
    name: str | None = None
    next_invoice_sequence: int = 1
    phone: str | None = None
    preferred_locales: list[str] = attrs.field(factory=list)
    shipping: dict[str, Any] | None = None
    tax_exempt: str = "none"
    deleted: bool = False

    OBJECT = "customer"

    def render(self, backend: Backend) -> dict[str, Any]:
        if self.deleted:
            return deleted_stub(self.id, self.OBJECT)
        return {
            "id": self.id,
            "object": self.OBJECT,
            "address": self.address,
            "balance": self.balance,
            "business_name": self.business_name,
            "created": self.created,
            "currency": self.currency,
            "customer_account": None,
            "default_source": None,
            "delinquent": False,
            "description": self.description,
            "discount": None,
            "email": self.email,
            "individual_name": self.individual_name,
            "invoice_prefix": self.invoice_prefix,
            "invoice_settings": self.invoice_settings,
            "livemode": False,
            "metadata": self.metadata,
            "name": self.name,
            "next_invoice_sequence": self.next_invoice_sequence,
            "phone": self.phone,
            "preferred_locales": self.preferred_locales,
            "shipping": self.shipping,
            "tax_exempt": self.tax_exempt,
            "test_clock": None,
        }


@attrs.define(eq=False)
class Product:
    """A product; it cannot be deleted once it has prices."""

    id: str
    seq: int
    created: int
    name: str
    updated: int
    active: bool = True
    default_price: str | None = None
    description: str | None = None
    images: list[str] = attrs.field(factory=list)
    marketing_features: list[dict[str, str]] = attrs.field(factory=list)
    metadata: dict[str, str] = attrs.field(factory=dict)
    package_dimensions: dict[str, float] | None = None
    shippable: bool | None = None
    statement_descriptor: str | None = None
    tax_code: str | None = None
    type: str = "service"
    unit_label: str | None = None
    url: str | None = None
    deleted: bool = False

    OBJECT = "product"

    def render(self, backend: Backend) -> dict[str, Any]:
        if self.deleted:
            return deleted_stub(self.id, self.OBJECT)
        return {
            "id": self.id,
            "object": self.OBJECT,
            "active": self.active,
            "created": self.created,
            "default_price": self.default_price,
            "description": self.description,
            "images": self.images,
            "livemode": False,
            "marketing_features": self.marketing_features,
            "metadata": self.metadata,
            "name": self.name,
            "package_dimensions": self.package_dimensions,
            "shippable": self.shippable,
            "statement_descriptor": self.statement_descriptor,
            "tax_code": self.tax_code,
            "type": self.type,
            "unit_label": self.unit_label,
            "updated": self.updated,
            "url": self.url,
        }


@attrs.define(eq=False)
class Price:
    """A price; its amounts are immutable and it can only be archived, never deleted."""

    id: str
    seq: int
    created: int
    currency: str
    product: str
    type: str
    active: bool = True
    billing_scheme: str = "per_unit"
    custom_unit_amount: dict[str, Any] | None = None
    lookup_key: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    nickname: str | None = None
    recurring: dict[str, Any] | None = None
    tax_behavior: str = "unspecified"
    tiers: list[dict[str, Any]] | None = None
    tiers_mode: str | None = None
    transform_quantity: dict[str, Any] | None = None
    unit_amount: int | None = None
    unit_amount_decimal: str | None = None
    deleted: bool = False

    OBJECT = "price"

    def render(self, backend: Backend) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": self.OBJECT,
            "active": self.active,
            "billing_scheme": self.billing_scheme,
            "created": self.created,
            "currency": self.currency,
            "custom_unit_amount": self.custom_unit_amount,
            "livemode": False,
            "lookup_key": self.lookup_key,
            "metadata": self.metadata,
            "nickname": self.nickname,
            "product": self.product,
            "recurring": self.recurring,
            "tax_behavior": self.tax_behavior,
            "tiers_mode": self.tiers_mode,
            "transform_quantity": self.transform_quantity,
            "type": self.type,
            "unit_amount": self.unit_amount,
            "unit_amount_decimal": self.unit_amount_decimal,
        }

    def amount_for(self, quantity: int) -> int:
        """The amount in minor units for ``quantity`` of this price, as Stripe bills it."""
        if self.billing_scheme == "tiered":
            return self._tiered_amount(quantity)
        units = decimal.Decimal(quantity)
        if self.transform_quantity:
            divided = units / self.transform_quantity["divide_by"]
            rounding = math.ceil if self.transform_quantity["round"] == "up" else math.floor
            units = decimal.Decimal(rounding(divided))
        unit = decimal.Decimal(self.unit_amount_decimal or 0)
        return int((unit * units).to_integral_value(decimal.ROUND_HALF_UP))

    def _tiered_amount(self, quantity: int) -> int:
        tiers = self.tiers or []
        total = decimal.Decimal(0)
        floor = 0
        for tier in tiers:
            up_to = tier["up_to"]
            unit = decimal.Decimal(tier.get("unit_amount_decimal") or tier.get("unit_amount") or 0)
            flat = decimal.Decimal(tier.get("flat_amount_decimal") or tier.get("flat_amount") or 0)
            if self.tiers_mode == "volume":
                if up_to == "inf" or quantity <= up_to:
                    total = unit * quantity + flat
                    break
                continue
            if quantity <= floor:
                break
            ceiling = quantity if up_to == "inf" else min(quantity, up_to)
            total += unit * (ceiling - floor) + flat
            floor = ceiling if up_to != "inf" else quantity
        return int(total.to_integral_value(decimal.ROUND_HALF_UP))


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
    deleted: bool = False

    OBJECT = "invoiceitem"

    def pricing(self) -> dict[str, Any]:
        details = None if self.price is None else {"price": self.price, "product": self.product}
        return {"price_details": details, "type": "price_details",
                "unit_amount_decimal": self.unit_amount_decimal}

    def render(self, backend: Backend) -> dict[str, Any]:
        if self.deleted:
            return deleted_stub(self.id, self.OBJECT)
        return {
            "id": self.id,
            "object": self.OBJECT,
            "amount": self.amount,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": None,
            "date": self.created,
            "description": self.description,
            "discountable": self.discountable,
            "discounts": [],
            "invoice": self.invoice,
            "livemode": False,
            "metadata": self.metadata,
            "net_amount": self.amount,
            "parent": None,
            "period": self.period,
            "pricing": self.pricing(),
            "proration": False,
            "quantity": self.quantity,
            "quantity_decimal": str(self.quantity),
            "tax_rates": [],
            "test_clock": None,
        }

    def render_line(self) -> dict[str, Any]:
        """This item as an ``il_`` line of its invoice."""
        return {
            "id": self.line_id,
            "object": "line_item",
            "amount": self.amount,
            "currency": self.currency,
            "description": self.description,
            "discount_amounts": [],
            "discountable": self.discountable,
            "discounts": [],
            "invoice": self.invoice,
            "livemode": False,
            "metadata": self.metadata,
            "parent": {
                "invoice_item_details": {
                    "invoice_item": self.id,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
                "type": "invoice_item_details",
            },
            "period": self.period,
            "pretax_credit_amounts": [],
            "pricing": self.pricing(),
            "quantity": self.quantity,
            "quantity_decimal": str(self.quantity),
            "subscription": None,
            "subtotal": self.amount,
            "taxes": [],
        }


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
    deleted: bool = False

    OBJECT = "invoice"

    def items(self, backend: Backend) -> list[InvoiceItem]:
        return [item for item in (backend.invoice_items.objects[i] for i in self.item_ids)
                if not item.deleted]

    def total(self, backend: Backend) -> int:
        return sum(item.amount for item in self.items(backend))

    def customer_details(self, backend: Backend) -> dict[str, Any]:
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

    def render_lines(self, backend: Backend) -> dict[str, Any]:
        lines = [item.render_line() for item in self.items(backend)]
        return {
            "object": "list",
            "data": lines[:INVOICE_LINES_INLINE],
            "has_more": len(lines) > INVOICE_LINES_INLINE,
            "url": f"/v1/invoices/{self.id}/lines",
        }

    def render(self, backend: Backend) -> dict[str, Any]:
        if self.deleted:
            return deleted_stub(self.id, self.OBJECT)
        total = self.total(backend)
        amount_due = max(total, 0)
        finalized = self.status != "draft"
        return {
            "id": self.id,
            "object": self.OBJECT,
            "account_country": "US",
            "account_name": None,
            "account_tax_ids": self.account_tax_ids,
            "amount_due": amount_due,
            "amount_overpaid": 0,
            "amount_paid": self.amount_paid,
            "amount_remaining": max(amount_due - self.amount_paid, 0),
            "amount_shipping": 0,
            "application": None,
            "attempt_count": self.attempt_count,
            "attempted": self.attempted,
            "auto_advance": self.auto_advance,
            "automatic_tax": {"disabled_reason": None, "enabled": self.automatic_tax_enabled,
                              "liability": None, "provider": None, "status": None},
            "automatically_finalizes_at": None,
            "billing_reason": "manual",
            "collection_method": self.collection_method,
            "created": self.created,
            "currency": self.currency,
            "custom_fields": self.custom_fields,
            "customer": self.customer,
            "customer_account": None,
            **self.customer_details(backend),
            "customer_tax_ids": [],
            "default_payment_method": self.default_payment_method,
            "default_source": None,
            "default_tax_rates": [],
            "description": self.description,
            "discounts": [],
            "due_date": self.due_date,
            "effective_at": self.effective_at,
            "ending_balance": 0 if finalized else None,
            "footer": self.footer,
            "from_invoice": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": self.render_lines(backend),
            "livemode": False,
            "metadata": self.metadata,
            "next_payment_attempt": None,
            "number": self.number,
            "on_behalf_of": self.on_behalf_of,
            "parent": None,
            "payment_settings": {"default_mandate": None, "payment_method_options": None,
                                 "payment_method_types": self.payment_method_types},
            "period_end": self.created,
            "period_start": self.created,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": self.rendering,
            "shipping_cost": None,
            "shipping_details": self.shipping_details,
            "starting_balance": 0,
            "statement_descriptor": self.statement_descriptor,
            "status": self.status,
            "status_transitions": self.status_transitions,
            "subtotal": total,
            "subtotal_excluding_tax": total,
            "test_clock": None,
            "total": total,
            "total_discount_amounts": [],
            "total_excluding_tax": total,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": None,
        }


Model = Customer | Product | Price | InvoiceItem | Invoice
M = TypeVar("M", Customer, Product, Price, InvoiceItem, Invoice)


@attrs.define(eq=False)
class Store(Generic[M]):
    """Objects of one kind by id, in creation order; deleted ones stay as tombstones.

    Tombstones let a deleted customer still answer its deleted stub, and let list cursors and
    search pages that point at a deleted object keep their place.
    """

    kind: str
    objects: dict[str, M] = attrs.field(factory=dict)

    def get(self, object_id: str, *, param: str = "id", deleted_ok: bool = False) -> M:
        """The live object, or Stripe's ``No such <kind>`` error naming ``param``."""
        found = self.objects.get(object_id)
        if found is None or (found.deleted and not deleted_ok):
            raise no_such(self.kind, object_id, param=param)
        return found

    def newest_first(self) -> Iterator[M]:
        """Live objects, newest first; equal ``created`` seconds keep creation order."""
        return (obj for obj in reversed(self.objects.values()) if not obj.deleted)

    def live_count(self) -> int:
        return sum(1 for obj in self.objects.values() if not obj.deleted)


def created_filter(value: Any) -> Callable[[int | None], bool]:
    """A test for Stripe's ``created``-style filter: an exact int or a ``gt/gte/lt/lte`` dict."""
    if isinstance(value, int):
        return lambda stamp: stamp == value
    bounds = value

    def matches(stamp: int | None) -> bool:
        if stamp is None:
            return False
        return (("gt" not in bounds or stamp > bounds["gt"])
                and ("gte" not in bounds or stamp >= bounds["gte"])
                and ("lt" not in bounds or stamp < bounds["lt"])
                and ("lte" not in bounds or stamp <= bounds["lte"]))
    return matches


# Which fields of which objects `expand[]` may replace by the object they name.
EXPANDABLE: dict[str, dict[str, str | None]] = {
    "customer": {"default_source": None, "test_clock": None,
                 "invoice_settings.default_payment_method": None},
    "product": {"default_price": "price"},
    "price": {"product": "product"},
    "invoiceitem": {"customer": "customer", "invoice": "invoice",
                    "pricing.price_details.price": "price", "test_clock": None},
    "invoice": {"customer": "customer", "default_payment_method": None, "default_source": None,
                "on_behalf_of": None, "test_clock": None, "latest_revision": "invoice",
                "application": None},
    "line_item": {"pricing.price_details.price": "price", "subscription": None},
}
MAX_EXPAND_DEPTH = 4


class Backend:
    """Every object of one sandbox, and the operations the API performs on them.

    ``clock`` returns the current Unix time (injectable so tests can control ``created``).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self._clock = clock
        self._random = random.Random()
        self.reset()

    def reset(self) -> None:
        """Forget every object."""
        self.customers: Store[Customer] = Store("customer")
        self.products: Store[Product] = Store("product")
        self.prices: Store[Price] = Store("price")
        self.invoice_items: Store[InvoiceItem] = Store("invoiceitem")
        self.invoices: Store[Invoice] = Store("invoice")
        self._sequence = itertools.count(1)
        self._invoice_prefixes: set[str] = set()

    @property
    def stores(self) -> dict[str, Store[Any]]:
        """The stores by Stripe object name."""
        return {store.kind: store for store in (self.customers, self.products, self.prices,
                                                self.invoice_items, self.invoices)}

    def now(self) -> int:
        return int(self._clock())

    def new_id(self, prefix: str, length: int = 24) -> str:
        return prefix + "".join(self._random.choices(ID_ALPHABET, k=length))

    def _next_seq(self) -> int:
        return next(self._sequence)

    def find(self, kind: str, object_id: str) -> Model | None:
        """Any object of ``kind`` with this id, deleted or not."""
        return self.stores[kind].objects.get(object_id)

    # Customers

    def create_customer(self, params: dict[str, Any]) -> Customer:
        now = self.now()
        customer = Customer(id=self.new_id("cus_", 14), seq=self._next_seq(), created=now,
                            invoice_prefix=self._new_invoice_prefix())
        self._apply_customer(customer, params)
        self.customers.objects[customer.id] = customer
        return customer

    def update_customer(self, customer_id: str, params: dict[str, Any]) -> Customer:
        customer = self.customers.get(customer_id)
        self._apply_customer(customer, params)
        return customer

    def _apply_customer(self, customer: Customer, params: dict[str, Any]) -> None:
        if "test_clock" in params:
            raise no_such("test clock", params["test_clock"], param="test_clock")
        for field in ("balance", "next_invoice_sequence"):
            if field in params:
                setattr(customer, field, params[field])
        for field in ("business_name", "description", "email", "individual_name", "name",
                      "phone"):
            if field in params:
                setattr(customer, field, _blank_to_none(params[field]))
        if "invoice_prefix" in params:
            prefix = params["invoice_prefix"]
            if not re.fullmatch(r"[A-Z0-9]{1,12}", prefix):
                raise invalid_request(
                    "Invalid invoice_prefix: must be 1 to 12 uppercase letters or numbers.",
                    param="invoice_prefix")
            customer.invoice_prefix = prefix
            self._invoice_prefixes.add(prefix)
        if "address" in params:
            customer.address = _address(params["address"], customer.address)
        if "shipping" in params:
            customer.shipping = _shipping(params["shipping"], customer.shipping)
        if "preferred_locales" in params:
            customer.preferred_locales = list(params["preferred_locales"])
        if "tax_exempt" in params:
            customer.tax_exempt = params["tax_exempt"] or "none"
        if "metadata" in params:
            customer.metadata = merge_metadata(customer.metadata, params["metadata"])
        if "invoice_settings" in params:
            settings = dict(customer.invoice_settings)
            given = params["invoice_settings"]
            if "custom_fields" in given:
                settings["custom_fields"] = _custom_fields(given["custom_fields"])
            for field in ("default_payment_method", "footer"):
                if field in given:
                    settings[field] = _blank_to_none(given[field])
            if "rendering_options" in given:
                options = given["rendering_options"]
                settings["rendering_options"] = None if options == "" else {
                    "amount_tax_display": _blank_to_none(options.get("amount_tax_display")),
                    "template": options.get("template"),
                }
            customer.invoice_settings = settings

    def _new_invoice_prefix(self) -> str:
        while True:
            prefix = "".join(self._random.choices("0123456789ABCDEF", k=8))
            if prefix not in self._invoice_prefixes:
                self._invoice_prefixes.add(prefix)
                return prefix

    def delete_customer(self, customer_id: str) -> Customer:
        customer = self.customers.get(customer_id)
        customer.deleted = True
        return customer

    def list_customers(self, params: dict[str, Any]) -> Iterable[Customer]:
        if "test_clock" in params:
            raise no_such("test clock", params["test_clock"], param="test_clock")
        found: Iterable[Customer] = self.customers.newest_first()
        if "email" in params:
            email = params["email"]
            found = (c for c in found if c.email == email)
        if "created" in params:
            found = _stamp_filter(found, "created", params["created"])
        return found

    # Products

    def create_product(self, params: dict[str, Any]) -> Product:
        product_id = params.get("id") or self.new_id("prod_", 14)
        if product_id in self.products.objects:
            raise invalid_request("Product already exists.", param="id",
                                  code="resource_already_exists")
        now = self.now()
        product = Product(id=product_id, seq=self._next_seq(), created=now, updated=now,
                          name=params["name"])
        self._apply_product(product, params)
        self.products.objects[product.id] = product
        if "default_price_data" in params:
            price_params = dict(params["default_price_data"], product=product.id)
            price = self.create_price(price_params)
            product.default_price = price.id
        return product

    def update_product(self, product_id: str, params: dict[str, Any]) -> Product:
        product = self.products.get(product_id)
        if "default_price" in params:
            price = self.prices.get(params["default_price"], param="default_price")
            if price.product != product.id:
                raise invalid_request(
                    f"The price {price.id} belongs to product {price.product}, not "
                    f"{product.id}; a default price must be one of the product's prices.",
                    param="default_price")
            if not price.active:
                raise invalid_request("An archived price can't be the default price.",
                                      param="default_price")
            product.default_price = price.id
        self._apply_product(product, params)
        product.updated = self.now()
        return product

    def _apply_product(self, product: Product, params: dict[str, Any]) -> None:
        if "name" in params:
            product.name = params["name"]
        for field in ("active", "shippable"):
            if field in params:
                setattr(product, field, params[field])
        for field in ("description", "statement_descriptor", "tax_code", "unit_label", "url"):
            if field in params:
                setattr(product, field, _blank_to_none(params[field]))
        if "type" in params:
            product.type = params["type"]
        if "images" in params:
            product.images = [] if params["images"] == "" else list(params["images"])
        if "marketing_features" in params:
            features = params["marketing_features"]
            product.marketing_features = ([] if features == "" else
                                          [{"name": feature["name"]} for feature in features])
        if "package_dimensions" in params:
            dimensions = params["package_dimensions"]
            product.package_dimensions = None if dimensions == "" else {
                key: dimensions[key] for key in ("height", "length", "weight", "width")}
        if "metadata" in params:
            product.metadata = merge_metadata(product.metadata, params["metadata"])

    def delete_product(self, product_id: str) -> Product:
        """Delete a product that has no prices (archived ones count)."""
        product = self.products.get(product_id)
        if any(price.product == product.id for price in self.prices.objects.values()):
            raise invalid_request(
                "This product cannot be deleted because it has one or more user-created prices.")
        product.deleted = True
        return product

    def list_products(self, params: dict[str, Any]) -> Iterable[Product]:
        found: Iterable[Product] = self.products.newest_first()
        if "ids" in params:
            wanted = set(params["ids"])
            found = (p for p in found if p.id in wanted)
        for field in ("active", "shippable", "url", "type"):
            if field in params:
                found = _attribute_equals(found, field, params[field])
        if "created" in params:
            found = _stamp_filter(found, "created", params["created"])
        return found

    # Prices

    def create_price(self, params: dict[str, Any]) -> Price:
        """A per-unit or tiered price for ``product`` (or a product made from ``product_data``)."""
        currency = _currency(params["currency"])
        if "product" in params and "product_data" in params:
            raise invalid_request(
                "You may only specify one of these parameters: product, product_data.",
                param="product")
        if "product" in params:
            product = self.products.get(params["product"], param="product")
        elif "product_data" in params:
            product = self.create_product(params["product_data"])
        else:
            raise invalid_request(
                "You must specify either `product` or `product_data` when creating a price.",
                param="product", code="parameter_missing")
        billing_scheme = params.get("billing_scheme", "per_unit")
        price = Price(id=self.new_id("price_"), seq=self._next_seq(), created=self.now(),
                      currency=currency, product=product.id,
                      type="recurring" if "recurring" in params else "one_time",
                      billing_scheme=billing_scheme)
        if billing_scheme == "tiered":
            self._set_tiers(price, params)
        else:
            self._set_unit_amount(price, params)
        if "recurring" in params:
            recurring = params["recurring"]
            price.recurring = {
                "interval": recurring["interval"],
                "interval_count": recurring.get("interval_count", 1),
                "meter": recurring.get("meter"),
                "trial_period_days": recurring.get("trial_period_days"),
                "usage_type": recurring.get("usage_type", "licensed"),
            }
        if "transform_quantity" in params:
            if billing_scheme == "tiered":
                raise invalid_request(
                    "transform_quantity can't be used with billing_scheme=tiered.",
                    param="transform_quantity")
            price.transform_quantity = dict(params["transform_quantity"])
        for field in ("active", "nickname", "tax_behavior"):
            if field in params:
                setattr(price, field, params[field])
        if "metadata" in params:
            price.metadata = merge_metadata({}, params["metadata"])
        if "lookup_key" in params:
            self._set_lookup_key(price, params["lookup_key"],
                                 params.get("transfer_lookup_key", False))
        self.prices.objects[price.id] = price
        return price

    @staticmethod
    def _set_unit_amount(price: Price, params: dict[str, Any]) -> None:
        if "unit_amount" in params and "unit_amount_decimal" in params:
            raise invalid_request(
                "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                param="unit_amount")
        if "custom_unit_amount" in params:
            custom = params["custom_unit_amount"]
            price.custom_unit_amount = {key: custom.get(key)
                                        for key in ("maximum", "minimum", "preset")}
            return
        if "unit_amount" in params:
            if params["unit_amount"] < 0:
                raise invalid_request("This value must be greater than or equal to 0.",
                                      param="unit_amount")
            price.unit_amount = params["unit_amount"]
            price.unit_amount_decimal = str(params["unit_amount"])
        elif "unit_amount_decimal" in params:
            exact = decimal.Decimal(params["unit_amount_decimal"])
            price.unit_amount_decimal = params["unit_amount_decimal"]
            price.unit_amount = int(exact) if exact == exact.to_integral_value() else None
        else:
            raise invalid_request(
                "Missing required param: unit_amount. A per-unit price needs unit_amount, "
                "unit_amount_decimal or custom_unit_amount.",
                param="unit_amount", code="parameter_missing")

    @staticmethod
    def _set_tiers(price: Price, params: dict[str, Any]) -> None:
        if "tiers" not in params or not params["tiers"]:
            raise invalid_request("Missing required param: tiers.", param="tiers",
                                  code="parameter_missing")
        if "tiers_mode" not in params:
            raise invalid_request("Missing required param: tiers_mode.", param="tiers_mode",
                                  code="parameter_missing")
        if params["tiers"][-1]["up_to"] != "inf":
            raise invalid_request("The last tier must have up_to set to inf.", param="tiers")
        price.tiers = [dict(tier) for tier in params["tiers"]]
        price.tiers_mode = params["tiers_mode"]

    def _set_lookup_key(self, price: Price, lookup_key: str, transfer: bool) -> None:
        if lookup_key == "":
            price.lookup_key = None
            return
        for other in self.prices.objects.values():
            if other is not price and other.lookup_key == lookup_key:
                if not transfer:
                    raise invalid_request(
                        f"A price (`{other.id}`) already uses that lookup key.",
                        param="lookup_key")
                other.lookup_key = None
        price.lookup_key = lookup_key

    def update_price(self, price_id: str, params: dict[str, Any]) -> Price:
        """Change what Stripe lets change: activity, nickname, metadata, lookup key, tax."""
        price = self.prices.get(price_id)
        if params.get("active") is False:
            product = self.products.objects.get(price.product)
            if product is not None and product.default_price == price.id:
                raise invalid_request(
                    "This price cannot be archived because it is the default price of its "
                    "product.", param="active")
        for field in ("active", "tax_behavior"):
            if field in params:
                setattr(price, field, params[field])
        if "nickname" in params:
            price.nickname = _blank_to_none(params["nickname"])
        if "metadata" in params:
            price.metadata = merge_metadata(price.metadata, params["metadata"])
        if "lookup_key" in params:
            self._set_lookup_key(price, params["lookup_key"],
                                 params.get("transfer_lookup_key", False))
        return price

    def list_prices(self, params: dict[str, Any]) -> Iterable[Price]:
        found: Iterable[Price] = self.prices.newest_first()
        for field in ("active", "type", "product"):
            if field in params:
                found = _attribute_equals(found, field, params[field])
        if "currency" in params:
            currency = params["currency"].lower()
            found = (p for p in found if p.currency == currency)
        if "lookup_keys" in params:
            keys = set(params["lookup_keys"])
            found = (p for p in found if p.lookup_key in keys)
        if "recurring" in params:
            wanted = params["recurring"]
            found = (p for p in found if p.recurring is not None and all(
                p.recurring.get(key) == value for key, value in wanted.items()))
        if "created" in params:
            found = _stamp_filter(found, "created", params["created"])
        return found

    # Invoice items

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
        if customer.currency is None:
            customer.currency = item.currency
        self.invoice_items.objects[item.id] = item
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
            return _currency(data["currency"], "price_data[currency]")
        if not creating:
            return None
        if not given:
            raise bad_parameter(
                "Missing required param: amount. Pass amount and currency, pricing[price], "
                "or price_data.", param="amount", code="parameter_missing")
        if "currency" not in params:
            raise bad_parameter("Missing required param: currency.", param="currency",
                                code="parameter_missing")
        return _currency(params["currency"])

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
            item.description = _blank_to_none(params["description"])
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

    @staticmethod
    def _attach(item: InvoiceItem, invoice: Invoice) -> None:
        item.invoice = invoice.id
        invoice.item_ids.append(item.id)

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

    def update_invoice_item(self, item_id: str, params: dict[str, Any]) -> InvoiceItem:
        """Change a pending item or one on a draft; its invoice's totals follow."""
        item = self._editable_item(item_id, "update")
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
        return item

    def delete_invoice_item(self, item_id: str) -> InvoiceItem:
        """Delete a pending item or one on a draft (it leaves the invoice's lines)."""
        item = self._editable_item(item_id, "delete")
        item.deleted = True
        if item.invoice is not None:
            self.invoices.objects[item.invoice].item_ids.remove(item.id)
        return item

    def list_invoice_items(self, params: dict[str, Any]) -> Iterable[InvoiceItem]:
        _refuse_accounts(params)
        found: Iterable[InvoiceItem] = self.invoice_items.newest_first()
        for field in ("customer", "invoice"):
            if field in params:
                found = _attribute_equals(found, field, params[field])
        if "pending" in params:
            pending = params["pending"]
            found = (i for i in found if (i.invoice is None) == pending)
        if "created" in params:
            found = _stamp_filter(found, "created", params["created"])
        return found

    # Invoices

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
        currency = _currency(params["currency"]) if "currency" in params else (
            customer.currency or DEFAULT_CURRENCY)
        invoice = Invoice(id=self.new_id("in_"), seq=self._next_seq(), created=self.now(),
                          customer=customer.id, currency=currency)
        self._apply_invoice(invoice, params)
        self._check_due_terms(invoice)
        self.invoices.objects[invoice.id] = invoice
        if params.get("pending_invoice_items_behavior", "exclude") == "include":
            pending = [item for item in self.invoice_items.objects.values()
                       if not item.deleted and item.invoice is None
                       and item.customer == customer.id and item.currency == currency]
            for item in pending:
                self._attach(item, invoice)
        return invoice

    # Fields a finalized invoice still accepts; everything else is fixed at finalization.
    FINALIZED_EDITABLE = frozenset({"metadata", "description", "footer", "custom_fields",
                                    "auto_advance", "rendering", "expand"})

    def update_invoice(self, invoice_id: str, params: dict[str, Any]) -> Invoice:
        """Change a draft freely; a finalized invoice only in ``FINALIZED_EDITABLE`` fields."""
        invoice = self.invoices.get(invoice_id)
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
        previous = attrs.evolve(invoice)
        self._apply_invoice(invoice, params)
        try:
            self._check_due_terms(invoice)
        except ApiError:
            for field in attrs.fields(Invoice):
                setattr(invoice, field.name, getattr(previous, field.name))
            raise
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
                setattr(invoice, field, _blank_to_none(params[field]))
        if "on_behalf_of" in params:
            raise no_such("account", params["on_behalf_of"], param="on_behalf_of")
        if "custom_fields" in params:
            invoice.custom_fields = _custom_fields(params["custom_fields"])
        if "metadata" in params:
            invoice.metadata = merge_metadata(invoice.metadata, params["metadata"])
        if "account_tax_ids" in params:
            ids = params["account_tax_ids"]
            invoice.account_tax_ids = None if ids == "" else list(ids)
        if "automatic_tax" in params:
            invoice.automatic_tax_enabled = params["automatic_tax"]["enabled"]
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
                    rendering[field] = _blank_to_none(given[field])
            if "pdf" in given:
                rendering["pdf"] = {"page_size": given["pdf"].get("page_size")}
            invoice.rendering = rendering
        if "shipping_details" in params:
            invoice.shipping_details = _shipping(params["shipping_details"],
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

    def delete_invoice(self, invoice_id: str) -> Invoice:
        """Delete a draft together with its items; anything else must be voided instead."""
        invoice = self.invoices.get(invoice_id)
        if invoice.status != "draft":
            raise invalid_request(
                f"You can only delete draft invoices. This invoice is {invoice.status}; "
                + ("void it instead." if invoice.status in ("open", "uncollectible")
                   else "it can no longer be deleted."))
        for item in invoice.items(self):
            item.deleted = True
        invoice.deleted = True
        return invoice

    def finalize_invoice(self, invoice_id: str, params: dict[str, Any] | None = None) -> Invoice:
        """draft -> open, numbered; paid at once if nothing is due."""
        invoice = self.invoices.get(invoice_id)
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
            customer.next_invoice_sequence += 1
        if invoice.days_until_due is not None:
            invoice.due_date = now + invoice.days_until_due * SECONDS_PER_DAY
        invoice.status = "open"
        invoice.effective_at = now
        invoice.status_transitions["finalized_at"] = now
        if invoice.total(self) <= 0:
            # Stripe settles an invoice with nothing due as soon as it is finalized.
            self._mark_paid(invoice, now)

    def _mark_paid(self, invoice: Invoice, now: int) -> None:
        invoice.amount_paid = max(invoice.total(self), 0)
        invoice.status = "paid"
        invoice.status_transitions["paid_at"] = now

    def pay_invoice(self, invoice_id: str, params: dict[str, Any]) -> Invoice:
        """Pay out of band or with a test payment method; a draft is finalized first.

        A declining test card raises a 402 card error and still counts an attempt.
        """
        invoice = self.invoices.get(invoice_id)
        if invoice.status == "paid":
            raise invalid_request("Invoice is already paid.")
        if invoice.status == "void":
            raise invalid_request("This invoice has been voided and can no longer be paid.")
        if invoice.status == "draft":
            self._finalize(invoice)
            if invoice.status == "paid":
                return invoice
        now = self.now()
        if params.get("paid_out_of_band"):
            self._mark_paid(invoice, now)
            return invoice
        payment_method = (params.get("payment_method") or params.get("source")
                          or invoice.default_payment_method
                          or self.customers.objects[invoice.customer]
                          .invoice_settings["default_payment_method"])
        if payment_method is None:
            raise invalid_request(
                "This customer has no attached payment source or default payment method. "
                "Please consider adding a default payment method. (In this sandbox, pay with "
                "payment_method=pm_card_visa or paid_out_of_band=true.)")
        param = "payment_method" if "payment_method" in params else (
            "source" if "source" in params else None)
        outcome = _test_card_outcome(payment_method, param)
        if outcome is not None and outcome.type != "card_error":
            raise outcome
        invoice.attempted = True
        invoice.attempt_count += 1
        if outcome is not None:
            raise outcome
        self._mark_paid(invoice, now)
        return invoice

    def void_invoice(self, invoice_id: str) -> Invoice:
        """open or uncollectible -> void."""
        invoice = self.invoices.get(invoice_id)
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

    def mark_uncollectible(self, invoice_id: str) -> Invoice:
        """open -> uncollectible."""
        invoice = self.invoices.get(invoice_id)
        if invoice.status != "open":
            raise invalid_request(
                f"You can only mark open invoices as uncollectible. This invoice is "
                f"{invoice.status}.")
        invoice.status = "uncollectible"
        invoice.status_transitions["marked_uncollectible_at"] = self.now()
        return invoice

    def send_invoice(self, invoice_id: str) -> Invoice:
        """Finalize a ``send_invoice`` draft (no email is sent); open ones are returned as is."""
        invoice = self.invoices.get(invoice_id)
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

    def list_invoices(self, params: dict[str, Any]) -> Iterable[Invoice]:
        _refuse_accounts(params)
        if "subscription" in params:
            raise no_such("subscription", params["subscription"], param="subscription")
        found: Iterable[Invoice] = self.invoices.newest_first()
        for field in ("customer", "status", "collection_method"):
            if field in params:
                found = _attribute_equals(found, field, params[field])
        for field in ("created", "due_date"):
            if field in params:
                found = _stamp_filter(found, field, params[field])
        return found

    # Rendering

    def render(self, obj: Model, expand: Iterable[str] = (), *, within: str = ""
               ) -> dict[str, Any]:
        """The object as Stripe returns it, with ``expand[]`` paths replaced by objects.

        ``within`` is the prefix the caller stripped from the paths (``data.`` in a list), so
        errors quote the path as the request wrote it.
        """
        rendered = obj.render(self)
        for path in expand:
            self.expand(rendered, obj.OBJECT, path, within=within)
        return rendered

    def expand(self, rendered: dict[str, Any], kind: str, path: str, *, within: str = "") -> None:
        """Replace the id at ``path`` (dotted, relative to an object of ``kind``) by its object.

        Raises Stripe's error for a path that is not expandable.
        """
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise bad_parameter(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property.",
                param="expand")
        self._expand(rendered, kind, parts, within + path)

    def _expand(self, rendered: dict[str, Any], kind: str, parts: list[str], path: str) -> None:
        if rendered.get("deleted"):
            return
        table = EXPANDABLE.get(kind, {})
        for size in range(len(parts), 0, -1):
            field = ".".join(parts[:size])
            if field in table:
                break
        else:
            raise bad_parameter(f"This property cannot be expanded ({path}).", param="expand")
        target = table[field]
        holder: Any = rendered
        for part in parts[: size - 1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            return
        leaf = parts[size - 1]
        value = holder.get(leaf)
        if isinstance(value, str) and target is not None:
            found = self.find(target, value)
            if found is not None:
                holder[leaf] = value = found.render(self)
        rest = parts[size:]
        if rest and isinstance(value, dict) and target is not None:
            self._expand(value, target, rest, path)


def _attribute_equals(objects: Iterable[M], field: str, value: Any) -> Iterator[M]:
    return (obj for obj in objects if getattr(obj, field) == value)


def _stamp_filter(objects: Iterable[M], field: str, condition: Any) -> Iterator[M]:
    # A function, not an inline generator: filters are chained lazily inside loops, and a
    # generator would read the loop's variables only after the loop had moved on.
    test = created_filter(condition)
    return (obj for obj in objects if test(getattr(obj, field)))


def _units_amount(unit_amount_decimal: str | None, quantity: int) -> int:
    unit = decimal.Decimal(unit_amount_decimal or 0)
    return int((unit * quantity).to_integral_value(decimal.ROUND_HALF_UP))


def _decimal_string(value: decimal.Decimal) -> str:
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return str(int(normalized))
    return format(normalized, "f")


def _test_card_outcome(payment_method: str, param: str | None) -> ApiError | None:
    """None if Stripe's test payment method succeeds; its card error if it declines."""
    lowered = payment_method.lower()
    if not lowered.startswith(("pm_card_", "tok_")):
        return no_such("PaymentMethod", payment_method, param=param or "payment_method")
    for marker, (code, decline_code, message) in DECLINING_TEST_CARDS.items():
        if marker in lowered:
            return ApiError(status=402, type="card_error", code=code, decline_code=decline_code,
                            message=message, param=param)
    return None


def _refuse_accounts(params: dict[str, Any]) -> None:
    """Connected accounts (``customer_account``) are not part of this sandbox: no such one."""
    if "customer_account" in params:
        raise no_such("account", params["customer_account"], param="customer_account")


def _require_customer(params: dict[str, Any]) -> None:
    """Invoices and invoice items belong to a customer, as Stripe requires."""
    _refuse_accounts(params)
    if "customer" not in params:
        raise bad_parameter("Missing required param: customer.", param="customer",
                            code="parameter_missing")
