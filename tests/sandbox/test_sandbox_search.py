"""Search: Stripe's query language on customers, invoices, prices and products."""

from __future__ import annotations

import pytest
import stripe
from sandbox_http import raw_request
from stripe_pay.sandbox import search
from stripe_pay.sandbox.resources import Backend


@pytest.fixture
def people(client: stripe.StripeClient) -> dict[str, str]:
    made = {}
    for name, email, phone, plan in (
        ("Jenny Rosen", "jenny@example.com", "+15550001", "gold"),
        ("Jenny O'Hara", "ohara@example.com", "+15550002", "silver"),
        ("Bob Smith", "bob@sample.org", None, "gold"),
        ('Ann "Q" Lee', "ann@example.com", "+33100", None),
    ):
        params = {"name": name, "email": email}
        if phone:
            params["phone"] = phone
        if plan:
            params["metadata"] = {"plan": plan}
        made[name] = client.v1.customers.create(params=params).id
    return made


def names(client, query: str, **params) -> set[str]:
    result = client.v1.customers.search(params={"query": query, **params})
    return {customer.name for customer in result.data}


def test_exact_match_ignores_case(client, people):
    assert names(client, "email:'jenny@example.com'") == {"Jenny Rosen"}
    assert names(client, "email:'JENNY@EXAMPLE.COM'") == {"Jenny Rosen"}
    assert names(client, 'name:"Bob Smith"') == {"Bob Smith"}
    assert names(client, "email:'jenny'") == set()


def test_substring_match(client, people):
    assert names(client, "name~'jenny'") == {"Jenny Rosen", "Jenny O'Hara"}
    assert names(client, "email~'example.com'") == {"Jenny Rosen", "Jenny O'Hara", "Ann \"Q\" Lee"}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        names(client, "name~'je'")
    assert raised.value.param == "query" and "at least 3" in raised.value.user_message


def test_negation(client, people):
    assert names(client, "-name~'jenny'") == {"Bob Smith", 'Ann "Q" Lee'}
    assert names(client, "-email:'bob@sample.org' AND email~'sample'") == set()


def test_a_negated_substring_keeps_records_without_the_field(client, people):
    client.v1.customers.create(params={"name": "No Phone"})
    assert names(client, "-phone~'5550'") == {"Bob Smith", 'Ann "Q" Lee', "No Phone"}
    assert names(client, "-email~'EXAMPLE' AND -name~'smith'") == {"No Phone"}
    assert names(client, "-email~'example' OR name~'ann'") == {
        "Bob Smith", 'Ann "Q" Lee', "No Phone"}
    for query, message in (("-name~'je'", "at least 3"),
                           ("-metadata['plan']~'gold'", "does not support substring")):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            names(client, query)
        assert raised.value.param == "query" and message in raised.value.user_message


def test_substrings_on_the_fields_stripe_types_as_string(client):
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    product = client.v1.products.create(params={"name": "Shirt", "url": "https://x.test/shirts"})
    price = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                            "unit_amount": 5, "lookup_key": "shirt_monthly"})

    def ids(service, query):
        return [found.id for found in service.search(params={"query": query}).data]

    assert ids(client.v1.invoices, "status~'draf'") == [invoice.id]
    assert ids(client.v1.products, "url~'/shirts'") == [product.id]
    assert ids(client.v1.prices, "lookup_key~'monthly'") == [price.id]
    assert ids(client.v1.prices, f"product~'{product.id[5:]}'") == [price.id]
    for service, query in ((client.v1.invoices, f"customer~'{customer.id}'"),
                           (client.v1.invoices, "currency~'usd'"),
                           (client.v1.prices, "type~'one_time'")):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            ids(service, query)
        assert "does not support substring" in raised.value.user_message


def test_metadata_and_null(client, people):
    assert names(client, "metadata['plan']:'gold'") == {"Jenny Rosen", "Bob Smith"}
    assert names(client, 'metadata["plan"]:"silver"') == {"Jenny O'Hara"}
    assert names(client, "metadata['plan']:null") == {'Ann "Q" Lee'}
    assert names(client, "-metadata['plan']:null AND phone:null") == {"Bob Smith"}


def test_escaped_quotes(client, people):
    assert names(client, r"name:'Jenny O\'Hara'") == {"Jenny O'Hara"}
    assert names(client, r'name:"Ann \"Q\" Lee"') == {'Ann "Q" Lee'}
    assert names(client, "name:\"Jenny O'Hara\"") == {"Jenny O'Hara"}


def test_and_or_and_their_mix(client, people):
    assert names(client, "metadata['plan']:'gold' AND email~'example'") == {"Jenny Rosen"}
    assert names(client, "email:'bob@sample.org' OR phone:'+33100'") == {"Bob Smith",
                                                                         'Ann "Q" Lee'}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        names(client, "name~'jen' AND email~'exa' OR phone:'1'")
    assert raised.value.http_status == 400 and "not both" in raised.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as raised:
        names(client, "(name~'jen' OR email~'exa')")
    assert "Parentheses" in raised.value.user_message


def test_at_most_ten_clauses(client, people):
    ten = " OR ".join(f"email:'nobody{i}@x.y'" for i in range(10))
    assert names(client, ten) == set()
    with pytest.raises(stripe.InvalidRequestError) as raised:
        names(client, ten + " OR email:'jenny@example.com'")
    assert "at most 10 clauses" in raised.value.user_message


def test_numeric_comparisons(client, sandbox):
    customer = client.v1.customers.create()
    amounts = {}
    for amount in (500, 1500, 2500):
        invoice = client.v1.invoices.create(params={"customer": customer.id})
        client.v1.invoice_items.create(params={"customer": customer.id, "amount": amount,
                                               "currency": "usd", "invoice": invoice.id})
        amounts[invoice.id] = amount

    def totals(query: str) -> list[int]:
        found = client.v1.invoices.search(params={"query": query}).data
        return sorted(invoice.total for invoice in found)

    assert totals("total>1500") == [2500]
    assert totals("total>=1500") == [1500, 2500]
    assert totals("total<1500") == [500]
    assert totals("total<=1500 AND total>500") == [1500]
    assert totals("total:2500") == [2500]
    assert totals(f"created>={customer.created} AND status:'draft'") == [500, 1500, 2500]
    assert totals(f"customer:'{customer.id}' AND currency:'usd'") == [500, 1500, 2500]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        totals("status>'draft'")
    assert "only numeric" in raised.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as raised:
        totals("total>'many'")
    assert "needs a number" in raised.value.user_message


def test_products_and_prices(client):
    shirt = client.v1.products.create(params={"name": "Blue shirt", "description": "cotton",
                                              "shippable": True})
    client.v1.products.create(params={"name": "Ebook", "active": False})
    assert [p.id for p in client.v1.products.search(
        params={"query": "active:'true' AND name~'shirt'"}).data] == [shirt.id]
    assert [p.name for p in client.v1.products.search(
        params={"query": "active:false"}).data] == ["Ebook"]
    assert [p.id for p in client.v1.products.search(
        params={"query": "shippable:'true' AND description~'cot'"}).data] == [shirt.id]
    price = client.v1.prices.create(params={"product": shirt.id, "currency": "eur",
                                            "unit_amount": 10, "lookup_key": "blue"})
    client.v1.prices.create(params={"product": shirt.id, "currency": "usd", "unit_amount": 12})
    assert [p.id for p in client.v1.prices.search(
        params={"query": f"product:'{shirt.id}' AND currency:'eur'"}).data] == [price.id]
    assert [p.id for p in client.v1.prices.search(
        params={"query": "lookup_key:'blue' AND type:'one_time'"}).data] == [price.id]


def test_unsearchable_field_and_bad_syntax(client):
    cases = {
        "nickname:'x'": "not searchable",
        "status:'paid'": "not searchable",
        "email 'x'": "expected an operator",
        "email:'x' email:'y'": "expected AND or OR",
        "email:'unterminated": "never closed",
        "email:jenny": "expected a quoted value",
        "metadata:'x'": "metadata key",
        "": "empty",
        "email:'x' and email:'y'": "expected AND or OR",
    }
    for query, message in cases.items():
        with pytest.raises(stripe.InvalidRequestError) as raised:
            client.v1.customers.search(params={"query": query})
        assert raised.value.http_status == 400, query
        assert raised.value.param == "query", query
        assert message in raised.value.user_message, (query, raised.value.user_message)


def test_search_result_shape_and_paging(client, sandbox):
    ids = [client.v1.customers.create(params={"email": f"p{i}@page.example"}).id
           for i in range(25)]
    first = client.v1.customers.search(params={"query": "email~'page.example'", "limit": 10})
    raw = first.to_dict()
    assert raw["object"] == "search_result" and raw["url"] == "/v1/customers/search"
    assert raw["has_more"] is True and isinstance(raw["next_page"], str)
    assert "total_count" not in raw
    everything = [c.id for c in first.auto_paging_iter()]
    assert everything == list(reversed(ids))
    last = client.v1.customers.search(params={"query": "email~'page.example'", "limit": 10,
                                              "page": first.next_page})
    last = client.v1.customers.search(params={"query": "email~'page.example'", "limit": 10,
                                              "page": last.next_page})
    assert len(last.data) == 5 and last.has_more is False and last.next_page is None
    counted = client.v1.customers.search(params={"query": "email~'page.example'", "limit": 1,
                                                 "expand": ["total_count"]})
    assert counted.total_count == 25
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.search(params={"query": "email~'other'", "page": first.next_page})
    assert raised.value.param == "page"
    status, _, body = raw_request(sandbox, "GET", "/v1/customers/search?query=email~'xyz'&page=zz")
    assert status == 400 and body["error"]["param"] == "page"


def test_invoice_search_by_number_and_subscription(client):
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert [i.id for i in client.v1.invoices.search(
        params={"query": f"number:'{finalized.number}'"}).data] == [invoice.id]
    assert client.v1.invoices.search(params={"query": "subscription:'sub_123'"}).data == []
    assert [i.id for i in client.v1.invoices.search(
        params={"query": "subscription:null"}).data] == [invoice.id]


def test_parser_without_http():
    query = search.parse(r"-email:'a\'b' AND metadata['k']:null", "customer",
                         Backend().resources["customer"].search)
    assert query.conjunction == "AND"
    assert [(c.field, c.key, c.op, c.value, c.negated) for c in query.clauses] == [
        ("email", None, ":", "a'b", True), ("metadata", "k", ":", None, False)]
    assert query.matches({"email": "x", "metadata": {}})
    assert not query.matches({"email": "A'B", "metadata": {}})
