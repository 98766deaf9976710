"""Lists: newest first, limits, both cursors, auto-paging, and each resource's filters."""

from __future__ import annotations

import pytest
import stripe
from stripe_pay.sandbox import SandboxServer


@pytest.fixture
def two_fifty(client: stripe.StripeClient) -> list[str]:
    """250 customer ids, in creation order."""
    return [client.v1.customers.create(params={"email": f"c{i}@example.com"}).id
            for i in range(250)]


def test_paging_forward_with_starting_after(client, two_fifty):
    seen: list[str] = []
    starting_after = None
    pages = 0
    while True:
        params = {"limit": 100}
        if starting_after:
            params["starting_after"] = starting_after
        page = client.v1.customers.list(params=params)
        pages += 1
        seen.extend(c.id for c in page.data)
        assert page.url == "/v1/customers"
        if not page.has_more:
            break
        starting_after = page.data[-1].id
    assert pages == 3
    assert seen == list(reversed(two_fifty))


def test_paging_backward_with_ending_before(client, two_fifty):
    oldest = two_fifty[0]
    seen: list[str] = []
    ending_before = oldest
    while True:
        page = client.v1.customers.list(params={"limit": 30, "ending_before": ending_before})
        # Each page is newest first; it holds the objects just newer than the cursor.
        seen = [c.id for c in page.data] + seen
        if not page.has_more:
            break
        ending_before = page.data[0].id
    assert seen == list(reversed(two_fifty[1:]))


def test_auto_paging_iter_both_ways(client, two_fifty):
    forward = [c.id for c in client.v1.customers.list(params={"limit": 7}).auto_paging_iter()]
    assert forward == list(reversed(two_fifty))
    backward = [c.id for c in client.v1.customers.list(
        params={"limit": 9, "ending_before": two_fifty[0]}).auto_paging_iter()]
    assert backward == two_fifty[1:]


def test_default_and_bounded_limit(client, sandbox):
    for i in range(12):
        client.v1.products.create(params={"name": f"P{i}"})
    page = client.v1.products.list()
    assert len(page.data) == 10 and page.has_more is True
    assert len(client.v1.products.list(params={"limit": 100}).data) == 12
    for bad, message in ((0, "greater than or equal to 1"), (101, "less than or equal to 100")):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            client.v1.products.list(params={"limit": bad})
        assert raised.value.param == "limit" and message in raised.value.user_message
        assert raised.value.code == "parameter_invalid_integer"


def test_unknown_cursor_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list(params={"starting_after": "cus_nothere"})
    error = raised.value
    assert (error.http_status, error.code, error.param) == (400, "resource_missing",
                                                            "starting_after")
    assert error.user_message == "No such customer: 'cus_nothere'"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.list(params={"starting_after": "a", "ending_before": "b"})


def test_cursor_on_a_deleted_object_keeps_its_place(client):
    ids = [client.v1.customers.create().id for _ in range(5)]
    client.v1.customers.delete(ids[2])
    after = client.v1.customers.list(params={"starting_after": ids[2]})
    assert [c.id for c in after.data] == [ids[1], ids[0]]


def test_same_second_objects_keep_creation_order():
    # Every object is created in the same (frozen) second: newest first still holds.
    with SandboxServer(clock=lambda: 1_700_000_000.0) as frozen:
        client = stripe.StripeClient("sk_test_frozen", base_addresses={"api": frozen.url})
        ids = [client.v1.customers.create().id for _ in range(15)]
        assert {client.v1.customers.retrieve(i).created for i in ids} == {1_700_000_000}
        listed = [c.id for c in client.v1.customers.list(params={"limit": 4}).auto_paging_iter()]
        assert listed == list(reversed(ids))


def test_customer_filters(client):
    jenny = client.v1.customers.create(params={"email": "jenny@example.com"})
    client.v1.customers.create(params={"email": "JENNY@example.com"})
    client.v1.customers.create(params={"email": "other@example.com"})
    found = client.v1.customers.list(params={"email": "jenny@example.com"}).data
    assert [c.id for c in found] == [jenny.id]
    created = jenny.created
    assert len(client.v1.customers.list(params={"created": {"gte": created}}).data) == 3
    assert client.v1.customers.list(params={"created": {"lt": created}}).data == []
    assert len(client.v1.customers.list(params={"created": created}).data) >= 1
    assert client.v1.customers.list(params={"created": {"gt": created + 3600}}).data == []


def test_product_filters(client):
    shirt = client.v1.products.create(params={"name": "Shirt", "shippable": True,
                                              "url": "https://x.example/shirt"})
    ebook = client.v1.products.create(params={"name": "Ebook", "shippable": False})
    old = client.v1.products.create(params={"name": "Old", "active": False})

    def names(**params):
        return [p.name for p in client.v1.products.list(params=params).data]

    assert names(active=True) == ["Ebook", "Shirt"]
    assert names(active=False) == ["Old"]
    assert names(shippable=True) == ["Shirt"]
    assert names(url="https://x.example/shirt") == ["Shirt"]
    assert names(ids=[shirt.id, old.id]) == ["Old", "Shirt"]
    assert ebook.id not in [p.id for p in client.v1.products.list(
        params={"ids": [shirt.id]}).data]


def test_price_filters(client):
    product = client.v1.products.create(params={"name": "P"})
    other = client.v1.products.create(params={"name": "Q"})
    usd = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                          "unit_amount": 100, "lookup_key": "basic"})
    eur = client.v1.prices.create(params={"product": product.id, "currency": "eur",
                                          "unit_amount": 90, "active": False})
    monthly = client.v1.prices.create(params={"product": other.id, "currency": "usd",
                                              "unit_amount": 500,
                                              "recurring": {"interval": "month"}})

    def ids(**params):
        return [p.id for p in client.v1.prices.list(params=params).data]

    assert ids(active=True) == [monthly.id, usd.id]
    assert ids(currency="eur") == [eur.id]
    assert ids(product=product.id) == [eur.id, usd.id]
    assert ids(type="recurring") == [monthly.id]
    assert ids(type="one_time") == [eur.id, usd.id]
    assert ids(lookup_keys=["basic", "missing"]) == [usd.id]
    assert ids(recurring={"interval": "month"}) == [monthly.id]
    assert ids(recurring={"interval": "year"}) == []


def test_invoice_item_filters(client):
    alice = client.v1.customers.create()
    bob = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": alice.id})
    on_invoice = client.v1.invoice_items.create(params={
        "customer": alice.id, "amount": 100, "currency": "usd", "invoice": invoice.id})
    pending = client.v1.invoice_items.create(params={"customer": alice.id, "amount": 200,
                                                     "currency": "usd"})
    bobs = client.v1.invoice_items.create(params={"customer": bob.id, "amount": 300,
                                                  "currency": "usd"})

    def ids(**params):
        return [i.id for i in client.v1.invoice_items.list(params=params).data]

    assert ids(customer=alice.id) == [pending.id, on_invoice.id]
    assert ids(invoice=invoice.id) == [on_invoice.id]
    assert ids(pending=True) == [bobs.id, pending.id]
    assert ids(pending=False) == [on_invoice.id]


def test_invoice_filters(client):
    alice = client.v1.customers.create()
    bob = client.v1.customers.create()
    draft = client.v1.invoices.create(params={"customer": alice.id})
    sent = client.v1.invoices.create(params={"customer": bob.id,
                                             "collection_method": "send_invoice",
                                             "due_date": 2_000_000_000})
    client.v1.invoice_items.create(params={"customer": bob.id, "amount": 700, "currency": "usd",
                                           "invoice": sent.id})
    client.v1.invoices.finalize_invoice(sent.id)

    def ids(**params):
        return [i.id for i in client.v1.invoices.list(params=params).data]

    assert ids(customer=alice.id) == [draft.id]
    assert ids(status="open") == [sent.id]
    assert ids(status="draft") == [draft.id]
    assert ids(collection_method="send_invoice") == [sent.id]
    assert ids(due_date={"gte": 1_999_999_999}) == [sent.id]
    assert ids(due_date=2_000_000_000) == [sent.id]
    assert ids(created={"gte": draft.created}) == [sent.id, draft.id]
    assert ids(subscription="sub_nothere") == []  # (subscriptions' invoices: test_subscriptions)


def test_invoice_lines_page_in_the_order_added(client):
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    items = [client.v1.invoice_items.create(params={
        "customer": customer.id, "amount": 100 + i, "currency": "usd", "invoice": invoice.id}).id
        for i in range(13)]
    inline = client.v1.invoices.retrieve(invoice.id).lines
    assert len(inline.data) == 10 and inline.has_more is True
    lines = list(client.v1.invoices.line_items.list(invoice.id, params={"limit": 5})
                 .auto_paging_iter())
    assert [line.parent.invoice_item_details.invoice_item for line in lines] == items
    second = client.v1.invoices.line_items.list(invoice.id, params={
        "limit": 5, "starting_after": lines[4].id})
    assert [line.id for line in second.data] == [line.id for line in lines[5:10]]
    before = client.v1.invoices.line_items.list(invoice.id, params={
        "limit": 2, "ending_before": lines[4].id})
    assert [line.id for line in before.data] == [lines[2].id, lines[3].id]
