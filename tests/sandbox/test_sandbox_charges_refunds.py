"""Charges and refunds through the SDK: what a charge shows of its payment, the older
charges API, full and partial refunds of a charge or a payment intent, and what Stripe
refuses."""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest
import stripe
from sandbox_payments import declined, intent, paid, refused, settle
from sandbox_shapes import undeclared_fields


def charge_of(client: stripe.StripeClient, card: str = "pm_card_visa", **params: Any
              ) -> stripe.Charge:
    return client.v1.charges.retrieve(paid(client, card, **params).latest_charge)


def test_a_charge_shows_its_payment(client):
    customer = client.v1.customers.create(params={"email": "ann@example.com"})
    charge = charge_of(client, "pm_card_amex", customer=customer.id, description="Tea",
                       metadata={"order": "7"}, receipt_email="ann@example.com",
                       statement_descriptor_suffix="TEA")
    assert charge.id.startswith("ch_") and charge.object == "charge"
    assert (charge.amount, charge.currency, charge.customer) == (2000, "usd", customer.id)
    assert (charge.status, charge.paid, charge.captured, charge.refunded) == (
        "succeeded", True, True, False)
    assert (charge.amount_captured, charge.amount_refunded, charge.disputed) == (2000, 0, False)
    assert (charge.failure_code, charge.failure_message) == (None, None)
    assert (charge.description, charge.metadata.to_dict(), charge.receipt_email) == (
        "Tea", {"order": "7"}, "ann@example.com")
    assert charge.calculated_statement_descriptor == "SANDBOX* TEA"
    card = charge.payment_method_details.card
    assert (card.brand, card.last4, card.funding) == ("amex", "0005", "credit")
    assert (charge.outcome.type, charge.outcome.network_status, charge.outcome.risk_level) == (
        "authorized", "approved_by_network", "normal")
    assert "refunds" not in charge  # includable: only with expand[], since 2022-11-15
    assert undeclared_fields(charge.to_dict(), stripe.Charge) == []


def test_list_and_search_charges(client):
    ann = client.v1.customers.create()
    first = charge_of(client, customer=ann.id, metadata={"order": "1"})
    second = charge_of(client, amount=500, currency="eur")
    with pytest.raises(stripe.CardError):
        paid(client, "pm_card_chargeDeclined", customer=ann.id)
    failed = client.v1.charges.list(params={"customer": ann.id}).data[0]
    client.v1.refunds.create(params={"charge": second.id})
    assert [c.id for c in client.v1.charges.list(params={"customer": ann.id}).data] == [
        failed.id, first.id]
    assert [c.id for c in client.v1.charges.list(params={
        "payment_intent": first.payment_intent}).data] == [first.id]
    assert [c.id for c in client.v1.charges.list(params={
        "created": {"lt": first.created}}).data] == []

    def found(query: str) -> list[str]:
        return [c.id for c in client.v1.charges.search(params={"query": query}).data]

    assert found("status:'failed'") == [failed.id]
    assert found("refunded:'true'") == [second.id]
    assert found("amount<1000") == [second.id]
    assert found(f"customer:'{ann.id}' AND status:'succeeded'") == [first.id]
    assert found(f"payment_intent:'{first.payment_intent}'") == [first.id]
    assert found("metadata['order']:'1' OR currency:'eur'") == [second.id, first.id]
    assert found("disputed:'false' AND -status:'failed'") == [second.id, first.id]


def test_update_a_charge(client):
    charge = charge_of(client)
    ann = client.v1.customers.create()
    updated = client.v1.charges.update(charge.id, params={
        "customer": ann.id, "description": "Tea", "metadata": {"a": "1"},
        "fraud_details": {"user_report": "safe"},
        "shipping": {"name": "Ann", "address": {"city": "Lyon"}, "tracking_number": "Z1"}})
    assert (updated.customer, updated.description, updated.metadata.to_dict()) == (
        ann.id, "Tea", {"a": "1"})
    assert updated.fraud_details.to_dict() == {"stripe_report": None, "user_report": "safe"}
    assert (updated.shipping.address.city, updated.shipping.tracking_number) == ("Lyon", "Z1")
    other = client.v1.customers.create()
    refused(lambda: client.v1.charges.update(charge.id, params={"customer": other.id}),
            param="customer")
    refused(lambda: client.v1.charges.update(charge.id, params={"customer": "cus_none"}),
            code="resource_missing", param="customer")


def test_the_older_charges_api(client):
    charge = client.v1.charges.create(params={"amount": 1500, "currency": "usd",
                                              "source": "tok_visa", "description": "Tea"})
    assert (charge.status, charge.captured, charge.payment_intent) == ("succeeded", True, None)
    held = client.v1.charges.create(params={"amount": 1000, "currency": "usd",
                                            "source": "tok_mastercard", "capture": False})
    assert (held.captured, held.amount_captured, held.balance_transaction) == (False, 0, None)
    refused(lambda: client.v1.charges.capture(held.id, params={"amount": 1001}),
            param="amount")
    captured = client.v1.charges.capture(held.id, params={"amount": 800})
    assert (captured.captured, captured.amount_captured, captured.amount_refunded) == (
        True, 800, 200)
    refused(lambda: client.v1.charges.capture(held.id), code="charge_already_captured")
    error = declined(lambda: client.v1.charges.create(params={
        "amount": 1000, "currency": "usd", "source": "tok_chargeDeclinedInsufficientFunds"}))
    assert (error.code, error.error.decline_code) == ("card_declined", "insufficient_funds")
    failed = client.v1.charges.retrieve(error.error.charge)
    assert (failed.status, failed.failure_code) == ("failed", "card_declined")
    refused(lambda: client.v1.charges.create(params={"amount": 1000, "currency": "usd"}),
            code="missing", text="Must provide source or customer")
    cardless = client.v1.customers.create()
    refused(lambda: client.v1.charges.create(params={"amount": 1000, "currency": "usd",
                                                     "customer": cardless.id}),
            code="missing", param="customer", text="no active card")
    refused(lambda: client.v1.charges.create(params={"amount": 20, "currency": "usd",
                                                     "source": "tok_visa"}),
            code="amount_too_small")


def test_capturing_a_payment_intents_charge_captures_the_intent(client):
    held = paid(client, capture_method="manual")
    charge = client.v1.charges.capture(held.latest_charge, params={"amount": 1200})
    assert (charge.captured, charge.amount_captured) == (True, 1200)
    after = client.v1.payment_intents.retrieve(held.id)
    assert (after.status, after.amount_received) == ("succeeded", 1200)


def test_a_full_refund(client):
    charge = charge_of(client, "pm_card_bypassPending")
    refund = client.v1.refunds.create(params={"charge": charge.id,
                                              "reason": "requested_by_customer",
                                              "metadata": {"why": "size"}})
    assert refund.id.startswith("re_") and refund.object == "refund"
    assert (refund.amount, refund.currency, refund.status, refund.reason) == (
        2000, "usd", "succeeded", "requested_by_customer")
    assert (refund.charge, refund.payment_intent) == (charge.id, charge.payment_intent)
    assert refund.metadata.to_dict() == {"why": "size"}
    after = client.v1.charges.retrieve(charge.id)
    assert (after.amount_refunded, after.refunded) == (2000, True)
    txn = client.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (txn.type, txn.amount, txn.fee, txn.net, txn.source) == (
        "refund", -2000, 0, -2000, refund.id)
    error = refused(lambda: client.v1.refunds.create(params={"charge": charge.id}),
                    code="charge_already_refunded", param="charge")
    assert charge.id in error.user_message
    assert undeclared_fields(refund.to_dict(), stripe.Refund) == []


def test_partial_refunds_until_nothing_is_left(client):
    charge = charge_of(client)
    first = client.v1.refunds.create(params={"charge": charge.id, "amount": 500})
    assert client.v1.charges.retrieve(charge.id).to_dict()["refunded"] is False
    error = refused(lambda: client.v1.refunds.create(params={"charge": charge.id,
                                                             "amount": 1600}),
                    param="amount")
    assert error.user_message == ("Refund amount ($16.00) is greater than unrefunded amount "
                                  "on charge ($15.00)")
    second = client.v1.refunds.create(params={"payment_intent": charge.payment_intent})
    assert second.amount == 1500 and second.charge == charge.id
    after = client.v1.charges.retrieve(charge.id)
    assert (after.amount_refunded, after.refunded) == (2000, True)
    assert [r.id for r in client.v1.refunds.list(params={"charge": charge.id}).data] == [
        second.id, first.id]
    assert [r.id for r in client.v1.refunds.list(params={
        "payment_intent": charge.payment_intent}).data] == [second.id, first.id]
    refused(lambda: client.v1.refunds.create(params={"payment_intent": charge.payment_intent,
                                                     "amount": 1}),
            code="charge_already_refunded")


def test_a_partially_captured_charge_refunds_what_was_captured(client):
    held = paid(client, capture_method="manual", amount=1000)
    client.v1.payment_intents.capture(held.id, params={"amount_to_capture": 600})
    refund = client.v1.refunds.create(params={"payment_intent": held.id})
    assert refund.amount == 600
    after = client.v1.charges.retrieve(held.latest_charge)
    assert (after.amount_captured, after.amount_refunded, after.refunded) == (600, 1000, True)


def test_what_cannot_be_refunded(client):
    waiting = intent(client)
    refused(lambda: client.v1.refunds.create(params={"payment_intent": waiting.id}),
            param="payment_intent", text="does not have a successful charge")
    held = paid(client, capture_method="manual")
    refused(lambda: client.v1.refunds.create(params={"payment_intent": held.id}),
            param="payment_intent", text="Cancel it")
    refused(lambda: client.v1.refunds.create(params={"charge": held.latest_charge}),
            param="charge", text="has not been captured")
    with pytest.raises(stripe.CardError) as raised:
        paid(client, "pm_card_chargeDeclined")
    refused(lambda: client.v1.refunds.create(params={"charge": raised.value.error.charge}),
            param="charge", text="failed")
    one, other = charge_of(client), charge_of(client)
    refused(lambda: client.v1.refunds.create(params={
        "charge": one.id, "payment_intent": other.payment_intent}), param="charge")
    refused(lambda: client.v1.refunds.create(), code="parameter_missing", param="charge")
    refused(lambda: client.v1.refunds.create(params={"charge": "ch_none"}),
            code="resource_missing", param="charge")
    refused(lambda: client.v1.refunds.create(params={"charge": one.id, "amount": 0}),
            param="amount")
    refused(lambda: client.v1.refunds.create(params={"charge": one.id, "currency": "eur"}),
            param="currency")


def test_update_retrieve_and_cancel_a_refund(client):
    refund = client.v1.refunds.create(params={"charge": charge_of(client).id, "amount": 100})
    updated = client.v1.refunds.update(refund.id, params={"metadata": {"ticket": "9"}})
    assert updated.metadata.to_dict() == {"ticket": "9"}
    assert client.v1.refunds.retrieve(refund.id).to_dict() == updated.to_dict()
    # Card refunds never wait for the customer's action, so none can be canceled.
    refused(lambda: client.v1.refunds.cancel(refund.id), text="requires_action")
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.retrieve("re_none")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")


def test_radar_blocks_the_highest_risk_cards_and_reviews_elevated_ones(client):
    error = declined(lambda: paid(client, "pm_card_radarBlock"))
    assert (error.code, error.error.decline_code) == ("card_declined", "fraudulent")
    blocked = client.v1.charges.retrieve(error.error.charge)
    outcome = blocked.outcome
    assert (outcome.type, outcome.network_status, outcome.risk_level, outcome.reason) == (
        "blocked", "not_sent_to_network", "highest", "highest_risk_level")
    assert blocked.status == "failed"
    method = client.v1.payment_methods.create(params={"type": "card",
                                                      "card": {"token": "tok_radarBlock"}})
    customer = client.v1.customers.create()
    assert client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    reviewed = paid(client, "pm_card_riskLevelElevated")
    assert reviewed.status == "succeeded"
    outcome = client.v1.charges.retrieve(reviewed.latest_charge).outcome
    assert (outcome.type, outcome.risk_level) == ("manual_review", "elevated")
    assert 70 <= outcome.risk_score < 80


def test_a_pending_refund_succeeds_when_settled(client, sandbox):
    payment = paid(client, "pm_card_pendingRefund")
    refund = client.v1.refunds.create(params={"payment_intent": payment.id})
    assert refund.status == "pending"
    assert settle(sandbox, refund.id)["status"] == "succeeded"
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"


def test_a_refund_of_refund_fail_fails_after_succeeding(client, sandbox):
    payment = paid(client, "pm_card_refundFail", amount=3000)
    refund = client.v1.refunds.create(params={"payment_intent": payment.id, "amount": 1000})
    assert (refund.status, refund.failure_reason) == ("succeeded", None)
    assert client.v1.charges.retrieve(payment.latest_charge).amount_refunded == 1000
    failed = settle(sandbox, refund.id)
    assert (failed["status"], failed["failure_reason"]) == ("failed",
                                                            "expired_or_canceled_card")
    back = client.v1.balance_transactions.retrieve(failed["failure_balance_transaction"])
    assert (back.type, back.amount) == ("refund_failure", 1000)
    assert client.v1.charges.retrieve(payment.latest_charge).amount_refunded == 0
    with pytest.raises(urllib.error.HTTPError) as raised:
        settle(sandbox, refund.id)
    assert raised.value.code == 400
    plain = client.v1.refunds.create(params={"payment_intent": paid(client).id})
    with pytest.raises(urllib.error.HTTPError):
        settle(sandbox, plain.id)
