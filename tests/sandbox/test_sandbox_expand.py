"""expand[]: every field the SDK's resource classes type as expandable is accepted on every
object the sandbox serves, includable fields come back when asked for, ids become the objects
they name, and anything else is refused as Stripe refuses it."""

from __future__ import annotations

import pytest
import stripe
from sandbox_http import raw_request
from sandbox_world import RETRIEVE, ROUTES, SHAPES, needs_inputs, paths_for, stored_ids
from stripe_pay.sandbox.expansion import expandable_paths
from stripe_pay.sandbox.params import schema_for
from test_sandbox_changes import make_world


def paths_of(kind: str) -> list[str]:
    """What expand[] may name on an object of ``kind``: the SDK's expandable paths of its
    class, and the shape's includable fields."""
    shape = SHAPES[kind]
    return expandable_paths(shape.sdk_class) + list(shape.included)


def test_the_sdk_walk_finds_the_fields_stripe_documents_as_expandable():
    assert {"discounts", "account_tax_ids", "customer", "latest_revision",
            "default_payment_method", "total_discount_amounts.discount"} <= set(
        expandable_paths(stripe.Invoice))
    assert set(expandable_paths(stripe.Product)) == {"default_price", "tax_code"}
    assert expandable_paths(stripe.Price) == ["product"]
    assert "invoice_settings.default_payment_method" in expandable_paths(stripe.Customer)
    assert "pricing.price_details.price" in expandable_paths(stripe.InvoiceItem)
    assert {"tiers", "currency_options"} <= set(SHAPES["price"].included)


def test_every_expandable_and_includable_field_is_accepted_on_every_object(sandbox, client):
    make_world(client)
    live = {kind: {i for i in found if not sandbox.backend.find(kind, i).deleted}
            for kind, found in stored_ids(sandbox).items()}
    refused = []
    tried = set()
    for one in ROUTES:
        if (one.method != "GET" or one.operation == "search" or one.kind not in SHAPES
                or needs_inputs(one)):
            continue  # (the balance has no id, so no shape, and its class nothing to expand)
        tried.add(one.kind)
        if one.operation == "list" and schema_for(one.params, one.params_module).required:
            continue  # (a subscription's items are listed only by subscription)
        prefix = "" if one.operation == "retrieve" else "data."
        for path in paths_for(sandbox, one, live)[:1]:
            for expand in paths_of(one.kind):
                status, _, body = raw_request(sandbox, "GET", f"{path}?expand[]={prefix}{expand}")
                if status != 200:
                    refused.append(f"{path} expand[]={prefix}{expand}: {body['error']['message']}")
    assert refused == []
    # (a discount is fetched by no route, only expanded where it is named; a kind Stripe
    # only creates, a billing portal session, has no GET route: its answer to create is
    # expanded in its own tests)
    gettable = {one.kind for one in ROUTES if one.method == "GET"}
    assert tried == {kind for kind in SHAPES if kind in gettable}
    created_only = {kind for kind in SHAPES
                    if {one.method for one in ROUTES if one.kind == kind} == {"POST"}}
    assert set(SHAPES) - tried == {"discount"} | created_only


def test_listed_fields_are_expanded_one_by_one(client):
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id,
                                               "account_tax_ids": ["txi_123"]})
    expanded = client.v1.invoices.retrieve(invoice.id, params={
        "expand": ["discounts", "account_tax_ids", "customer", "payments",
                   "confirmation_secret"]})
    assert expanded.discounts == []
    assert expanded.account_tax_ids == ["txi_123"]  # no tax ids here: the id stays
    assert expanded.customer.id == customer.id
    assert expanded.payments.data == [] and expanded.payments.object == "list"
    assert expanded.confirmation_secret is None
    plain = client.v1.invoices.retrieve(invoice.id)
    assert "payments" not in plain and "confirmation_secret" not in plain


def test_prices_include_their_tiers_and_currency_options(client):
    product = client.v1.products.create(params={"name": "Seats", "tax_code": "txcd_10000000"})
    price = client.v1.prices.create(params={
        "product": product.id, "currency": "eur", "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "tiers": [{"up_to": 10, "unit_amount": 500}, {"up_to": "inf", "unit_amount": 400}]})
    assert "tiers" not in client.v1.prices.retrieve(price.id)
    got = client.v1.prices.retrieve(price.id, params={
        "expand": ["tiers", "currency_options", "product.tax_code"]})
    assert [tier.unit_amount for tier in got.tiers] == [500, 400]
    assert got.tiers[1].up_to is None or got.tiers[1].up_to == "inf"
    assert got.to_dict()["currency_options"] == {"eur": {
        "custom_unit_amount": None, "tax_behavior": "unspecified",
        "tiers": got.to_dict()["tiers"], "unit_amount": None, "unit_amount_decimal": None}}
    assert got.product.tax_code == "txcd_10000000"
    listed = client.v1.prices.list(params={"expand": ["data.tiers", "data.product"]})
    assert listed.data[0].tiers[0].up_to == 10
    assert listed.data[0].product.name == "Seats"


def test_customers_include_what_stripe_includes(client):
    customer = client.v1.customers.create()
    got = client.v1.customers.retrieve(customer.id, params={
        "expand": ["subscriptions", "sources", "tax_ids", "tax", "cash_balance",
                   "invoice_credit_balance", "invoice_settings.default_payment_method"]})
    assert got.subscriptions.url == f"/v1/customers/{customer.id}/subscriptions"
    assert got.sources.data == [] and got.tax_ids.data == []
    assert got.tax.automatic_tax == "unrecognized_location"
    assert isinstance(got.cash_balance, stripe.CashBalance)
    assert got.cash_balance.customer == customer.id
    assert got.invoice_credit_balance.to_dict() == {}


def test_nested_paths_expand_through_objects_and_lists(client):
    customer = client.v1.customers.create(params={"email": "deep@example.com"})
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    item = client.v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id,
                                                  "amount": 100, "currency": "usd"})
    got = client.v1.invoices.retrieve(invoice.id, params={
        "expand": ["lines.data.discounts", "customer.invoice_settings.default_payment_method"]})
    assert got.lines.data[0].discounts == []
    assert got.customer.email == "deep@example.com"
    deep = client.v1.invoice_items.retrieve(item.id, params={
        "expand": ["invoice.lines.data.discounts", "invoice.customer"]})
    assert deep.invoice.lines.data[0].id == got.lines.data[0].id
    assert deep.invoice.customer.email == "deep@example.com"
    listed = client.v1.invoices.list(params={
        "expand": ["data.customer", "data.lines.data.discounts"]})
    assert listed.data[0].customer.id == customer.id


@pytest.mark.parametrize("path,message", [
    ("email", "This property cannot be expanded (email)."),
    ("lines", "This property cannot be expanded (lines)."),
    ("lines.data", "This property cannot be expanded (lines.data)."),
    ("lines.pricing", "This property cannot be expanded (lines.pricing)."),
    ("customer.email", "This property cannot be expanded (customer.email)."),
    ("nothing", "This property cannot be expanded (nothing)."),
    ("lines.data.pricing.price_details.price",
     "You cannot expand more than 4 levels of a property."),
])
def test_other_paths_are_refused_as_stripe_refuses_them(client, sandbox, path, message):
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    status, _, body = raw_request(sandbox, "GET", f"/v1/invoices/{invoice.id}?expand[]={path}")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"] == message
    assert body["error"]["param"] == "expand"


def test_a_refused_expand_stores_no_idempotent_answer(client, sandbox):
    status, _, body = raw_request(sandbox, "POST", "/v1/customers",
                                  body="email=a%40example.com&expand[]=email",
                                  headers={"Idempotency-Key": "expand-fix"})
    assert status == 400 and "cannot be expanded" in body["error"]["message"]
    assert sandbox.backend.stores["customer"].live_count() == 0
    status, headers, body = raw_request(sandbox, "POST", "/v1/customers",
                                        body="email=a%40example.com",
                                        headers={"Idempotency-Key": "expand-fix"})
    assert status == 200 and "Idempotent-Replayed" not in headers


def test_every_retrieve_route_is_for_a_shape_the_sdk_knows():
    for one in RETRIEVE.values():
        assert one.kind == SHAPES[one.kind].sdk_class.OBJECT_NAME
