"""Customers: who you bill.

The family's model, how Stripe's customer parameters change it, and its list filters.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import attrs

from .. import search
from ..backend import BackendCore, Equals, Resource, Store, Within, handles
from ..errors import invalid_request, no_such
from ..rules import (
    blank_to_none,
    given_custom_fields,
    merge_metadata,
    merged_address,
    merged_shipping,
)
from ..shapes import STUB_ONLY, Shape


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
    default_source: str | None = None
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
    test_clock: str | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "customer"


CUSTOMER = Shape(
    "customer", "Customer",
    own=("address", "balance", "business_name", "created", "currency", "default_source",
         "description", "email",
         "individual_name", "invoice_prefix", "invoice_settings", "metadata", "name",
         "next_invoice_sequence", "phone", "preferred_locales", "shipping", "tax_exempt",
         "test_clock"),
    fixed={"customer_account": None, "delinquent": False,
           "discount": None, "livemode": False},
    absent={"deleted": STUB_ONLY},
    included={"cash_balance": lambda customer, backend: _cash_balance(customer),
              "invoice_credit_balance": lambda customer, backend: {},
              "sources": lambda customer, backend: backend.customer_sources(customer),
              "subscriptions": lambda customer, backend: backend.customer_subscriptions(customer),
              "tax": lambda customer, backend: {"automatic_tax": "unrecognized_location",
                                                "ip_address": None, "location": None,
                                                "provider": "stripe"},
              "tax_ids": lambda customer, backend: empty_list(customer, "tax_ids")},
)


def _cash_balance(customer: Customer) -> dict[str, Any]:
    return {"object": "cash_balance", "available": None, "customer": customer.id,
            "customer_account": None, "livemode": False,
            "settings": {"reconciliation_mode": "automatic", "using_merchant_default": True}}


def empty_list(customer: Customer, name: str) -> dict[str, Any]:
    """A customer's list of objects this sandbox never makes (subscriptions, tax ids)."""
    return {"object": "list", "data": [], "has_more": False,
            "url": f"/v1/customers/{customer.id}/{name}"}


class Customers(BackendCore):
    """The customers family."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(
            CUSTOMER, "customers",
            filters=(Equals("test_clock"), Equals("email"),
                     Within("created")),
            search={"created": search.number("created"),
                    "email": search.text("email", substring=True), "metadata": search.METADATA,
                    "name": search.text("name", substring=True),
                    "phone": search.text("phone", substring=True)},
            deleted_answers=True,
        ),
    )
    customers: Store[Customer]

    def _reset_family(self) -> None:
        self._invoice_prefixes: set[str] = set()

    def customer_sources(self, customer: Customer) -> dict[str, Any]:
        """The customer's ``sources`` (a list object) when ``expand[]`` asks for them: none
        here; the payment methods family lists the customer's card sources."""
        return empty_list(customer, "sources")

    def customer_subscriptions(self, customer: Customer) -> dict[str, Any]:
        """The customer's ``subscriptions`` when ``expand[]`` asks for them (the
        subscriptions family lists them)."""
        return empty_list(customer, "subscriptions")

    def put_on_test_clock(self, customer: Customer, clock_id: str) -> None:
        """Put a new customer on a test clock (the test clocks family knows them)."""
        raise no_such("test clock", clock_id, param="test_clock")

    @handles("customer", "create")
    def create_customer(self, params: dict[str, Any]) -> Customer:
        now = self.now()
        customer = Customer(id=self.new_id("cus_", 14), seq=self._next_seq(), created=now,
                            invoice_prefix=self._new_invoice_prefix())
        self._apply_customer(customer, params)
        return self.change("create", customer)

    @handles("customer", "update")
    def update_customer(self, customer_id: str, params: dict[str, Any]) -> Customer:
        customer = self.change("update", self.customers.get(customer_id))
        self._apply_customer(customer, params)
        return customer

    def _apply_customer(self, customer: Customer, params: dict[str, Any]) -> None:
        if "test_clock" in params:
            if customer.id in self.customers.objects:
                raise invalid_request("A customer's test clock is set when it is created.",
                                      param="test_clock")
            self.put_on_test_clock(customer, params["test_clock"])
        for field in ("balance", "next_invoice_sequence"):
            if field in params:
                setattr(customer, field, params[field])
        for field in ("business_name", "description", "email", "individual_name", "name",
                      "phone"):
            if field in params:
                setattr(customer, field, blank_to_none(params[field]))
        if "invoice_prefix" in params:
            prefix = params["invoice_prefix"]
            if not re.fullmatch(r"[A-Z0-9]{1,12}", prefix):
                raise invalid_request(
                    "Invalid invoice_prefix: must be 1 to 12 uppercase letters or numbers.",
                    param="invoice_prefix")
            customer.invoice_prefix = prefix
            self._invoice_prefixes.add(prefix)
        if "address" in params:
            customer.address = merged_address(params["address"], customer.address)
        if "shipping" in params:
            customer.shipping = merged_shipping(params["shipping"], customer.shipping)
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
                settings["custom_fields"] = given_custom_fields(given["custom_fields"])
            for field in ("default_payment_method", "footer"):
                if field in given:
                    settings[field] = blank_to_none(given[field])
            if "rendering_options" in given:
                options = given["rendering_options"]
                settings["rendering_options"] = None if options == "" else {
                    "amount_tax_display": blank_to_none(options.get("amount_tax_display")),
                    "template": options.get("template"),
                }
            customer.invoice_settings = settings

    def _new_invoice_prefix(self) -> str:
        while True:
            prefix = "".join(self._random.choices("0123456789ABCDEF", k=8))
            if prefix not in self._invoice_prefixes:
                self._invoice_prefixes.add(prefix)
                return prefix

    @handles("customer", "delete")
    def delete_customer(self, customer_id: str, params: dict[str, Any] | None = None
                        ) -> Customer:
        customer = self.change("delete", self.customers.get(customer_id))
        customer.deleted = True
        return customer
