"""No part of a command is dropped without a word: every part the parser accepts either
changes the call it makes or is refused before anything runs.

Each row adds one part to a command that checks: the call must differ from the command's
without it, or the check must refuse it (with its place and reason). Articles (``a``, ``an``,
``the`` before a singular noun) carry no meaning here and are the one exception; a book's
word (``in stripe``) says which book is meant, and naming one that cannot do it is refused.
"""

from __future__ import annotations

import pytest
from test_corpus import GIVEN, calls

from kognitos_books import Runtime
from kognitos_books.language import LanguageError

CHANGES = "changes"

PARTS = [
    # a target naming a remembered record: the records related to it, by a list filter
    ("get all invoices from stripe", "get all invoices for the customer",
     "get invoice many where customer is \'<the customer>'"),
    ("get all invoices from stripe", "get all invoices of the customer",
     "get invoice many where customer is \'<the customer>'"),
    ("get all invoices from stripe", "get all invoices from the customer",
     "get invoice many where customer is \'<the customer>'"),
    ("get an invoice from stripe", "get an invoice for the customer",
     "get invoice where customer is \'<the customer>'"),
    ("get all invoice items from stripe", "get all invoice items on the invoice",
     "get invoice_item many where invoice is \'<the invoice>'"),
    ("get all invoice items from stripe", "get all items for the customer",
     "get invoice_item many where customer is \'<the customer>'"),
    ("get all prices from stripe", "get all prices of the product",
     "get price many where product is \'<the product>'"),
    ('get all invoices from stripe whose status is "open"',
     'get all invoices for the customer whose status is "open"',
     "get invoice many where (status is 'open' and customer is '<the customer>')"),
    # a record's own field naming another record: that record, by its id ...
    ("get a customer from stripe", "get the invoice's customer",
     "get customer id=<the invoice's customer>"),
    ("get a product from stripe", "get the price's product",
     "get product id=<the price's product>"),
    # ... and the records of another noun that name it: their list filter
    ("get all invoices from stripe", "get the customer's invoices",
     "get invoice many where customer is '<the customer>'"),
    ("get all invoice items from stripe", "get the invoice's items",
     "get invoice_item many where invoice is '<the invoice>'"),
    # ... refused where it names no related record, or for a verb other than get
    ("get a customer from stripe", "get the customer's email",
     "@the customer's email| is not a record stripe_pay relates to a customer"),
    ("send the invoice", "send the invoice's customer",
     "@the invoice's customer| a command names what it acts on, not a field of it"),
    ("get a customer from stripe", "get the invoice's customer's email",
     "@the invoice's customer's email| only a field of the record itself can be got"),
    # ... or, to create, the related field set
    ('create an invoice in stripe with the customer is "cus_1"',
     "create an invoice for the customer", 'create invoice {"customer": "<the customer>"}'),
    # ... and refused where the book declares no such relation
    ("get all invoices from stripe", "get all invoices for the product",
     "@the product| an invoice is not related to the product"),
    ("get all customers from stripe", "get all customers for the invoice",
     "@the invoice| a customer is not related to the invoice"),
    ("get all invoices from stripe", "get all invoices for the customers",
     "@the customers| an invoice is not related to the customers"),
    ("get all invoices from stripe", "get all invoices for the customer's email",
     "@the customer's email| an invoice is not related to the customer's email"),
    ("create a customer in stripe", "create a customer for the invoice",
     "@the invoice| a customer is not related to the invoice"),
    ('create an invoice in stripe with the customer is "cus_1"',
     'create an invoice for the customer with the customer is "cus_1"',
     "@the customer| the customer is given twice"),
    # a target where the verb acts on one record alone
    ("send the invoice", "send the invoice to the customer",
     '@the customer| "to the customer" means nothing to "send"'),
    ("void the invoice", "void the invoice for the customer",
     '@the customer| "for the customer" means nothing to "void"'),
    ("delete the customer", "delete the customer from the invoice",
     '@the invoice| "from the invoice" means nothing to "delete"'),
    ('update the customer with the name is "A"',
     'update the customer for the invoice with the name is "A"',
     '@the invoice| "for the invoice" means nothing to "update"'),
    # the parent an item is added to
    ("add an item to the invoice with the amount is $5.00",
     "add an item to the customer with the amount is $5.00",
     "@the customer| an invoice item is added to an invoice, not to the customer"),
    # "as": only "mark ... as ..." takes one
    ("get a customer from stripe", "get a customer from stripe as buyer",
     '@buyer| "as buyer" means nothing to "get"'),
    ("create a customer in stripe", "create a customer in stripe as buyer",
     '@buyer| "as buyer" means nothing to "create"'),
    ("send the invoice", "send the invoice as draft", '@draft| "as draft" means nothing'),
    ("mark the invoice as uncollectible", "mark the invoice as paid",
     '@mark| unknown verb "mark ... as paid"; did you mean "pay"?'),
    # the book's word
    ("get a customer from stripe", "get a customer from paypal",
     '@paypal| no installed book answers to "paypal"'),
    # plurals and determiners that ask for every record
    ("get a customer from stripe", "get all customers from stripe", "get customer many"),
    ("get a customer from stripe", "get every customer from stripe", "get customer many"),
    ("get a customer from stripe", "get some customers from stripe", "get customer many"),
    # ... said of a verb that acts on one record: every record the get finds, one by one
    ("delete the customer", "delete all customers",
     ("get customer many", "delete customer id=<the customer>")),
    ("void the invoice", 'void every invoice from stripe whose status is "open"',
     ("get invoice many where status is 'open'", "void invoice id=<the invoice>")),
    ("delete the customer", "delete the customers",
     ("delete customer id=<the customer>",)),
    ("delete the customer", "delete some customers", '@customers| "delete" acts on one customer'),
    # conditions and inputs
    ("get a customer from stripe", 'get a customer from stripe whose email is "a@b.co"',
     "get customer where email is 'a@b.co'"),
    ("get a customer from stripe", 'get a customer from stripe with the email is "a@b.co"',
     "get customer where email is 'a@b.co'"),
    ("send the invoice", 'send the invoice whose status is "open"',
     '@status| "whose" only selects records to get'),
    ("create a customer in stripe", 'create a customer in stripe with the name is "A"',
     'create customer {"name": "A"}'),
    ("create a customer in stripe", 'create a customer in stripe with the id is "cus_9"',
     '@id| Stripe Pay chooses the id of a new customer'),
    ("delete the customer", 'delete a customer in stripe with the id is "cus_9"',
     "delete customer id=cus_9"),
    ("delete the customer", 'delete the customer with the name is "A"',
     '@name| unknown field "name" for a customer'),
]


@pytest.fixture(scope="module")
def rt(tmp_path_factory) -> Runtime:
    return Runtime(home=tmp_path_factory.mktemp("parts"))


@pytest.mark.parametrize("base,with_part,expected", PARTS,
                         ids=[p[1][:60] for p in PARTS])
def test_every_part_changes_the_call_or_is_refused(rt, base, with_part, expected):
    before = calls(rt, base)
    # refused: "@words pointed at| message"
    if isinstance(expected, str) and expected.startswith("@"):
        marker, _, message = expected[1:].partition("| ")
        with pytest.raises(LanguageError) as info:
            rt.check(with_part, source_name="parts.kog", given=GIVEN)
        first = info.value.errors[0]
        assert (first.line, first.column) == (1, with_part.index(marker) + 1), str(info.value)
        assert message in first.message, str(info.value)
        return
    after = calls(rt, with_part)
    assert after != before or with_part != base and isinstance(expected, tuple)
    assert after == (list(expected) if isinstance(expected, tuple) else [expected])


def test_get_for_a_customer_narrows_the_list_to_it(connected, log):
    """The manual's complaint: every invoice in the account, for a customer who has none."""
    rt = connected
    other = rt.call("create a customer in stripe", email="other@example.com")
    rt.call("create an invoice in stripe", customer=other.id)
    rt.call("create a customer in stripe", email="none@example.com")
    log.clear()
    found = rt.run("get all invoices for the customer\n").results()[0]
    assert list(found) == []
    entries = log.entries()
    assert [(e["method"], e["path"]) for e in entries] == [("GET", "/v1/invoices")]
    assert entries[0]["params"]["customer"] == rt.context["customer"].id


def test_invoice_items_on_the_invoice_are_its_own(connected, log):
    rt = connected
    customer = rt.call("create a customer in stripe", email="items@example.com")
    first = rt.call("create an invoice in stripe", customer=customer.id)
    rt.call("add an item to the invoice", amount=500, currency="usd")
    rt.call("create an invoice in stripe", customer=customer.id)
    rt.call("add an item to the invoice", amount=700, currency="usd")
    log.clear()
    rt.context["invoice"] = first
    items = list(rt.run("get all invoice items on the invoice\n").results()[0])
    assert [i["amount"] for i in items] == [500]
    assert len(log.entries()) == 1
