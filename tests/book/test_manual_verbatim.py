"""Every command of the Stripe Pay manual, exactly as the manual prints it (its blocks are not
indented there), parsed, checked, mapped to the right book call, and run against the
sandbox: it succeeds, or fails with one clear line."""

from __future__ import annotations

import pytest

from kognitos_books import Condition
from kognitos_books.language import LanguageError

# The manual's commands, verbatim.
GET_CUSTOMER = 'get a customer from stripe whose email is "[email protected]"'
GET_INVOICE = 'get an invoice from stripe whose status is "open"'
CREATE_CUSTOMER = '''create a customer in stripe with
the email is "[email protected]"
the name is "John Doe"'''
CREATE_PRICE = '''create a price in stripe with
the unit_amount is 1000
the currency is "usd"
the product is "12232232"'''
ADD_ITEM = '''add a item to the invoice with
the customer is "cus_123ABC"
the amount is 1500
the currency is "usd"'''
SEND = "send the invoice"
DELETE_CUSTOMER = '''delete a customer in stripe with
the id is "cus_123ABC"'''
DELETE_INVOICE = '''delete an invoice in stripe with
the id is "sub_123456789"'''


def only_call(rt, text, given=()):
    (step,) = rt.check(text, given=given)
    return step.call(lambda v: f"<{v.raw}>" if hasattr(v, "raw") else v, None)


def test_get_a_customer_maps_to_one_list_request(rt, log):
    call = only_call(rt, GET_CUSTOMER)
    assert (call.verb, call.noun, call.many) == ("get", "customer", False)
    assert call.where == Condition(("email",), "is", "[email protected]")
    plan = rt.plan(call)
    assert [str(r).split("  #")[0] for r in plan.requests] == [
        "GET /v1/customers email=[email protected]&limit=1"]

    missing = rt.run(GET_CUSTOMER)
    assert missing.failures[0].error == 'no customer in Stripe has email "[email protected]"'
    rt.call("create a customer in stripe", email="[email protected]")
    log.clear()
    found = rt.run(GET_CUSTOMER)
    assert found.ok and found.results()[0]["email"] == "[email protected]"
    assert log.lines() == [("GET", "/v1/customers")]


def test_get_an_invoice_maps_to_one_list_request(rt, log):
    call = only_call(rt, GET_INVOICE)
    assert call.where == Condition(("status",), "is", "open")
    assert [str(r).split("  #")[0] for r in rt.plan(call).requests] == [
        "GET /v1/invoices status=open&limit=1"]
    customer = rt.call("create a customer in stripe", email="i@example.com")
    rt.call("create an invoice in stripe", customer=customer.id)
    rt.call("add an item to the invoice", amount=100, currency="usd")
    rt.call("finalize the invoice")
    log.clear()
    result = rt.run(GET_INVOICE)
    assert result.ok and result.results()[0]["status"] == "open"
    assert log.lines() == [("GET", "/v1/invoices")]


def test_create_a_customer(rt, log):
    call = only_call(rt, CREATE_CUSTOMER)
    assert (call.verb, call.noun) == ("create", "customer")
    assert dict(call.fields) == {"email": "[email protected]", "name": "John Doe"}
    result = rt.run(CREATE_CUSTOMER)
    assert result.ok and result.results()[0]["name"] == "John Doe"
    assert log.lines() == [("POST", "/v1/customers")]


def test_create_a_price_of_the_manuals_product(rt, log):
    call = only_call(rt, CREATE_PRICE)
    assert dict(call.fields) == {"unit_amount": 1000, "currency": "usd", "product": "12232232"}
    failed = rt.run(CREATE_PRICE)
    assert failed.failures[0].error.startswith("No such product: '12232232'")
    # products may carry ids of one's choosing: with that product, the command succeeds
    rt.call("create a product in stripe", id="12232232", name="Placeholder")
    created = rt.run(CREATE_PRICE)
    assert created.ok and created.results()[0]["product"] == "12232232"


def test_add_an_item_to_the_invoice(rt, log):
    with pytest.raises(LanguageError, match="no earlier step gives an invoice"):
        rt.run(ADD_ITEM)  # nothing remembered: refused before any request
    assert log.entries() == []
    call = only_call(rt, ADD_ITEM, given=("invoice",))
    assert (call.verb, call.noun, call.target_id) == ("add", "invoice item", "<the invoice>")
    assert dict(call.fields) == {"customer": "cus_123ABC", "amount": 1500, "currency": "usd"}

    customer = rt.call("create a customer in stripe", email="a@example.com")
    rt.call("create an invoice in stripe", customer=customer.id)
    log.clear()
    failed = rt.run(ADD_ITEM)  # the manual's placeholder customer does not exist
    assert failed.failures[0].error.startswith("No such customer: 'cus_123ABC'")
    assert log.lines() == [("POST", "/v1/invoiceitems")]
    fixed = rt.run(ADD_ITEM.replace("cus_123ABC", customer.id))
    assert fixed.ok and fixed.results()[0]["amount"] == 1500


def test_send_the_invoice(rt, log):
    with pytest.raises(LanguageError, match="no earlier step gives an invoice"):
        rt.run(SEND)
    customer = rt.call("create a customer in stripe", email="s@example.com")
    invoice = rt.call("create an invoice in stripe", customer=customer.id)
    rt.call("add an item to the invoice", amount=1500, currency="usd")
    log.clear()
    sent = rt.run(SEND)
    assert sent.ok and sent.results()[0]["status"] == "open"
    assert log.lines() == [("POST", f"/v1/invoices/{invoice.id}/send")]


def test_delete_a_customer(rt, log):
    call = only_call(rt, DELETE_CUSTOMER)
    assert (call.verb, call.noun, call.id) == ("delete", "customer", "cus_123ABC")
    failed = rt.run(DELETE_CUSTOMER)
    assert failed.failures[0].error.startswith("No such customer: 'cus_123ABC'")
    assert log.lines() == [("DELETE", "/v1/customers/cus_123ABC")]


def test_delete_an_invoice_with_a_subscription_id_fails_before_sending(rt, log):
    with pytest.raises(LanguageError) as info:
        rt.run(DELETE_INVOICE, source_name="manual.kog")
    assert str(info.value).splitlines()[:3] == [
        "manual.kog:2:11: sub_123456789 is a subscription id, not an invoice id "
        "(invoice ids start with in_)",
        '    the id is "sub_123456789"',
        "              ^^^^^^^^^^^^^^^",
    ]
    assert log.entries() == []


def test_the_whole_manual_is_checked_at_once(rt, log):
    manual = "\n".join([GET_CUSTOMER, GET_INVOICE, CREATE_CUSTOMER, CREATE_PRICE, ADD_ITEM,
                        SEND, DELETE_CUSTOMER, DELETE_INVOICE])
    with pytest.raises(LanguageError) as info:
        rt.run(manual)
    # the only problem knowable up front is the subscription id; nothing was sent
    assert [e.line for e in info.value.errors] == [18]
    assert log.entries() == []
    fixed = manual.replace("sub_123456789", "in_123456789")
    result = rt.run(fixed)
    assert result.failures[0].line == 1  # no such customer yet: a clear one-line reason
    assert [s.state for s in result.steps][1:] == ["skipped"] * 7
