"""Bank debits through the SDK: Stripe's test US bank accounts pay a payment intent that waits
in ``processing`` until the bank settles it (the sandbox's settle control), then succeeds or is
returned; a processing intent can be canceled, and an invoice paid by a bank debit is paid
when the debit settles."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import stripe
from sandbox_payments import intent, refused, settle

BANK = {"allowed_payment_method_types": ["us_bank_account"]}


def _debit(client: stripe.StripeClient, account: str = "pm_usBankAccount_success",
           amount: int = 10_000, **params) -> stripe.PaymentIntent:
    return intent(client, amount, payment_method=account, confirm=True, **BANK, **params)


def test_a_bank_debit_waits_in_processing_with_a_pending_charge(client):
    debit = _debit(client)
    assert debit.status == "processing"
    assert (debit.amount_received, debit.amount_capturable) == (0, 0)
    assert debit.payment_method_types == ["us_bank_account"]
    assert debit.payment_method_options.us_bank_account.verification_method == "automatic"
    charge = client.v1.charges.retrieve(debit.latest_charge)
    assert (charge.status, charge.paid, charge.captured) == ("pending", False, True)
    assert charge.balance_transaction is None
    details = charge.payment_method_details
    assert details.type == "us_bank_account"
    assert (details.us_bank_account.last4, details.us_bank_account.routing_number) == (
        "6789", "110000000")
    method = client.v1.payment_methods.retrieve(debit.payment_method)
    assert method.type == "us_bank_account"
    assert "card" not in method and method.us_bank_account.bank_name == "STRIPE TEST BANK"


def test_settling_a_debit_succeeds_and_collects_it_less_the_ach_fee(client, sandbox):
    debit = _debit(client, amount=100_000)
    settled = settle(sandbox, debit.id)
    assert (settled["status"], settled["amount_received"]) == ("succeeded", 100_000)
    charge = client.v1.charges.retrieve(debit.latest_charge)
    assert (charge.status, charge.paid) == ("succeeded", True)
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    # 0.8% of $1,000.00 is $8.00, capped at $5.00.
    assert (txn.amount, txn.fee, txn.net) == (100_000, 500, 99_500)
    small = _debit(client, amount=10_000)
    settle(sandbox, small.id)
    fee = client.v1.balance_transactions.retrieve(
        client.v1.charges.retrieve(small.latest_charge).balance_transaction).fee
    assert fee == 80


@pytest.mark.parametrize(("account", "code"), [
    ("pm_usBankAccount_insufficientFunds", "insufficient_funds"),
    ("pm_usBankAccount_accountClosed", "account_closed"),
    ("pm_usBankAccount_noAccount", "no_account"),
    ("pm_usBankAccount_debitNotAuthorized", "debit_not_authorized"),
])
def test_a_returned_debit_fails_its_charge_and_wants_a_new_method(client, sandbox, account,
                                                                  code):
    debit = _debit(client, account)
    returned = settle(sandbox, debit.id)
    assert returned["status"] == "requires_payment_method"
    assert returned["payment_method"] is None
    assert returned["last_payment_error"]["code"] == code
    assert returned["last_payment_error"]["charge"] == debit.latest_charge
    charge = client.v1.charges.retrieve(debit.latest_charge)
    assert (charge.status, charge.failure_code) == ("failed", code)
    assert charge.balance_transaction is None
    again = client.v1.payment_intents.confirm(
        debit.id, params={"payment_method": "pm_usBankAccount_success"})
    assert again.status == "processing" and again.latest_charge != debit.latest_charge


def test_a_debit_that_never_settles_can_be_canceled(client, sandbox):
    debit = _debit(client, "pm_usBankAccount_processing")
    with pytest.raises(urllib.error.HTTPError) as raised:
        settle(sandbox, debit.id)
    body = json.loads(raised.value.read())
    assert raised.value.code == 400 and "never settle" in body["error"]["message"]
    canceled = client.v1.payment_intents.cancel(debit.id)
    assert canceled.status == "canceled"
    assert client.v1.charges.retrieve(debit.latest_charge).status == "failed"
    refused(lambda: client.v1.payment_intents.confirm(debit.id),
            code="payment_intent_unexpected_state")


def test_a_processing_debit_cannot_be_refunded_or_confirmed_again(client, sandbox):
    debit = _debit(client)
    refused(lambda: client.v1.refunds.create(params={"payment_intent": debit.id}),
            param="payment_intent", text="processing")
    refused(lambda: client.v1.refunds.create(params={"charge": debit.latest_charge}),
            param="charge", text="pending")
    refused(lambda: client.v1.payment_intents.confirm(debit.id),
            code="payment_intent_unexpected_state")
    settle(sandbox, debit.id)
    refund = client.v1.refunds.create(params={"payment_intent": debit.id, "amount": 1000})
    assert refund.status == "succeeded"
    with pytest.raises(urllib.error.HTTPError) as raised:
        settle(sandbox, debit.id)
    assert raised.value.code == 400


def test_ach_takes_us_dollars_captured_automatically(client):
    refused(lambda: client.v1.payment_intents.create(params={
        "amount": 5000, "currency": "eur", "payment_method": "pm_usBankAccount_success",
        "confirm": True, **BANK}), code="payment_intent_invalid_parameter", param="currency")
    refused(lambda: _debit(client, capture_method="manual"),
            code="payment_intent_invalid_parameter", param="capture_method")
    refused(lambda: intent(client, payment_method="pm_usBankAccount_success", confirm=True),
            code="payment_intent_invalid_parameter", param="payment_method",
            text="does not accept that type")


def test_a_bank_account_from_its_numbers(client):
    method = client.v1.payment_methods.create(params={
        "type": "us_bank_account",
        "us_bank_account": {"routing_number": "110000000", "account_number": "000222222227",
                            "account_holder_type": "individual"},
        "billing_details": {"name": "Jo Doe"}})
    assert (method.type, method.us_bank_account.last4) == ("us_bank_account", "2227")
    assert method.billing_details.name == "Jo Doe"
    refused(lambda: client.v1.payment_methods.create(params={
        "type": "us_bank_account",
        "us_bank_account": {"routing_number": "110000000", "account_number": "123"}}),
        param="us_bank_account[account_number]", text="000123456789")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_methods.create(params={
            "type": "us_bank_account", "us_bank_account": {"routing_number": "110000000"}})
    assert raised.value.code == "parameter_missing"


def test_an_invoice_paid_by_bank_debit_is_paid_when_it_settles(client, sandbox):
    customer = client.v1.customers.create()
    client.v1.invoice_items.create(params={"customer": customer.id, "amount": 4200,
                                           "currency": "usd"})
    invoice = client.v1.invoices.create(params={
        "customer": customer.id, "pending_invoice_items_behavior": "include",
        "payment_settings": {"payment_method_types": ["us_bank_account"]}})
    method = client.v1.payment_methods.attach(
        client.v1.payment_methods.create(params={
            "type": "us_bank_account", "us_bank_account": {
                "routing_number": "110000000", "account_number": "000123456789"}}).id,
        params={"customer": customer.id})
    paying = client.v1.invoices.pay(invoice.id, params={"payment_method": method.id})
    assert paying.status == "open" and paying.amount_paid == 0
    payment = client.v1.payment_intents.retrieve(
        client.v1.invoices.retrieve(invoice.id, params={"expand": ["payments"]})
        .payments.data[0].payment.payment_intent)
    assert payment.status == "processing"
    refused(lambda: client.v1.invoices.pay(invoice.id, params={"payment_method": method.id}),
            text="processing")
    settle(sandbox, payment.id)
    paid = client.v1.invoices.retrieve(invoice.id)
    assert (paid.status, paid.amount_paid) == ("paid", 4200)


def test_setup_intents_take_cards_only(client):
    refused(lambda: client.v1.setup_intents.create(
        params={"payment_method": "pm_usBankAccount_success"}),
        param="payment_method", text="cards only")


def test_bank_debit_objects_have_their_shapes(client, sandbox):
    from test_sandbox_shapes import object_problems

    debit = _debit(client)
    pending = client.v1.charges.retrieve(debit.latest_charge).to_dict()
    settled = settle(sandbox, debit.id)
    objects = [debit.to_dict(), pending, settled,
               client.v1.charges.retrieve(debit.latest_charge).to_dict(),
               client.v1.payment_methods.retrieve(debit.payment_method).to_dict(),
               client.v1.payment_methods.retrieve("pm_card_visa").to_dict()]
    assert [problem for data in objects for problem in object_problems(data)] == []
