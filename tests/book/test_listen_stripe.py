"""kbooks listen with the Stripe Pay book against the sandbox: its endpoint registered once,
its signed deliveries received on a real server, each event's automation run once."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from stripe_flows import TEST_KEY

from kognitos_books import ConfigurationError, Runtime
from kognitos_books.testing.listening import Listening, wait_for
from kognitos_books.triggers.inbox import Inbox
from kognitos_books.triggers.listener import Listener

PRODUCT_PER_CUSTOMER = """\
when a customer is created in stripe
  create a product in stripe with
    the name is the customer's id
"""

PAID = """\
when an invoice is paid in stripe
  get the invoice's customer
  update the customer with
    the description is the event's type
"""






@pytest.fixture
def client(stripe_env: Any) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": stripe_env.url})


def products(client: stripe.StripeClient) -> list[str]:
    return [p.name for p in client.v1.products.list({"limit": 100}).auto_paging_iter()]


def test_deliveries_run_each_event_once_and_the_endpoint_is_registered_once(
        rt: Runtime, client: stripe.StripeClient, stripe_env: Any) -> None:
    stripe_env.set_faults(webhook_duplicate_rate=1.0)  # every delivery sent twice
    first = Listener(rt, [("new.kb", PRODUCT_PER_CUSTOMER)], port=0)
    with Listening(first) as running:
        made = [client.v1.customers.create({"email": f"l{k}@example.com"}).id
                for k in range(5)]
        assert wait_for(lambda: sorted(products(client)) == sorted(made)), products(client)
        assert stripe_env.drain_webhooks(10)
        assert any("registered stripe_pay's endpoint" in line for line in running.lines)
    inbox = Inbox(rt.store.home)
    assert inbox.counts() == {"succeeded": 5}
    endpoints = client.v1.webhook_endpoints.list().data
    assert [(e.url, e.enabled_events) for e in endpoints] == [
        (first.endpoint_url("stripe_pay"), ["customer.created"])]
    # started again at the same address: the same endpoint is found, nothing runs twice
    assert first.server is not None
    with Listening(Listener(rt, [("new.kb", PRODUCT_PER_CUSTOMER)], port=first.server.port)
                 ) as running:
        assert any("is registered" in line for line in running.lines), running.lines
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [endpoints[0].id]
    assert sorted(products(client)) == sorted(made)
    assert inbox.counts() == {"succeeded": 5}


def test_events_missed_while_down_are_caught_up_on_start(
        rt: Runtime, client: stripe.StripeClient) -> None:
    before = [client.v1.customers.create({"email": f"m{k}@example.com"}).id for k in range(3)]
    listener = Listener(rt, [("new.kb", PRODUCT_PER_CUSTOMER)], poll=0.1)
    with Listening(listener) as running:
        assert wait_for(lambda: sorted(products(client)) == sorted(before))
        later = client.v1.customers.create({"email": "later@example.com"}).id
        assert wait_for(lambda: later in products(client))
        assert any("caught up, 3 event(s)" in line for line in running.lines), running.lines
    assert client.v1.webhook_endpoints.list().data == []  # (polling needs no endpoint)


def test_paying_an_invoice_runs_its_handler_with_the_invoice_and_the_event(
        rt: Runtime, client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "payer@example.com"})
    with Listening(Listener(rt, [("paid.kb", PAID)], port=0)):
        client.v1.invoice_items.create({"customer": customer.id, "amount": 500,
                                        "currency": "usd"})
        invoice = client.v1.invoices.create({"customer": customer.id,
                                             "pending_invoice_items_behavior": "include"})
        client.v1.invoices.finalize_invoice(invoice.id)
        client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_visa"})
        assert wait_for(lambda: client.v1.customers.retrieve(customer.id).description
                        == "invoice.paid")


def test_an_endpoint_whose_secret_is_unknown_is_refused_not_replaced(
        rt: Runtime, client: stripe.StripeClient) -> None:
    listener = Listener(rt, [("new.kb", PRODUCT_PER_CUSTOMER)], port=0)
    with Listening(listener):
        url = listener.endpoint_url("stripe_pay")
    conn = rt.connect("stripe_pay")
    assert rt.store.forget_endpoint("stripe_pay", conn.name, url)
    again = Listener(rt, [("new.kb", PRODUCT_PER_CUSTOMER)], url=listener.url)
    with pytest.raises(ConfigurationError, match="signing secret is not in the credential"):
        again.run()
    assert len(client.v1.webhook_endpoints.list().data) == 1
    assert again.remove_endpoints() == [url]
    assert client.v1.webhook_endpoints.list().data == []
