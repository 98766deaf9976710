"""Payments in English, live against the in-process sandbox over real HTTP: automations
pay, capture, refund, answer disputes and pay out; a declined card fails the step that met
it with Stripe's code, and nothing after it runs."""

from __future__ import annotations

from typing import Any

from english_support import run

from kognitos_books import Runtime


def failed(rt: Runtime, text: str) -> tuple[Any, list[Any]]:
    """Run ``text``, in which one step fails: the failure, and what ran before it (nothing
    after it runs)."""
    result = rt.run(text, journal=False)
    (failure,) = result.failures
    assert [step.state for step in result.steps if step.line > failure.line
            and step.state == "succeeded"] == []
    return failure, list(result.results())


def test_pay_and_refund_part(rt, log):
    customer, created, confirmed, refund, refunds, charges = run(rt, '''\
create a customer in stripe with
  the email is "ann@example.com"
create a payment intent in stripe with
  the amount is 2000
  the currency is "usd"
  the customer is the customer's id
confirm the payment intent with the payment method is "pm_card_visa"
refund the payment intent with the amount is 500
get all refunds of the payment intent
get all charges for the customer
''')
    assert created["status"] == "requires_payment_method" and created.id == confirmed.id
    assert (confirmed["status"], confirmed["amount_received"]) == ("succeeded", 2000)
    assert (refund["amount"], refund["status"], refund["payment_intent"]) == (
        500, "succeeded", created.id)
    assert [found.id for found in refunds] == [refund.id]
    (charge,) = charges
    assert (charge.id, charge["customer"]) == (confirmed["latest_charge"], customer.id)
    assert (charge["amount_refunded"], charge["refunded"]) == (500, False)
    sent = [line for line in log.lines() if line[0] == "POST"]
    assert ("POST", "/v1/refunds") in sent
    assert ("POST", f"/v1/payment_intents/{created.id}/confirm") in sent


def test_hold_capture_part_and_refund_the_charge(rt):
    held, captured, charge, refund, again = run(rt, '''\
create a payment intent in stripe with
  the amount is 1000
  the currency is "usd"
  the capture_method is "manual"
  the payment method is "pm_card_visa"
  the confirm is true
capture the payment intent with the amount_to_capture is 600
get a charge from stripe whose payment intent is the payment intent's id
refund the charge
get a charge from stripe whose payment intent is the payment intent's id
''')
    assert (held["status"], held["amount_capturable"]) == ("requires_capture", 1000)
    assert (captured["status"], captured["amount_received"]) == ("succeeded", 600)
    assert (charge["amount_captured"], charge["amount_refunded"]) == (600, 400)
    assert (refund["amount"], refund["charge"]) == (600, charge.id)
    assert (again["amount_refunded"], again["refunded"]) == (1000, True)


def test_a_decline_stops_the_step_and_a_new_card_pays(rt):
    failure, (created,) = failed(rt, '''\
create a payment intent in stripe with
  the amount is 2000
  the currency is "usd"
confirm the payment intent with the payment method is "pm_card_chargeDeclined"
refund the payment intent
''')
    assert failure.error_code == "card_declined"
    assert "Your card was declined." in failure.error
    assert "decline code generic_decline" in failure.error  # (the issuer's reason, shown)
    after = rt.call("get a payment intent from stripe", id=created.id)
    assert after["status"] == "requires_payment_method"
    assert after["last_payment_error"]["decline_code"] == "generic_decline"
    paid = rt.call("confirm the payment intent", id=created.id, payment_method="pm_card_visa")
    assert paid["status"] == "succeeded"
    attempts = rt.call("get all charges from stripe", payment_intent=created.id)
    assert [charge["status"] for charge in attempts] == ["succeeded", "failed"]


def test_cancel_a_payment_intent(rt):
    created, canceled = run(rt, '''\
create a payment intent in stripe with
  the amount is 800
  the currency is "usd"
  the payment method is "pm_card_visa"
cancel the payment intent with the cancellation_reason is "requested_by_customer"
''')
    assert created["status"] == "requires_confirmation"
    assert (canceled["status"], canceled["cancellation_reason"]) == (
        "canceled", "requested_by_customer")


def test_a_dispute_is_answered_with_evidence_or_closed(rt):
    won_payment, dispute, won, lost_payment, other, closed = run(rt, '''\
create a payment intent in stripe with
  the amount is 3000
  the currency is "usd"
  the payment method is "pm_card_createDispute"
  the confirm is true
get a dispute from stripe whose payment intent is the payment intent's id
update the dispute with the evidence's uncategorized_text is "winning_evidence"
create a payment intent in stripe with
  the amount is 1000
  the currency is "usd"
  the payment method is "pm_card_createDisputeProductNotReceived"
  the confirm is true
get a dispute from stripe whose payment intent is the payment intent's id
close the dispute
''')
    assert won_payment["status"] == "succeeded"
    assert (dispute["status"], dispute["reason"], dispute["amount"]) == (
        "needs_response", "fraudulent", 3000)
    assert (won.id, won["status"]) == (dispute.id, "won")
    assert (other["payment_intent"], other["reason"]) == (lost_payment.id,
                                                          "product_not_received")
    assert (closed.id, closed["status"]) == (other.id, "lost")


def test_pay_out_what_is_available_and_cancel(rt):
    payment, payout, canceled, returned = run(rt, '''\
create a payment intent in stripe with
  the amount is 9000
  the currency is "usd"
  the payment method is "pm_card_bypassPending"
  the confirm is true
create a payout in stripe with
  the amount is 1000
  the currency is "usd"
cancel the payout
get all balance transactions from stripe whose type is "payout_cancel"
''')
    assert payment["status"] == "succeeded"
    assert (payout["status"], payout["amount"]) == ("pending", 1000)
    assert (canceled.id, canceled["status"]) == (payout.id, "canceled")
    assert [(txn["amount"], txn["source"]) for txn in returned] == [(1000, payout.id)]
    failure, _ = failed(rt, 'create a payout in stripe with\n  the amount is 100000\n'
                            '  the currency is "usd"\n')
    assert failure.error_code == "balance_insufficient"


def test_pay_an_invoice_by_card(rt):
    failure, (customer, invoice, item, opened) = failed(rt, '''\
create a customer in stripe with
  the email is "bo@example.com"
create an invoice in stripe with
  the customer is the customer's id
add an invoice item to the invoice with
  the amount is 1500
  the currency is "usd"
finalize the invoice
pay the invoice with the payment method is "pm_card_chargeCustomerFail"
''')
    assert failure.error_code == "card_declined"
    assert item["amount"] == 1500 and opened["status"] == "open"
    after = rt.call("get an invoice from stripe", id=invoice.id)
    assert (after["status"], after["attempted"], after["attempt_count"]) == ("open", True, 1)
    paid = rt.call("pay the invoice", id=invoice.id, payment_method="pm_card_visa")
    assert (paid["status"], paid["amount_paid"], paid["attempt_count"]) == ("paid", 1500, 2)
    (intent,) = rt.call("get all payment intents from stripe", customer=customer.id)
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 1500)
    charges = rt.call("get all charges from stripe", payment_intent=intent.id)
    assert [charge["status"] for charge in charges] == ["succeeded", "failed"]


def test_a_bank_debit_is_processing_until_the_bank_settles_it(rt, sandbox):
    import json
    import urllib.request

    created, processing = run(rt, '''\
create a payment intent in stripe with
  the amount is 5000
  the currency is "usd"
  the allowed payment method types is "us_bank_account"
confirm the payment intent with the payment method is "pm_usBankAccount_success"
''')
    assert processing["status"] == "processing" and processing.id == created.id
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/settle/{created.id}",
                                     method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["status"] == "succeeded"
    (settled,) = run(rt, f'get a payment intent from stripe whose id is "{created.id}"')
    assert (settled["status"], settled["amount_received"]) == ("succeeded", 5000)
