"""Payments in English: each command checked before anything runs, and the request it
plans, from the declarations alone (no request is sent here)."""

from __future__ import annotations

import pytest
from english_support import plan
from stripe_pay.book import describe_book
from test_corpus import calls as corpus_calls
from test_corpus import show

from kognitos_books import Runtime
from kognitos_books.language import LanguageError

GIVEN = ("customer", "invoice", "charge", "payment intent", "payment method", "refund",
         "checkout session", "setup intent", "dispute", "payout", "payment link")


@pytest.fixture(scope="module")
def rt(tmp_path_factory) -> Runtime:
    return Runtime(home=tmp_path_factory.mktemp("payments"))


def calls(rt: Runtime, text: str) -> list[str]:
    return corpus_calls(rt, text, GIVEN)


VALID = [
    ("refund the charge", "refund charge id=<the charge>"),
    ("refund the payment intent", "refund payment_intent id=<the payment intent>"),
    ("refund the charge with the amount is 500", 'refund charge id=<the charge> {"amount": 500}'),
    ("capture the payment intent", "capture payment_intent id=<the payment intent>"),
    ('confirm the payment intent with the payment method is "pm_card_visa"',
     'confirm payment_intent id=<the payment intent> {"payment_method": "pm_card_visa"}'),
    ("cancel the payment intent", "cancel payment_intent id=<the payment intent>"),
    ("capture the charge", "capture charge id=<the charge>"),
    ("refund $5.00 of the charge", 'refund charge id=<the charge> {"amount": 500}'),
    ("refund 250 of the payment intent",
     'refund payment_intent id=<the payment intent> {"amount": 250}'),
    ("capture $3.00 of the payment intent",
     'capture payment_intent id=<the payment intent> {"amount_to_capture": 300}'),
    ("attach the payment method to the customer",
     'attach payment_method id=<the payment method> {"customer": "<the customer>"}'),
    ("detach the payment method", "detach payment_method id=<the payment method>"),
    ('get all charges for the customer whose status is "failed"',
     "get charge many where (status is 'failed' and customer is '<the customer>')"),
    ("get all refunds of the charge", "get refund many where charge is '<the charge>'"),
    ("expire the checkout session", "expire checkout_session id=<the checkout session>"),
    ("confirm the setup intent", "confirm setup_intent id=<the setup intent>"),
    ("close the dispute", "close dispute id=<the dispute>"),
    ("cancel the payout", "cancel payout id=<the payout>"),
    ("deactivate the payment link", "deactivate payment_link id=<the payment link>"),
    ('create a payment intent in stripe with the amount is 2000 and the currency is "usd"',
     'create payment_intent {"amount": 2000, "currency": "usd"}'),
]


@pytest.mark.parametrize("text,expected", VALID, ids=[t[:50] for t, _ in VALID])
def test_payments_in_english(rt, text, expected):
    assert calls(rt, text) == [expected]


def test_a_refund_is_remembered_as_the_refund(rt):
    steps = rt.check("refund the charge\nupdate the refund with the metadata's why is \"x\"\n",
                     given=GIVEN)
    assert steps[0].produces == ("refund",)
    assert show(steps[1].call(lambda v: f"<{v.raw}>", None)).startswith(
        "update refund id=<the refund>")


INVALID = [
    ("refund the customer", "Stripe Pay cannot refund a customer"),
    ("attach the payment method to the invoice",
     "a payment method is not related to the invoice"),
    ("capture the charge for the customer", '"for the customer" means nothing to "capture"'),
    ("create a dispute in stripe", "Stripe Pay cannot create a dispute"),
    ("refund the charge with the amount is \"lots\"", "amount"),
    ("expire the checkout session as done", '"as done" means nothing to "expire"'),
    ("send $5.00 of the invoice", '"$5.00 of" means nothing to "send"'),
    ("refund $5.00 of the charge with the amount is 400", '"the amount" is given twice'),
    ("refund 5 eur of the charge with the currency is \"usd\"", "is in EUR but the currency"),
    ('confirm the payment intent with the payment method is "cus_1"',
     "cus_1 is a customer id, not a payment method id"),
]


@pytest.mark.parametrize("text,message", INVALID, ids=[t[:50] for t, _ in INVALID])
def test_mistakes_are_refused_before_anything_runs(rt, text, message):
    with pytest.raises(LanguageError) as info:
        rt.check(text, given=GIVEN)
    assert message in str(info.value)


def test_a_card_id_goes_where_a_payment_method_goes(rt):
    assert calls(rt, 'confirm the payment intent with the payment method is "card_1"') == [
        'confirm payment_intent id=<the payment intent> {"payment_method": "card_1"}']


def test_deleting_what_stripe_never_deletes_says_what_to_do(rt):
    with pytest.raises(LanguageError) as info:
        rt.check("delete the payment intent", given=GIVEN)
    assert "cancel it instead" in str(info.value) and "cancel the payment intent" in str(
        info.value)



def test_plans_follow_the_sdk_routes():
    assert plan("refund", "charge", id="ch_1") == [("POST", "/v1/refunds", {"charge": "ch_1"})]
    assert plan("refund", "payment intent", id="pi_1", fields={"amount": 500}) == [
        ("POST", "/v1/refunds", {"payment_intent": "pi_1", "amount": 500})]
    assert plan("attach", "payment method", id="pm_1", fields={"customer": "cus_1"}) == [
        ("POST", "/v1/payment_methods/pm_1/attach", {"customer": "cus_1"})]
    assert plan("expire", "checkout session", id="cs_test_1") == [
        ("POST", "/v1/checkout/sessions/cs_test_1/expire", {})]
    assert plan("deactivate", "payment link", id="plink_1") == [
        ("POST", "/v1/payment_links/plink_1", {"active": "false"})]
    assert plan("capture", "payment intent", id="pi_1",
                fields={"amount_to_capture": 300}) == [
        ("POST", "/v1/payment_intents/pi_1/capture", {"amount_to_capture": 300})]


def test_what_asks_first_on_a_live_connection_is_declared():
    book = describe_book()
    asks = sorted(f"{verb} {noun.name}" for noun in book.nouns for verb in noun.every_verb
                  if noun.needs_confirmation(verb))
    for expected in ("refund charge", "capture payment intent", "confirm payment intent",
                     "cancel payment intent", "create payout", "create refund",
                     "detach payment method", "expire checkout session", "close dispute",
                     "void invoice", "pay invoice", "delete customer"):
        assert expected in asks
    for calm in ("attach payment method", "confirm setup intent", "create customer",
                 "send invoice", "deactivate payment link", "update charge"):
        assert calm not in asks


def test_procedures_read_as_english(rt):
    english = {p.id: p.english for p in rt.procedures("stripe_pay", with_inputs=False)}
    assert english["stripe_pay.charge.refund"] == "refund the charge"
    assert english["stripe_pay.checkout_session.expire"] == "expire the checkout session"
    assert english["stripe_pay.payment_method.attach"] == "attach the payment method"
    assert "stripe_pay.dispute.create" not in english
