"""The balance through the SDK: every movement of money is a balance transaction; charges'
funds are pending until their day comes (``pm_card_bypassPending``'s at once), refunds,
disputes and payouts take from the available balance; payouts need it, wait in ``pending``
(cancelable) until they arrive."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe
from sandbox_http import make_client
from sandbox_payments import paid, refused
from sandbox_shapes import declared_fields, undeclared_fields
from stripe_pay.sandbox import SandboxServer
from stripe_pay.sandbox.resources.balance import PAYOUT_DAYS, PENDING_DAYS, card_fee

DAY = 86_400
START = 1_800_000_000.0


def funds(balance: stripe.Balance, currency: str = "usd") -> tuple[int, int]:
    """(available, pending) in ``currency``."""
    def amount(entries: list[stripe.Balance.Available] | list[stripe.Balance.Pending]) -> int:
        return next(entry.amount for entry in entries if entry.currency == currency)
    return amount(balance.available), amount(balance.pending)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_sandbox(clock: Clock) -> Iterator[SandboxServer]:
    """A sandbox of its own, whose clock the test moves."""
    with SandboxServer(clock=clock) as server:
        yield server


@pytest.fixture
def timed(timed_sandbox: SandboxServer) -> stripe.StripeClient:
    return make_client(timed_sandbox)


def test_an_empty_balance(client, expected_fields):
    balance = client.v1.balance.retrieve()
    assert balance.object == "balance" and balance.livemode is False
    assert [entry.to_dict() for entry in balance.available] == [
        {"amount": 0, "currency": "usd", "source_types": {"card": 0}}]
    assert [entry.to_dict() for entry in balance.pending] == [
        {"amount": 0, "currency": "usd", "source_types": {"card": 0}}]
    raw = balance.to_dict()
    assert undeclared_fields(raw, stripe.Balance) == []
    assert set(expected_fields["balance"]) <= set(raw) <= declared_fields(stripe.Balance)
    refused(lambda: client.v1.balance.retrieve(params={"expand": ["available"]}),
            param="expand", text="cannot be expanded (available)")


def test_a_charge_is_pending_less_the_fee(client):
    charge = client.v1.charges.retrieve(paid(client, amount=2000).latest_charge)
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.type, txn.reporting_category, txn.source, txn.status) == (
        "charge", "charge", charge.id, "pending")
    assert (txn.amount, txn.fee, txn.net) == (2000, 88, 1912)  # 2.9% + 30
    assert txn.fee == card_fee(2000, "usd")
    assert [d.to_dict() for d in txn.fee_details] == [
        {"amount": 88, "application": None, "currency": "usd",
         "description": "Stripe processing fees", "type": "stripe_fee"}]
    assert txn.available_on == txn.created + PENDING_DAYS * DAY
    assert funds(client.v1.balance.retrieve()) == (0, 1912)
    assert undeclared_fields(txn.to_dict(), stripe.BalanceTransaction) == []


def test_bypass_pending_is_available_at_once(client):
    paid(client, "pm_card_bypassPending", amount=10_000)
    paid(client, amount=1000)
    assert funds(client.v1.balance.retrieve()) == (10_000 - 320, 1000 - 59)


def test_each_currency_has_its_own_balance(client):
    paid(client, "pm_card_bypassPending", amount=5000, currency="eur")
    paid(client, amount=50, currency="jpy")
    balance = client.v1.balance.retrieve()
    assert [entry.currency for entry in balance.available] == ["eur", "jpy", "usd"]
    assert funds(balance, "eur") == (5000 - 175, 0)
    assert funds(balance, "jpy") == (0, 50 - 1)  # no fixed fee without a minor unit


def test_refunds_and_disputes_take_from_the_available_balance(client):
    payment = paid(client, "pm_card_bypassPending", amount=10_000)
    client.v1.refunds.create(params={"payment_intent": payment.id, "amount": 1000})
    assert funds(client.v1.balance.retrieve()) == (9680 - 1000, 0)
    paid(client, "pm_card_createDispute", amount=2000)  # pending 1912, then charged back
    assert funds(client.v1.balance.retrieve()) == (8680 - 2000 - 1500, 1912)


def test_list_balance_transactions(client):
    payment = paid(client, "pm_card_bypassPending", amount=5000)
    refund = client.v1.refunds.create(params={"payment_intent": payment.id, "amount": 700})
    other = paid(client, amount=900, currency="eur")
    payout = client.v1.payouts.create(params={"amount": 1000, "currency": "usd"})
    everything = client.v1.balance_transactions.list().data
    assert [t.type for t in everything] == ["payout", "charge", "refund", "charge"]
    assert [t.source for t in client.v1.balance_transactions.list(params={
        "type": "refund"}).data] == [refund.id]
    assert [t.source for t in client.v1.balance_transactions.list(params={
        "currency": "eur"}).data] == [other.latest_charge]
    assert [t.id for t in client.v1.balance_transactions.list(params={
        "source": payout.id}).data] == [payout.balance_transaction]
    assert len(client.v1.balance_transactions.list(params={
        "created": {"gte": everything[-1].created}}).data) == 4
    refused(lambda: client.v1.balance_transactions.list(params={"payout": payout.id}),
            param="payout", text="manual")


def test_a_payout_needs_available_funds(client):
    paid(client, amount=5000)  # pending only
    error = refused(lambda: client.v1.payouts.create(params={"amount": 100, "currency": "usd"}),
                    code="balance_insufficient")
    assert "insufficient funds" in error.user_message and "0 usd available" in error.user_message
    paid(client, "pm_card_bypassPending", amount=5000)
    payout = client.v1.payouts.create(params={"amount": 4000, "currency": "usd",
                                              "description": "Weekly",
                                              "metadata": {"week": "12"}})
    assert payout.id.startswith("po_")
    assert (payout.status, payout.amount, payout.method, payout.type, payout.automatic) == (
        "pending", 4000, "standard", "bank_account", False)
    assert payout.destination.startswith("ba_")
    assert payout.arrival_date == payout.created + PAYOUT_DAYS * DAY
    txn = client.v1.balance_transactions.retrieve(payout.balance_transaction)
    assert (txn.type, txn.amount, txn.net, txn.status, txn.source) == (
        "payout", -4000, -4000, "available", payout.id)
    assert funds(client.v1.balance.retrieve()) == (4825 - 4000, 4825)
    refused(lambda: client.v1.payouts.create(params={"amount": 826, "currency": "usd"}),
            code="balance_insufficient")
    assert undeclared_fields(payout.to_dict(), stripe.Payout) == []


def test_what_a_payout_refuses(client):
    paid(client, "pm_card_bypassPending", amount=5000)
    usd = {"currency": "usd"}
    refused(lambda: client.v1.payouts.create(params={"amount": 0, **usd}), param="amount")
    refused(lambda: client.v1.payouts.create(params={"amount": 10, "destination": "ba_x",
                                                     **usd}),
            code="resource_missing", param="destination")
    refused(lambda: client.v1.payouts.create(params={"amount": 10, "method": "instant",
                                                     **usd}), param="method")
    refused(lambda: client.v1.payouts.create(params={"amount": 10, "source_type": "fpx",
                                                     **usd}), code="balance_insufficient")


def test_cancel_a_pending_payout(client):
    paid(client, "pm_card_bypassPending", amount=5000)
    payout = client.v1.payouts.create(params={"amount": 1000, "currency": "usd"})
    canceled = client.v1.payouts.cancel(payout.id)
    assert canceled.status == "canceled"
    assert funds(client.v1.balance.retrieve()) == (4825, 0)
    returned = client.v1.balance_transactions.list(params={"type": "payout_cancel"}).data
    assert [(t.amount, t.source, t.reporting_category) for t in returned] == [
        (1000, payout.id, "payout_reversal")]
    refused(lambda: client.v1.payouts.cancel(payout.id), text="pending")
    updated = client.v1.payouts.update(payout.id, params={"metadata": {"why": "typo"}})
    assert updated.metadata.to_dict() == {"why": "typo"}
    assert [p.id for p in client.v1.payouts.list(params={"status": "canceled"}).data] == [
        payout.id]


def test_time_makes_funds_available_and_payouts_arrive(timed, clock):
    charge = timed.v1.charges.retrieve(paid(timed, amount=2000).latest_charge)
    assert funds(timed.v1.balance.retrieve()) == (0, 1912)
    clock.now += PENDING_DAYS * DAY - 1
    assert funds(timed.v1.balance.retrieve()) == (0, 1912)
    clock.now += 1
    assert funds(timed.v1.balance.retrieve()) == (1912, 0)
    txn = timed.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert txn.status == "available"
    assert [t.id for t in timed.v1.balance_transactions.list(params={
        "type": "charge"}).data] == [txn.id]
    payout = timed.v1.payouts.create(params={"amount": 1900, "currency": "usd"})
    clock.now += PAYOUT_DAYS * DAY
    assert timed.v1.payouts.retrieve(payout.id).status == "paid"
    assert [p.id for p in timed.v1.payouts.list(params={"status": "paid"}).data] == [payout.id]
    refused(lambda: timed.v1.payouts.cancel(payout.id), text="this payout is paid")
    assert [p.id for p in timed.v1.payouts.list(params={
        "arrival_date": {"lte": int(clock.now)}}).data] == [payout.id]


def test_settling_is_recorded_as_changes(timed, timed_sandbox, clock):
    paid(timed, amount=2000)
    clock.now += PENDING_DAYS * DAY
    balance = timed.v1.balance.retrieve()
    assert funds(balance)[0] == 1912
    # The request that found the funds due settled them first: an update of the transaction.
    changes = timed_sandbox.changes(kind="balance_transaction")
    assert [change["action"] for change in changes] == ["create", "update"]
    assert changes[-1]["data"]["previous_attributes"] == {"status": "pending"}
    assert changes[-1]["request_id"] == balance.last_response.request_id
