"""check_call and plan_call: what is refused and what would be sent, with no request."""

import pytest
from stripe_pay.book import check_call, plan_call

from kognitos_books import Call, Condition, InvalidCall, Runtime


def call(verb, noun, **kw):
    return Call(book="stripe_pay", verb=verb, noun=noun, idempotency_key="kbooks-k1", **kw)


def messages(c):
    return [(p.message, p.field) for p in check_call(call=c)]


# ---------------------------------------------------------------------- check_call


def test_manual_subscription_id_for_an_invoice():
    assert messages(call("delete", "invoice", id="sub_123456789")) == [(
        "sub_123456789 is a subscription id, not an invoice id (invoice ids start with in_)",
        "id")]


@pytest.mark.parametrize(("noun", "record_id", "message"), [
    ("customer", "in_1", "in_1 is an invoice id, not a customer id (customer ids start "
                         "with cus_)"),
    ("invoice item", "il_1", "il_1 is an invoice line item id, not an invoice item id "
                             "(invoice item ids start with ii_)"),
    ("price", "prod_1", "prod_1 is a product id, not a price id (price ids start with "
                        "price_)"),
    ("customer", "123ABC", "123ABC is not a customer id (customer ids start with cus_)"),
])
def test_wrong_ids(noun, record_id, message):
    assert messages(call("update", noun, id=record_id)) == [(message, "id")]


def test_right_ids_and_custom_product_ids_pass():
    assert messages(call("delete", "customer", id="cus_123ABC")) == []
    assert messages(call("update", "product", id="12232232")) == []
    assert messages(call("create", "price", fields={
        "unit_amount": 1000, "currency": "usd", "product": "12232232"})) == []


def test_reference_fields_and_targets():
    assert messages(call("create", "invoice", fields={"customer": "prod_1"})) == [(
        "prod_1 is a product id, not a customer id (customer ids start with cus_)",
        "customer")]
    assert messages(call("add", "invoice item", target_id="cus_1",
                         fields={"amount": 5})) == [(
        "cus_1 is a customer id, not an invoice id (invoice ids start with in_)", "invoice")]
    assert messages(call("get", "invoice", where=Condition(("customer",), "is", "in_9"))
                    ) == [("in_9 is an invoice id, not a customer id (customer ids start "
                           "with cus_)", "customer")]


def test_price_delete_is_refused_with_a_hint():
    [problem] = check_call(call=call("delete", "price", id="price_1"))
    assert problem.message == ("a price cannot be deleted; archive it by updating active "
                               "to false")
    assert "the active is false" in problem.hint


def test_runtime_refuses_before_connecting(kbooks_runtime: Runtime):
    proc = kbooks_runtime.procedure("delete an invoice in stripe")
    with pytest.raises(InvalidCall) as info:
        kbooks_runtime.build_call(proc, {"id": "sub_123456789"})
    assert str(info.value) == ("delete an invoice in stripe (id): sub_123456789 is a "
                               "subscription id, not an invoice id (invoice ids start with "
                               "in_)")
    with pytest.raises(InvalidCall, match="a price cannot be deleted"):
        kbooks_runtime.build_call(kbooks_runtime.procedure("delete a price in stripe"),
                                  {"id": "price_1"})


# ---------------------------------------------------------------------- plan_call


def plan(c):
    """The strategy and each request as (method, path, params, note)."""
    p = plan_call(call=c, connection=None)
    return p.strategy, [(r.method, r.path, dict(r.params), r.note) for r in p.requests]


KEY = "Idempotency-Key kbooks-k1"


def test_plans_of_the_manual_gets():
    assert plan(call("get", "customer", where=Condition(("email",), "is", "j@x.io"))) == (
        "list filter", [("GET", "/v1/customers", {"email": "j@x.io", "limit": 1},
                         "exact, newest first")])
    assert plan(call("get", "invoice", where=Condition(("status",), "is", "open"))) == (
        "list filter", [("GET", "/v1/invoices", {"status": "open", "limit": 1},
                         "exact, newest first")])


def test_plan_of_a_search_and_a_client_filter():
    strategy, [request] = plan(call("get", "customer",
                                    where=Condition(("name",), "is", "John Doe")))
    assert strategy == "search"
    assert request[:3] == ("GET", "/v1/customers/search",
                           {"query": "name:'John Doe'", "limit": 1})
    strategy, [request] = plan(call("get", "customer", many=True,
                                    where=Condition(("name",), "starts with", "Jo")))
    assert strategy == "client-side filter"
    assert request[:3] == ("GET", "/v1/customers", {"limit": 100})
    assert request[3].startswith("every page")


def test_plans_of_writes():
    assert plan(call("create", "customer", fields={"email": "j@x.io", "name": "John Doe"})
                ) == ("create", [("POST", "/v1/customers",
                                  {"email": "j@x.io", "name": "John Doe"}, KEY)])
    assert plan(call("create", "invoice", fields={"customer": "cus_1"}))[1] == [
        ("POST", "/v1/invoices", {"customer": "cus_1", "collection_method": "send_invoice",
                                  "days_until_due": 30}, KEY)]
    assert plan(call("create", "invoice", fields={
        "customer": "cus_1", "collection_method": "charge_automatically"}))[1] == [
        ("POST", "/v1/invoices", {"customer": "cus_1",
                                  "collection_method": "charge_automatically"}, KEY)]
    assert plan(call("create", "invoice", fields={"customer": "cus_1", "due_date": 1}))[1][
        0][2] == {"customer": "cus_1", "due_date": 1, "collection_method": "send_invoice"}
    assert plan(call("update", "customer", id="cus_1", fields={"metadata.plan": "gold"})
                )[1] == [("POST", "/v1/customers/cus_1", {"metadata[plan]": "gold"}, KEY)]
    assert plan(call("delete", "customer", id="cus_1"))[1] == [
        ("DELETE", "/v1/customers/cus_1", {}, KEY)]
    assert plan(call("delete", "price", id="price_1")) == (
        "refused: a price cannot be deleted; archive it by updating active to false", [])


@pytest.mark.parametrize(("verb", "fields", "suffix", "params"), [
    ("send", {}, "/send", {}),
    ("finalize", {}, "/finalize", {}),
    ("pay", {}, "/pay", {"paid_out_of_band": "true"}),
    ("pay", {"payment_method": "pm_1"}, "/pay", {"payment_method": "pm_1"}),
    ("void", {}, "/void", {}),
    ("mark_uncollectible", {}, "/mark_uncollectible", {}),
])
def test_plans_of_invoice_actions(verb, fields, suffix, params):
    assert plan(call(verb, "invoice", id="in_1", fields=fields)) == (
        verb, [("POST", f"/v1/invoices/in_1{suffix}", params, KEY)])


def test_plan_of_adding_an_item():
    given = {"customer": "cus_123ABC", "amount": 1500, "currency": "usd"}
    assert plan(call("add", "invoice item", target_id="in_1", fields=given)) == (
        "add", [("POST", "/v1/invoiceitems", {**given, "invoice": "in_1"}, KEY)])
    strategy, requests = plan(call("add", "invoice item", target_id="in_1",
                                   fields={"amount": 1500, "currency": "usd"}))
    assert [r[:2] for r in requests] == [("GET", "/v1/invoices/in_1"),
                                         ("POST", "/v1/invoiceitems")]
