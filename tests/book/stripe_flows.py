"""End-to-end flows of the Stripe Pay book, each checking its own outcome.

They run live against the sandbox (test_sandbox_flows.py) and from recorded cassettes with
no server at all (test_cassettes.py). Every value they send is fixed, so a recording replays
request for request; ids come back from the responses, recorded or live.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import islice

import attrs
import pytest

from kognitos_books import BookError, Call, Condition, InvalidCall, Record, Runtime

#: Stripe's documented example test key: well-formed, and scrubbed from cassettes.
TEST_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
KEY_ENV = "KBOOKS_STRIPE_PAY_API_KEY"
BASE_ENV = "KBOOKS_STRIPE_PAY_API_BASE"


@attrs.frozen
class Env:
    """What a flow runs with: fresh runtimes, and how long Stripe's search may lag."""

    new_runtime: Callable[[], Runtime]
    search_lag: float = 0.0


def eventually(env: Env, fetch: Callable[[], Record]) -> Record:
    """``fetch()``, retried while Stripe's search has not caught up (only real Stripe lags;
    replays repeat the recorded attempts)."""
    deadline = time.monotonic() + env.search_lag
    while True:
        try:
            return fetch()
        except BookError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(2)


MANUAL_TOUR = '''\
create a customer in stripe with
  the email is "john.doe@example.com"
  the name is "John Doe"
get a customer from stripe whose email is "john.doe@example.com"
create a product in stripe with
  the name is "Gold plan"
create a price in stripe with
  the unit_amount is 1000
  the currency is "usd"
  the product is the product's id
create an invoice in stripe with
  the customer is the customer's id
add a item to the invoice with
  the customer is the customer's id
  the amount is 1500
  the currency is "usd"
send the invoice
get an invoice from stripe whose status is "open"
'''


def manual(env: Env) -> None:
    """The manual's commands, with its placeholder ids replaced by real references; then
    the placeholders themselves, which must fail with Stripe's own reasons."""
    rt = env.new_runtime()
    result = rt.run(MANUAL_TOUR, journal=False)
    assert result.ok, [(s.line, s.error) for s in result.failures]
    customer, found, product, price, invoice, item, sent, open_invoice = result.results()
    assert found.id == customer.id and customer["name"] == "John Doe"
    assert (price["unit_amount"], price["currency"], price["product"]) == (1000, "usd",
                                                                           product.id)
    assert invoice["status"] == "draft" and invoice["collection_method"] == "send_invoice"
    assert (item["amount"], item["invoice"]) == (1500, invoice.id)
    assert (sent.id, sent["status"], sent["amount_due"]) == (invoice.id, "open", 1500)
    assert open_invoice["status"] == "open"

    placeholders = rt.run('delete a customer in stripe with\n  the id is "cus_123ABC"\n'
                          'create a price in stripe with\n  the unit_amount is 1000\n'
                          '  the currency is "usd"\n  the product is "12232232"\n',
                          journal=False)
    [failure] = placeholders.failures
    assert failure.error_code == "resource_missing"
    assert "cus_123ABC" in failure.error


def customers(env: Env) -> None:
    """Create, find by an exact filter, update, list lazily, delete."""
    rt = env.new_runtime()
    jo = rt.call("create a customer in stripe", email="jo@example.com", name="Jo Park",
                 **{"metadata.plan": "gold"})
    assert (jo["email"], jo["metadata"]) == ("jo@example.com", {"plan": "gold"})
    rt.call("create a customer in stripe", email="al@example.com", name="Al Smith")
    assert rt.call("get a customer from stripe", email="jo@example.com").id == jo.id
    changed = rt.call("update a customer in stripe", id=jo.id, name="Jo Park-Lee",
                      **{"metadata.tier": "1"})
    assert changed["name"] == "Jo Park-Lee"
    assert changed["metadata"] == {"plan": "gold", "tier": "1"}
    assert rt.call("get a customer from stripe", id=jo.id)["name"] == "Jo Park-Lee"
    everyone = rt.call("get all customers from stripe")
    assert [c["email"] for c in everyone] == ["al@example.com", "jo@example.com"]
    # After writes, a name is matched in the client, never through the lagging search.
    starts = Call(book="stripe_pay", verb="get", noun="customer",
                  where=Condition(("name",), "starts with", "jo park"))
    assert rt.dispatch(starts).id == jo.id
    gone = rt.call("delete a customer in stripe", id=jo.id)
    assert (gone.id, gone["deleted"]) == (jo.id, True)
    with pytest.raises(BookError, match="has been deleted"):
        rt.call("get a customer from stripe", id=jo.id)
    with pytest.raises(BookError, match='no customer in Stripe has email "nobody@example.com"'):
        rt.call("get a customer from stripe", email="nobody@example.com")


def catalog(env: Env) -> None:
    """Products and prices: create, filter, archive; a price is never deleted."""
    rt = env.new_runtime()
    gold = rt.call("create a product in stripe", name="Gold", description="The gold plan")
    spare = rt.call("create a product in stripe", name="Spare")
    price = rt.call("create a price in stripe", unit_amount=1000, currency="usd",
                    product=gold.id, nickname="monthly")
    assert (price["unit_amount"], price["active"]) == (1000, True)
    assert rt.call("get a price from stripe", product=gold.id).id == price.id
    archived = rt.call("update a price in stripe", id=price.id, active=False)
    assert archived["active"] is False
    with pytest.raises(InvalidCall, match="a price cannot be deleted"):
        rt.call("delete a price in stripe", id=price.id)
    renamed = rt.call("update a product in stripe", id=gold.id, name="Gold plan")
    assert renamed["name"] == "Gold plan"
    with pytest.raises(BookError) as refused:
        rt.call("delete a product in stripe", id=gold.id)
    assert refused.value.status == 400
    assert rt.call("delete a product in stripe", id=spare.id)["deleted"] is True
    names = [p["name"] for p in rt.call("get all products from stripe")]
    assert names == ["Gold plan"]


def invoices(env: Env) -> None:
    """Every invoice action, items added with and without their customer, and refusals."""
    rt = env.new_runtime()
    ann = rt.call("create a customer in stripe", email="ann@example.com", name="Ann Lee")
    first = rt.call("create an invoice in stripe", customer=ann.id, description="March")
    assert (first["status"], first["collection_method"]) == ("draft", "send_invoice")
    one = rt.call("add an invoice item to the invoice", customer=ann.id, amount=1500,
                  currency="usd", description="Consulting")
    two = rt.call("add an invoice item to the invoice", amount=500, currency="usd",
                  description="Travel")
    assert two["customer"] == ann.id and two["invoice"] == first.id
    assert rt.call("update an invoice item in stripe", id=two.id, amount=700)["amount"] == 700
    items = rt.call("get all invoice items from stripe", invoice=first.id)
    assert sorted(i["amount"] for i in items) == [700, 1500]
    assert rt.call("delete an invoice item in stripe", id=one.id)["deleted"] is True
    assert rt.call("finalize the invoice")["status"] == "open"
    with pytest.raises(BookError) as refused:
        rt.call("add an invoice item to the invoice", amount=100, currency="usd")
    assert "draft" in refused.value.hint
    with pytest.raises(BookError) as refused:
        rt.call("delete an invoice in stripe", id=first.id)
    assert "void it instead" in refused.value.hint
    paid = rt.call("pay the invoice")
    assert (paid["status"], paid["amount_paid"]) == ("paid", 700)

    rt.call("create an invoice in stripe", customer=ann.id)
    rt.call("add an invoice item to the invoice", amount=2500, currency="usd")
    sent = rt.call("send the invoice")
    assert (sent["status"], sent["amount_due"]) == ("open", 2500)
    assert rt.call("mark the invoice as uncollectible")["status"] == "uncollectible"
    assert rt.call("void the invoice")["status"] == "void"

    draft = rt.call("create an invoice in stripe", customer=ann.id)
    assert rt.call("delete an invoice in stripe", id=draft.id)["deleted"] is True

    # A fresh connection has not seen the invoice: it asks Stripe for the customer first.
    third = rt.call("create an invoice in stripe", customer=ann.id)
    other = env.new_runtime()
    added = other.call("add an invoice item to the invoice", invoice=third.id, amount=900,
                       currency="usd")
    assert added["customer"] == ann.id
    statuses = [i["status"] for i in rt.call("get all invoices from stripe")]
    assert statuses == ["draft", "void", "paid"]


def search(env: Env) -> None:
    """A connection that has written nothing uses Stripe's Search API."""
    writer = env.new_runtime()
    writer.call("create a customer in stripe", email="sam@example.com", name="Sam O'Neil",
                **{"metadata.plan": "silver"})
    writer.call("create a customer in stripe", email="kim@example.com", name="Kim Back\\slash")
    reader = env.new_runtime()
    sam = eventually(env, lambda: reader.call("get a customer from stripe", name="Sam O'Neil"))
    assert sam["email"] == "sam@example.com"
    kim = eventually(env, lambda: reader.call("get a customer from stripe",
                                              name="Kim Back\\slash"))
    assert kim["email"] == "kim@example.com"
    silver = eventually(env, lambda: reader.call("get a customer from stripe",
                                                 **{"metadata.plan": "silver"}))
    assert silver.id == sam.id
    many = reader.call("get all customers from stripe", name="Sam O'Neil")
    assert [c.id for c in islice(many, 5)] == [sam.id]


def errors(env: Env) -> None:
    """Stripe's refusals arrive as BookErrors with Stripe's own details."""
    rt = env.new_runtime()
    with pytest.raises(BookError) as missing:
        rt.call("get a customer from stripe", id="cus_doesnotexist")
    error = missing.value
    assert (error.code, error.status, error.param) == ("resource_missing", 404, "id")
    assert "cus_doesnotexist" in error.message
    assert error.request_id and error.request_id.startswith("req_")
    with pytest.raises(BookError) as invalid:
        rt.call("create a price in stripe", currency="usd", unit_amount=5)
    assert invalid.value.status == 400 and invalid.value.message


FLOWS: dict[str, Callable[[Env], None]] = {
    "manual": manual,
    "customers": customers,
    "catalog": catalog,
    "invoices": invoices,
    "search": search,
    "errors": errors,
}
