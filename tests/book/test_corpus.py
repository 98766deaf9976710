"""A table of English commands, valid and invalid, each with the book call it maps to or
the error it gets (with its place). Checking sends nothing, so no server is needed."""

from __future__ import annotations

import json

import pytest

from kognitos_books import And, Condition, Or, Runtime
from kognitos_books.language import LanguageError

#: context that earlier steps would have produced
GIVEN = ("customer", "invoice", "product", "price", "invoice item", "customers")


def show_filter(where) -> str:
    if where is None:
        return ""
    if isinstance(where, Condition):
        return f"{'.'.join(where.field)} {where.op} {where.value!r}"
    joiner = " and " if isinstance(where, And) else " or "
    assert isinstance(where, (And, Or))
    return "(" + joiner.join(show_filter(i) for i in where.items) + ")"


def show(call) -> str:
    parts = [call.verb, call.noun.replace(" ", "_")]
    if call.many:
        parts.append("many")
    if call.id is not None:
        parts.append(f"id={call.id}")
    if call.target_id is not None:
        parts.append(f"to={call.target_id}")
    if call.where is not None:
        parts.append(f"where {show_filter(call.where)}")
    if call.fields:
        parts.append(json.dumps(call.fields, sort_keys=True))
    return " ".join(parts)


VALID = [
    # the manual
    ('get a customer from stripe whose email is "a@b.co"', "get customer where email is 'a@b.co'"),
    ('get an invoice from stripe whose status is "open"', "get invoice where status is 'open'"),
    ('create a customer in stripe with\n  the email is "a@b.co"\n  the name is "John Doe"',
     'create customer {"email": "a@b.co", "name": "John Doe"}'),
    ('create a price in stripe with\n  the unit_amount is 1000\n  the currency is "usd"\n'
     '  the product is "12232232"',
     'create price {"currency": "usd", "product": "12232232", "unit_amount": 1000}'),
    ('add a item to the invoice with\n  the customer is "cus_123ABC"\n  the amount is 1500\n'
     '  the currency is "usd"',
     'add invoice_item to=<the invoice> {"amount": 1500, "currency": "usd", '
     '"customer": "cus_123ABC"}'),
    ("send the invoice", "send invoice id=<the invoice>"),
    ('delete a customer in stripe with\n  the id is "cus_123ABC"', "delete customer id=cus_123ABC"),
    # determiners, plurals, case
    ("get all customers from stripe", "get customer many"),
    ("get every invoice from stripe", "get invoice many"),
    ("get the customers from stripe", "get customer many"),
    ("get some prices from stripe", "get price many"),
    ('GET A CUSTOMER FROM STRIPE WHOSE EMAIL IS "x@y.co"', "get customer where email is 'x@y.co'"),
    ('Get the invoices from Stripe whose status is "paid"',
     "get invoice many where status is 'paid'"),
    # ids
    ('get a customer from stripe whose id is "cus_1"', "get customer id=cus_1"),
    ('get an invoice from stripe with\n  the id is "in_1"', "get invoice id=in_1"),
    ('delete a product in stripe with\n  the id is "prod_1"', "delete product id=prod_1"),
    ('delete an invoice item in stripe with\n  the id is "ii_1"', "delete invoice_item id=ii_1"),
    ('delete an invoice in stripe with\n  the id is "in_1"', "delete invoice id=in_1"),
    ("delete the customer", "delete customer id=<the customer>"),
    # comparisons
    ('get all customers from stripe whose name contains "Doe"',
     "get customer many where name contains 'Doe'"),
    ('get all customers from stripe whose email starts with "jo"',
     "get customer many where email starts with 'jo'"),
    ('get all customers from stripe whose email is not "a@b.co"',
     "get customer many where email is not 'a@b.co'"),
    ("get all invoices from stripe whose total is greater than 1000",
     "get invoice many where total > 1000"),
    ("get all invoices from stripe whose total is more than $10.00",
     "get invoice many where total > 1000"),
    ("get all invoices from stripe whose total is less than 50",
     "get invoice many where total < 50"),
    ("get all invoices from stripe whose total is at least 50", "get invoice many where total >= 50"),
    ("get all invoices from stripe whose total is at most 50", "get invoice many where total <= 50"),
    # a date is its whole day (UTC): after it is from the next midnight on
    ("get all customers from stripe whose created is after 2025-01-31",
     "get customer many where created >= 1738368000"),
    ("get all customers from stripe whose created is 2025-01-31",
     "get customer many where (created >= 1738281600 and created < 1738368000)"),
    ("get all customers from stripe whose created is not 2025-01-31",
     "get customer many where (created < 1738281600 or created >= 1738368000)"),
    ("get all customers from stripe whose created is at most 2025-01-31",
     "get customer many where created < 1738368000"),
    ("get all customers from stripe whose created is before 2025-01-31",
     "get customer many where created < 1738281600"),
    ("get all customers from stripe whose created is before 2025-01-31 14:00",
     "get customer many where created < 1738332000"),
    ('get all invoices from stripe whose status is one of "open", "paid" and "void"',
     "get invoice many where status one of ['open', 'paid', 'void']"),
    ('get all customers from stripe whose email is "a@b.co" and name is "A"',
     "get customer many where (email is 'a@b.co' and name is 'A')"),
    ('get all customers from stripe whose email is "a@b.co" or whose name is "A"',
     "get customer many where (email is 'a@b.co' or name is 'A')"),
    ("get all prices from stripe whose active is true", "get price many where active is True"),
    ('get all customers from stripe whose metadata\'s plan is "gold"',
     "get customer many where metadata.plan is 'gold'"),
    ("get all invoice items from stripe whose pending is true",
     "get invoice_item many where pending is True"),
    # values and fields
    ('create a customer in stripe with\n  the metadata\'s plan is "gold"',
     'create customer {"metadata": {"plan": "gold"}}'),
    ('create a customer in stripe with\n  the address\'s city is "Paris"',
     'create customer {"address": {"city": "Paris"}}'),
    ('create a price in stripe with\n  the unit amount is 1000\n  the currency is "usd"\n'
     '  the product is "prod_1"',
     'create price {"currency": "usd", "product": "prod_1", "unit_amount": 1000}'),
    ('create a price in stripe with\n  the Unit_Amount is $15.00\n  the currency is "usd"\n'
     '  the product is "prod_1"',
     'create price {"currency": "usd", "product": "prod_1", "unit_amount": 1500}'),
    ('create a price in stripe with\n  the unit_amount is ¥1500\n  the currency is "jpy"\n'
     '  the product is "prod_1"',
     'create price {"currency": "jpy", "product": "prod_1", "unit_amount": 1500}'),
    ('create a price in stripe with\n  the unit_amount is 15.000 kwd\n  the product is "prod_1"',
     'create price {"currency": "kwd", "product": "prod_1", "unit_amount": 15000}'),
    ('create a price in stripe with\n  the unit_amount is €12.50\n  the product is "prod_1"',
     'create price {"currency": "eur", "product": "prod_1", "unit_amount": 1250}'),
    ('create a product in stripe with\n  the name is "Gold"\n  the shippable is false',
     'create product {"name": "Gold", "shippable": false}'),
    ("create an invoice in stripe with\n  the customer is the customer's id",
     'create invoice {"customer": "<the customer\'s id>"}'),
    ("create an invoice in stripe with\n  the customer is the customer",
     'create invoice {"customer": "<the customer>"}'),
    ("create an invoice in stripe with\n  the customer is the customer's id\n"
     "  the due_date is 2030-01-31",
     'create invoice {"customer": "<the customer\'s id>", "due_date": 1896048000}'),
    # an item added to an invoice takes its customer and currency from the invoice
    ("add an item to the invoice with\n  the amount is 499",
     'add invoice_item to=<the invoice> {"amount": 499}'),
    ("create an invoice item in stripe with\n  the invoice is the invoice's id\n"
     "  the amount is 499",
     'create invoice_item {"amount": 499, "invoice": "<the invoice\'s id>"}'),
    # other words for get
    ('list all customers from stripe whose email is "a@b.co"',
     "get customer many where email is 'a@b.co'"),
    ('find a customer in stripe whose email is "a@b.co"', "get customer where email is 'a@b.co'"),
    ("fetch the invoices from stripe", "get invoice many"),
    ('retrieve an invoice from stripe whose id is "in_1"', "get invoice id=in_1"),
    # references into what a record has
    ("create an invoice in stripe with\n  the customer is the invoice's customer",
     'create invoice {"customer": "<the invoice\'s customer>"}'),
    ("create a customer in stripe with\n  the description is the invoice's total",
     'create customer {"description": "<the invoice\'s total>"}'),
    ('create a customer in stripe with\n  the name is the customer\'s metadata\'s nickname',
     'create customer {"name": "<the customer\'s metadata\'s nickname>"}'),
    ("add an item to the invoice with\n  the amount is $4.99",
     'add invoice_item to=<the invoice> {"amount": 499, "currency": "usd"}'),
    ('add an invoice item to the invoice with\n  the amount is 500\n  the currency is "eur"\n'
     '  the description is "Setup"',
     'add invoice_item to=<the invoice> {"amount": 500, "currency": "eur", '
     '"description": "Setup"}'),
    ('update the customer in stripe with\n  the name is "New"',
     'update customer id=<the customer> {"name": "New"}'),
    ('update a customer in stripe with\n  the id is "cus_9"\n  the name is "New"',
     'update customer id=cus_9 {"name": "New"}'),
    ("update the price with\n  the active is false",
     'update price id=<the price> {"active": false}'),
    # invoice actions
    ("finalize the invoice", "finalize invoice id=<the invoice>"),
    ("pay the invoice", "pay invoice id=<the invoice>"),
    ("void the invoice", "void invoice id=<the invoice>"),
    ("mark the invoice as uncollectible", "mark_uncollectible invoice id=<the invoice>"),
    ('send an invoice in stripe with\n  the id is "in_42"', "send invoice id=in_42"),
    ('pay an invoice in stripe with\n  the id is "in_42"\n  the paid_out_of_band is true',
     'pay invoice id=in_42 {"paid_out_of_band": true}'),
    # comments, blank lines, tabs, quotes with search operators inside
    ('# a comment\n\nget a customer from stripe whose name is "O\'Brien AND x:y"',
     "get customer where name is \"O'Brien AND x:y\""),
    ("create a customer in stripe with\n\tthe name is 'Tab Indented'",
     'create customer {"name": "Tab Indented"}'),
]

INVALID = [
    # references to fields a record does not have
    ("create an invoice in stripe with\n  the customer is the customer's idd", "2:19",
     'the customer has no field "idd"; did you mean "id"?'),
    ("create a customer in stripe with\n  the email is the invoice's customer's email", "2:16",
     "the invoice's customer is text (an id), with no fields of its own"),
    ("create a customer in stripe with\n  the email is the customers's email", "2:16",
     "the customers are a list"),
    ("create a price in stripe with\n  the unit amount is the customer's email\n"
     '  the currency is "usd"', "2:22",
     "\"unit_amount\" takes a whole number, but the customer's email is text"),
    ("create a product in stripe with\n  the name is \"A\"\n  the shippable is the price's unit "
     "amount", "3:20", '"shippable" takes true or false, but the price\'s unit amount is a whole'),
    # inputs Stripe needs although its types call them optional
    ('create an invoice in stripe with\n  the description is "x"', "1:1",
     'missing required input "customer": Stripe needs it to create an invoice'),
    ("create an invoice item in stripe with\n  the amount is 500", "1:1",
     'missing required input "customer"'),
    ('create an invoice item in stripe with\n  the customer is "cus_1"\n  the amount is 500',
     "1:1", 'missing required input "currency" when the amount is given'),
    # errors that point the right way
    ("create a customer in stripe with\n  the metadata's vip is true", "2:25",
     '"vip" takes text, not true'),
    ('get a customer from stripe whose email address is "a@b.co"', "1:34",
     'unknown field "email address" for a customer; did you mean "email"?'),
    ("refund the invoice", "1:1", "Stripe Pay cannot refund an invoice"),
    ("explode the invoice", "1:1", 'unknown verb "explode"'),
    ("mark the invoice as sent", "1:1", 'unknown verb "mark ... as sent"; did you mean "send"?'),
    ("creat a customer in stripe", "1:1", 'unknown verb "creat"; did you mean "create"?'),
    ("get a custmer from stripe", "1:7", 'unknown noun "custmer" in stripe; did you mean "customer"?'),
    ("get a customer from strip", "1:21", 'no installed book answers to "strip"; did you mean "stripe"?'),
    ('create a customer in stripe with\n  the emial is "x"', "2:7",
     'unknown field "emial" for a customer; did you mean "email"?'),
    ('delete an invoice in stripe with\n  the id is "sub_123456789"', "2:13",
     "sub_123456789 is a subscription id, not an invoice id"),
    ('delete a customer in stripe with\n  the id is "in_1"', "2:13",
     "in_1 is an invoice id, not a customer id"),
    ('delete a price in stripe with\n  the id is "price_1"', "1:1", "cannot be deleted"),
    ("delete some customers in stripe", "1:13", '"delete" acts on one customer at a time'),
    ('create a price in stripe with\n  the unit_amount is "ten"\n  the currency is "usd"', "2:22",
     '"unit_amount" takes a whole number, not text'),
    ('create a price in stripe with\n  the unit_amount is 10.5\n  the currency is "usd"', "2:22",
     '"unit_amount" takes a whole number, not 10.5'),
    ('create a price in stripe with\n  the unit_amount is $15.00\n  the currency is "jpy"', "2:22",
     '$15.00 is in USD but the currency is "jpy"'),
    ('create a price in stripe with\n  the unit_amount is 15.00 xyz', "2:28", 'unexpected "xyz"'),
    ('create a price in stripe with\n  the unit_amount is 5\n  the currency is "usdd"', "3:19",
     'unknown currency "usdd"; did you mean "usd"?'),
    ('create a price in stripe with\n  the unit_amount is ¥15.50\n  the currency is "jpy"', "2:22",
     "more decimals than jpy allows"),
    ('create a price in stripe with\n  the unit_amount is -5\n  the currency is "usd"', "2:22",
     "cannot be negative"),
    ('create a price in stripe with\n  the unit_amount is 99999999999999999999\n'
     '  the currency is "usd"', "2:22", "too large"),
    ('create a product in stripe with\n  the name is 42', "2:15", '"name" takes text, not a number'),
    ('create a customer in stripe with\n  the tax_exempt is "sometimes"', "2:21",
     '"sometimes" is not a valid tax_exempt'),
    ("create a customer in stripe with\n  the email is the subscription's customer", "2:16",
     "refers to nothing"),
    ("pay the transfer", "1:9", 'unknown noun "transfer"'),
    ("pay the subscription", "1:1", "Stripe Pay cannot pay a subscription"),
    ('create a price in stripe with\n  the product is "prod_1"', "1:1",
     'missing required input "currency"'),
    ('get a customer from stripe whose emial is "x"', "1:34", 'unknown field "emial"'),
    ('get all invoices from stripe whose status is "opne"', "1:46", 'did you mean "open"'),
    ('get all customers from stripe whose email is greater than "x"', "1:43", "compares numbers"),
    ("get all invoices from stripe whose total contains 5", "1:42", "works on text"),
    ('update a customer in stripe whose email is "x"', "1:35", '"whose" only selects records'),
    ("pay some invoices in stripe", "1:10", '"pay" acts on one invoice at a time'),
    ("pay the invoices", "1:9", '"the invoices" refers to nothing'),
    ("send a customer in stripe", "1:1", "Stripe Pay cannot send a customer"),
    ('create a customer in stripe with\n  the address\'s citty is "Paris"', "2:7",
     '"address" has no field "citty"; did you mean "city"?'),
    ('create a customer in stripe with\n  the email is "a" and "b"', "2:16", "takes one value"),
    ('create a customer in stripe with\n  the email is "a"\n  the email is "b"', "3:", "twice"),
    ("create a customer in stripe with", "1:", ""),
    ('get a customer from stripe whose email is "unterminated', "1:", "unterminated"),
]


@pytest.fixture(scope="module")
def rt(tmp_path_factory) -> Runtime:
    return Runtime(home=tmp_path_factory.mktemp("corpus"))


def calls(rt: Runtime, text: str, given: tuple[str, ...] = GIVEN) -> list[str]:
    steps = rt.check(text, given=given)
    return [show(s.call(lambda v: f"<{v.raw}>" if hasattr(v, "raw") else v, None))
            for s in steps]


def test_the_corpus_is_big_enough():
    assert len(VALID) + len(INVALID) >= 60


@pytest.mark.parametrize("text,expected", VALID, ids=[t.splitlines()[0][:50] for t, _ in VALID])
def test_valid(rt, text, expected):
    assert calls(rt, text) == [expected]


def test_refund_suggests_no_unrelated_verb(rt):
    with pytest.raises(LanguageError) as info:
        rt.check("explode the invoice", given=GIVEN)
    assert "did you mean" not in info.value.message


def test_metadata_values_are_text_and_the_hint_says_so(rt):
    with pytest.raises(LanguageError) as info:
        rt.check("create a customer in stripe with\n  the metadata's vip is true", given=GIVEN)
    assert info.value.hint == 'metadata values are text: write "true"'


@pytest.mark.parametrize("text,where,message", INVALID,
                         ids=[t.splitlines()[0][:50] for t, _, _ in INVALID])
def test_invalid(rt, text, where, message):
    with pytest.raises(LanguageError) as info:
        rt.check(text, source_name="c.kog", given=GIVEN)
    first = info.value.errors[0]
    assert f"{first.line}:{first.column}".startswith(where), str(info.value)
    assert message in first.message, str(info.value)
