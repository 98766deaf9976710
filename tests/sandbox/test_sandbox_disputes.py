"""Disputes through the SDK: Stripe's dispute cards open one as soon as their charge
succeeds; evidence settles it in test mode (``winning_evidence``, ``losing_evidence``),
closing accepts it as lost; the money moves with it."""

from __future__ import annotations

import pytest
import stripe
from sandbox_http import raw_request
from sandbox_payments import paid, refused
from sandbox_shapes import undeclared_fields


def disputed(client: stripe.StripeClient, card: str = "pm_card_createDispute",
             **params: object) -> stripe.Dispute:
    payment = paid(client, card, **params)
    (dispute,) = client.v1.disputes.list(params={"payment_intent": payment.id}).data
    return dispute


@pytest.mark.parametrize(("card", "reason", "status", "case"), [
    ("pm_card_createDispute", "fraudulent", "needs_response", "chargeback"),
    ("pm_card_createDisputeProductNotReceived", "product_not_received", "needs_response",
     "chargeback"),
    ("pm_card_createDisputeInquiry", "general", "warning_needs_response", "inquiry"),
])
def test_a_dispute_card_disputes_its_charge(client, card, reason, status, case):
    payment = paid(client, card, amount=3000)
    dispute = client.v1.disputes.list(params={"charge": payment.latest_charge}).data[0]
    assert dispute.id.startswith("dp_")
    assert (dispute.amount, dispute.currency, dispute.reason, dispute.status) == (
        3000, "usd", reason, status)
    assert (dispute.charge, dispute.payment_intent) == (payment.latest_charge, payment.id)
    assert dispute.payment_method_details.card.case_type == case
    assert dispute.evidence_details.due_by > dispute.created
    assert (dispute.evidence_details.has_evidence,
            dispute.evidence_details.submission_count) == (False, 0)
    charge = client.v1.charges.retrieve(payment.latest_charge)
    assert (charge.status, charge.disputed) == ("succeeded", True)
    assert client.v1.disputes.retrieve(dispute.id).to_dict() == dispute.to_dict()
    assert undeclared_fields(dispute.to_dict(), stripe.Dispute) == []


def test_a_chargeback_takes_the_money_and_the_fee(client):
    dispute = disputed(client, amount=3000)
    (withdrawal,) = dispute.balance_transactions
    assert (withdrawal.type, withdrawal.reporting_category) == ("adjustment", "dispute")
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net, withdrawal.source) == (
        -3000, 1500, -4500, dispute.id)
    inquiry = disputed(client, "pm_card_createDisputeInquiry")
    assert inquiry.balance_transactions == []  # an inquiry moves no money


def test_a_charge_with_an_open_chargeback_cannot_be_refunded(client):
    dispute = disputed(client)
    refused(lambda: client.v1.refunds.create(params={"charge": dispute.charge}),
            code="charge_disputed", param="charge")
    inquiry = disputed(client, "pm_card_createDisputeInquiry")
    assert inquiry.is_charge_refundable is True
    assert client.v1.refunds.create(params={"charge": inquiry.charge}).status == "succeeded"


def test_winning_evidence_wins_and_gives_the_money_back(client):
    dispute = disputed(client, amount=3000)
    won = client.v1.disputes.update(dispute.id, params={
        "evidence": {"uncategorized_text": "winning_evidence",
                     "customer_name": "Jenny Rosen"}, "metadata": {"case": "1"}})
    assert won.status == "won"
    assert (won.evidence.uncategorized_text, won.evidence.customer_name) == (
        "winning_evidence", "Jenny Rosen")
    assert (won.evidence_details.has_evidence, won.evidence_details.submission_count) == (
        True, 1)
    assert won.metadata.to_dict() == {"case": "1"}
    withdrawal, reversal = won.balance_transactions
    assert (reversal.reporting_category, reversal.amount, reversal.fee, reversal.net) == (
        "dispute_reversal", 3000, -1500, 4500)
    assert withdrawal.net + reversal.net == 0
    refused(lambda: client.v1.disputes.update(dispute.id, params={"metadata": {"a": "b"}}),
            text="closed")
    refused(lambda: client.v1.disputes.close(dispute.id), text="already closed")
    assert client.v1.refunds.create(params={"charge": dispute.charge}).status == "succeeded"


def test_losing_evidence_loses(client):
    dispute = disputed(client)
    lost = client.v1.disputes.update(dispute.id, params={
        "evidence": {"uncategorized_text": "losing_evidence"}})
    assert lost.status == "lost" and len(lost.balance_transactions) == 1
    inquiry = disputed(client, "pm_card_createDisputeInquiry")
    closed = client.v1.disputes.update(inquiry.id, params={
        "evidence": {"uncategorized_text": "losing_evidence"}})
    assert closed.status == "warning_closed"


def test_staged_evidence_is_submitted_later(client):
    dispute = disputed(client)
    staged = client.v1.disputes.update(dispute.id, params={
        "evidence": {"product_description": "Tea"}, "submit": False})
    assert (staged.status, staged.evidence.product_description,
            staged.evidence_details.submission_count) == ("needs_response", "Tea", 0)
    submitted = client.v1.disputes.update(dispute.id, params={
        "evidence": {"customer_email_address": "jenny@example.com"}})
    assert (submitted.status, submitted.evidence_details.submission_count) == (
        "under_review", 1)
    assert submitted.evidence.product_description == "Tea"


def test_an_inquiry_can_be_escalated(client):
    inquiry = disputed(client, "pm_card_createDisputeInquiry", amount=1000)
    escalated = client.v1.disputes.update(inquiry.id, params={
        "evidence": {"uncategorized_text": "escalate_inquiry_evidence"}})
    assert escalated.status == "needs_response"
    assert escalated.payment_method_details.card.case_type == "chargeback"
    assert [t.amount for t in escalated.balance_transactions] == [-1000]


def test_closing_accepts_the_dispute_as_lost(client):
    dispute = disputed(client)
    closed = client.v1.disputes.close(dispute.id)
    assert closed.status == "lost"
    inquiry = disputed(client, "pm_card_createDisputeInquiry")
    assert client.v1.disputes.close(inquiry.id).status == "warning_closed"


def test_list_disputes(client, sandbox):
    first = disputed(client)
    second = disputed(client, "pm_card_createDisputeInquiry")
    assert [d.id for d in client.v1.disputes.list().data] == [second.id, first.id]
    assert [d.id for d in client.v1.disputes.list(params={"charge": first.charge}).data] == [
        first.id]
    assert [d.id for d in client.v1.disputes.list(params={
        "created": {"gt": second.created}}).data] == []
    # Disputes are opened by cardholders, never through the API.
    status, _, body = raw_request(sandbox, "POST", "/v1/disputes", body="amount=100")
    assert status == 404 and body["error"]["message"].startswith("Unrecognized request URL")
