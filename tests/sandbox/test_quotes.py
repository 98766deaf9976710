"""Quotes through the real SDK: line items of prices, totals, the state machine (draft ->
open -> accepted | canceled), the invoice an accepted quote makes, expiry and refusals."""

from __future__ import annotations

import pytest
import stripe
from sandbox_http import make_client, refused
from stripe_pay.sandbox import SandboxServer
from test_sandbox_shapes import object_problems


@pytest.fixture
def customer(client: stripe.StripeClient):
    return client.v1.customers.create(params={"email": "quote@example.com"})


@pytest.fixture
def prices(client: stripe.StripeClient):
    product = client.v1.products.create(params={"name": "Consulting"})
    hour = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                           "unit_amount": 15000})
    monthly = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                              "unit_amount": 900,
                                              "recurring": {"interval": "month"}})
    return hour, monthly


def test_a_quote_is_priced_from_its_line_items(client, customer, prices):
    hour, _ = prices
    quote = client.v1.quotes.create(params={
        "customer": customer.id, "description": "Audit", "header": "Offer",
        "line_items": [{"price": hour.id, "quantity": 3}, {"price_data": {
            "currency": "usd", "product": hour.product, "unit_amount": 2500}}]})
    assert quote.id.startswith("qt_") and quote.object == "quote"
    assert (quote.status, quote.amount_total, quote.amount_subtotal) == ("draft", 47500, 47500)
    assert (quote.computed.upfront.amount_total, quote.computed.recurring) == (47500, None)
    assert (quote.currency, quote.customer, quote.number, quote.invoice) == (
        "usd", customer.id, None, None)
    assert quote.expires_at == quote.created + 30 * 86_400
    items = client.v1.quotes.line_items.list(quote.id)
    assert [(item.quantity, item.amount_total) for item in items.data] == [(3, 45000),
                                                                          (1, 2500)]
    included = client.v1.quotes.retrieve(quote.id, params={"expand": ["line_items"]})
    assert [item.id for item in included.line_items.data] == [item.id for item in items.data]
    assert object_problems(included.last_response.data) == []


def test_finalize_then_accept_makes_the_invoice(client, customer, prices):
    hour, _ = prices
    quote = client.v1.quotes.create(params={
        "customer": customer.id, "collection_method": "send_invoice",
        "invoice_settings": {"days_until_due": 14},
        "line_items": [{"price": hour.id, "quantity": 2}]})
    opened = client.v1.quotes.finalize_quote(quote.id)
    assert opened.status == "open" and opened.number.startswith("QT-")
    assert opened.status_transitions.finalized_at is not None
    refused(lambda: client.v1.quotes.update(quote.id, params={"description": "x"}),
            "only be changed while it is a draft", param="description")
    accepted = client.v1.quotes.accept(quote.id)
    assert accepted.status == "accepted" and accepted.status_transitions.accepted_at
    invoice = client.v1.invoices.retrieve(accepted.invoice)
    assert (invoice.status, invoice.customer, invoice.total) == ("draft", customer.id, 30000)
    assert invoice.collection_method == "send_invoice"
    assert invoice.due_date == invoice.created + 14 * 86_400
    assert [line.pricing.price_details.price for line in invoice.lines.data] == [hour.id]
    refused(lambda: client.v1.quotes.accept(quote.id), "only an open")
    refused(lambda: client.v1.quotes.cancel(quote.id), "only a draft or open")


def test_cancel(client, customer, prices):
    hour, _ = prices
    quote = client.v1.quotes.create(params={"customer": customer.id,
                                            "line_items": [{"price": hour.id}]})
    canceled = client.v1.quotes.cancel(quote.id)
    assert (canceled.status, canceled.status_transitions.canceled_at is not None) == (
        "canceled", True)
    refused(lambda: client.v1.quotes.finalize_quote(quote.id), "only a draft")


def test_refusals(client, customer, prices):
    hour, monthly = prices
    bare = client.v1.quotes.create(params={"line_items": [{"price": hour.id}]})
    refused(lambda: client.v1.quotes.finalize_quote(bare.id), "needs a customer",
            param="customer")
    empty = client.v1.quotes.create(params={"customer": customer.id})
    refused(lambda: client.v1.quotes.finalize_quote(empty.id), "needs line items")
    refused(lambda: client.v1.quotes.accept(empty.id), "only an open")
    euro = client.v1.prices.create(params={"product": hour.product, "currency": "eur",
                                           "unit_amount": 100})
    refused(lambda: client.v1.quotes.create(params={"line_items": [
        {"price": hour.id}, {"price": euro.id}]}), "same currency")
    refused(lambda: client.v1.quotes.create(params={"collection_method": "send_invoice"}),
            "days_until_due")
    refused(lambda: client.v1.quotes.create(params={"test_clock": "clock_1"}),
            "No such test clock")
    refused(lambda: client.v1.quotes.update(empty.id, params={"discounts": [
        {"coupon": "SAVE"}]}), "not supported", param="discounts")


def test_accepting_recurring_prices_makes_the_subscription(client, customer, prices):
    hour, monthly = prices
    method = client.v1.payment_methods.attach("pm_card_visa",
                                              params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": method.id}})
    quote = client.v1.quotes.create(params={
        "customer": customer.id, "line_items": [
            {"price": monthly.id, "quantity": 2}, {"price": hour.id}],
        "subscription_data": {"description": "Retainer", "metadata": {"deal": "7"}}})
    assert quote.subscription_data.description == "Retainer"
    assert quote.subscription_data.metadata.to_dict() == {"deal": "7"}
    assert quote.computed.recurring.amount_total == 1800
    assert quote.computed.recurring.interval == "month"
    assert quote.computed.upfront.amount_total == 16800
    client.v1.quotes.finalize_quote(quote.id)
    accepted = client.v1.quotes.accept(quote.id)
    assert accepted.status == "accepted" and accepted.subscription is not None
    sub = client.v1.subscriptions.retrieve(accepted.subscription)
    assert (sub.customer, sub.status, sub.description) == (customer.id, "active", "Retainer")
    assert sub.metadata.to_dict() == {"deal": "7"}
    assert [(item.price.id, item.quantity) for item in sub["items"].data] == [
        (monthly.id, 2)]
    # The subscription's first invoice bills the first period and the one-time price too.
    invoice = client.v1.invoices.retrieve(accepted.invoice)
    assert invoice.id == sub.latest_invoice
    assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == (
        "subscription_create", "paid", 16800)
    lines = {(line.pricing.price_details.price, line.amount, line.parent.type)
             for line in invoice.lines.data}
    assert lines == {(monthly.id, 1800, "subscription_item_details"),
                     (hour.id, 15000, "invoice_item_details")}
    assert invoice.parent.subscription_details.subscription == sub.id
    assert object_problems(accepted.last_response.data) == []
    refused(lambda: client.v1.quotes.accept(quote.id), "only an open")
    assert len(client.v1.subscriptions.list(params={"customer": customer.id}).data) == 1


def test_a_recurring_quote_sent_as_an_invoice(client, customer, prices):
    _, monthly = prices
    quote = client.v1.quotes.create(params={
        "customer": customer.id, "collection_method": "send_invoice",
        "invoice_settings": {"days_until_due": 10}, "line_items": [{"price": monthly.id}],
        "subscription_data": {"trial_period_days": 7}})
    client.v1.quotes.finalize_quote(quote.id)
    accepted = client.v1.quotes.accept(quote.id)
    sub = client.v1.subscriptions.retrieve(accepted.subscription)
    assert (sub.collection_method, sub.days_until_due, sub.status) == (
        "send_invoice", 10, "trialing")
    assert sub.trial_end == sub.start_date + 7 * 86_400
    invoice = client.v1.invoices.retrieve(accepted.invoice)
    assert (invoice.status, invoice.total, invoice.collection_method) == (
        "paid", 0, "send_invoice")


def test_lists_filter_by_customer_and_status(client, customer, prices):
    hour, _ = prices
    first = client.v1.quotes.create(params={"customer": customer.id,
                                            "line_items": [{"price": hour.id}]})
    second = client.v1.quotes.create(params={"line_items": [{"price": hour.id}]})
    client.v1.quotes.finalize_quote(first.id)
    assert [q.id for q in client.v1.quotes.list().data] == [second.id, first.id]
    assert [q.id for q in client.v1.quotes.list(params={"customer": customer.id}).data] == [
        first.id]
    assert [q.id for q in client.v1.quotes.list(params={"status": "draft"}).data] == [
        second.id]


def test_a_quote_expires_at_its_time():
    now = [1_800_000_000.0]
    with SandboxServer(host="127.0.0.1", port=0, clock=lambda: now[0]) as sandbox:
        client = make_client(sandbox)
        customer = client.v1.customers.create(params={"email": "late@example.com"})
        product = client.v1.products.create(params={"name": "Thing"})
        price = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                                "unit_amount": 100})
        quote = client.v1.quotes.create(params={"customer": customer.id,
                                                "expires_at": int(now[0]) + 3600,
                                                "line_items": [{"price": price.id}]})
        client.v1.quotes.finalize_quote(quote.id)
        now[0] += 3599
        assert client.v1.quotes.retrieve(quote.id).status == "open"
        now[0] += 2
        expired = client.v1.quotes.retrieve(quote.id)
        assert (expired.status, expired.status_transitions.canceled_at) == (
            "canceled", quote.expires_at)
        refused(lambda: client.v1.quotes.accept(quote.id), "canceled")
        [change] = [c for c in sandbox.changes() if c["object"] == "quote"
                    and c["action"] == "cancel"]
        assert change["id"] == quote.id
