"""Credit notes, customer balance transactions and quotes in English: each command checked
before anything runs and the request it plans (from the declarations alone), then run
against the in-process sandbox over real HTTP."""

from __future__ import annotations

import pytest
from english_support import plan, run
from test_corpus import calls as corpus_calls

from kognitos_books import Runtime
from kognitos_books.language import LanguageError

GIVEN = ("customer", "invoice", "credit note", "quote", "customer balance transaction")


@pytest.fixture(scope="module")
def checker(tmp_path_factory) -> Runtime:
    return Runtime(home=tmp_path_factory.mktemp("credits"))


VALID = [
    ("credit $5.00 of the invoice", 'credit invoice id=<the invoice> {"amount": 500}'),
    ("credit 250 of the invoice with the credit amount is 250",
     'credit invoice id=<the invoice> {"amount": 250, "credit_amount": 250}'),
    ('credit the invoice with the amount is 300 and the reason is "order_change"',
     'credit invoice id=<the invoice> {"amount": 300, "reason": "order_change"}'),
    ("preview $5.00 of the invoice as credited",
     'preview_credit invoice id=<the invoice> {"amount": 500}'),
    ("void the credit note", "void credit_note id=<the credit note>"),
    ("get all credit notes for the invoice", "get credit_note many where invoice is "
                                             "'<the invoice>'"),
    ("add a customer balance transaction to the customer with the amount is -500 and the "
     'currency is "usd"',
     'add customer_balance_transaction to=<the customer> {"amount": -500, '
     '"currency": "usd"}'),
    ("get all customer balance transactions for the customer",
     "get customer_balance_transaction many where customer is '<the customer>'"),
    ("finalize the quote", "finalize quote id=<the quote>"),
    ("accept the quote", "accept quote id=<the quote>"),
    ("cancel the quote", "cancel quote id=<the quote>"),
]


@pytest.mark.parametrize("text,expected", VALID, ids=[t[:50] for t, _ in VALID])
def test_credits_in_english(checker, text, expected):
    assert corpus_calls(checker, text, GIVEN) == [expected]


INVALID = [
    ("credit the invoice", 'missing required input "amount"'),
    ("credit $5.00 of the customer", "Stripe Pay cannot credit a customer"),
    ('void the credit note with the id is "in_1"', "in_1 is an invoice id, not a credit note"),
    ("get all customer balance transactions from stripe",
     "only through their customer"),
    ('get a customer balance transaction from stripe whose id is "cbtxn_1"',
     "only through their customer"),
    ('update a customer balance transaction in stripe with the id is "cbtxn_1" and the '
     'description is "x"', 'missing required input "customer"'),
    ("delete the credit note", "void the credit note"),
    ("credit -$5.00 of the invoice", "amounts cannot be negative"),
]


@pytest.mark.parametrize("text,message", INVALID, ids=[t[:50] for t, _ in INVALID])
def test_mistakes_are_refused_before_anything_runs(checker, text, message):
    with pytest.raises(LanguageError) as info:
        checker.check(text, given=GIVEN)
    assert message in str(info.value)



def test_plans_put_a_parent_in_the_path():
    assert plan("credit", "invoice", id="in_1", fields={"amount": 500}) == [
        ("POST", "/v1/credit_notes", {"invoice": "in_1", "amount": 500})]
    assert plan("void", "credit note", id="cn_1") == [
        ("POST", "/v1/credit_notes/cn_1/void", {})]
    assert plan("add", "customer balance transaction", target_id="cus_1",
                fields={"amount": -500, "currency": "usd"}) == [
        ("POST", "/v1/customers/cus_1/balance_transactions",
         {"amount": -500, "currency": "usd"})]
    assert plan("update", "customer balance transaction", id="cbtxn_1",
                fields={"customer": "cus_1", "description": "x"}) == [
        ("POST", "/v1/customers/cus_1/balance_transactions/cbtxn_1", {"description": "x"})]
    assert plan("accept", "quote", id="qt_1") == [("POST", "/v1/quotes/qt_1/accept", {})]



INVOICE = '''\
create a customer in stripe with
  the email is "cn@example.com"
create an invoice in stripe with
  the customer is the customer's id
add a item to the invoice with
  the amount is $20.00
  the currency is "usd"
finalize the invoice
'''


def test_crediting_an_open_invoice_lowers_its_amount_due(rt, log):
    *_, note, invoice, notes = run(rt, INVOICE + '''\
credit $5.00 of the invoice with the reason is "order_change"
get an invoice from stripe whose id is the invoice's id
get all credit notes for the invoice
''')
    assert (note["amount"], note["type"], note["reason"]) == (500, "pre_payment",
                                                              "order_change")
    assert (invoice["amount_due"], invoice["pre_payment_credit_notes_amount"]) == (1500, 500)
    assert [found.id for found in notes] == [note.id]
    assert ("POST", "/v1/credit_notes") in log.lines()


def test_crediting_a_paid_invoice_credits_the_customer_balance_and_void_undoes_it(rt, log):
    *_, note, customer, voided, after = run(rt, INVOICE + '''\
pay the invoice
credit $5.00 of the invoice with the credit amount is $5.00
get a customer from stripe whose id is the invoice's customer
void the credit note
get a customer from stripe whose id is the invoice's customer
''')
    assert (note["type"], note["post_payment_amount"]) == ("post_payment", 500)
    assert customer["balance"] == -500
    assert voided["status"] == "void"
    assert after["balance"] == 0
    assert ("POST", f"/v1/credit_notes/{note.id}/void") in log.lines()


def test_balance_transactions_through_their_customer(rt, log):
    customer, added, listed, updated = run(rt, '''\
create a customer in stripe with
  the email is "bal@example.com"
add a customer balance transaction to the customer with
  the amount is -$10.00
  the currency is "usd"
  the description is "Welcome credit"
get all customer balance transactions for the customer
update the customer balance transaction with
  the customer is the customer's id
  the metadata's why is "promo"
''')
    assert (added["amount"], added["ending_balance"], added["customer"]) == (
        -1000, -1000, customer.id)
    assert [found.id for found in listed] == [added.id]
    assert updated["metadata"] == {"why": "promo"}
    sent = log.lines()
    assert ("POST", f"/v1/customers/{customer.id}/balance_transactions") in sent
    assert ("GET", f"/v1/customers/{customer.id}/balance_transactions") in sent
    assert ("POST", f"/v1/customers/{customer.id}/balance_transactions/{added.id}") in sent


def test_the_preview_issues_nothing(rt):
    *_, preview, notes = run(rt, INVOICE + '''\
preview $3.00 of the invoice as credited
get all credit notes for the invoice
''')
    assert (preview["amount"], preview["pre_payment_amount"]) == (300, 300)
    assert notes == []


def test_a_quote_accepted_in_english_makes_its_invoice(rt, log):
    customer = rt.call("create a customer in stripe", email="offer@example.com")
    product = rt.call("create a product in stripe", name="Audit")
    price = rt.call("create a price in stripe", product=product.id, unit_amount=15000,
                    currency="usd")
    # (a list of objects has no English form: the quote's line items come from Python,
    # through the same checks)
    quote = rt.call("create a quote in stripe", customer=customer.id,
                    line_items=[{"price": price.id, "quantity": 2}])
    assert (quote["status"], quote["amount_total"]) == ("draft", 30000)
    found, opened, accepted, invoice = run(rt, f'''\
get a quote from stripe whose id is "{quote.id}"
finalize the quote
accept the quote
get an invoice from stripe whose id is the quote's invoice
''')
    assert found.id == quote.id
    assert (opened["status"], accepted["status"]) == ("open", "accepted")
    assert (invoice["customer"], invoice["total"], invoice["status"]) == (customer.id, 30000,
                                                                         "draft")
    assert ("POST", f"/v1/quotes/{quote.id}/accept") in log.lines()


def test_a_portal_session_in_english(rt):
    customer, configuration, session = run(rt, '''\
create a customer in stripe with
  the email is "self@example.com"
create a billing portal configuration in stripe with
  the features's invoice history's enabled is true
create a billing portal session in stripe with
  the customer is the customer's id
  the return url is "https://example.com/account"
''')
    assert configuration["features"]["invoice_history"]["enabled"] is True
    assert (session["customer"], session["configuration"]) == (customer.id, configuration.id)
    assert session["url"].endswith(f"/_sandbox/portal/{session.id}")
