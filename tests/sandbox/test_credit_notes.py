"""Credit notes and customer balance transactions, through the real SDK: what a credit
note takes off an open invoice, how it gives back a paid one (a credit to the customer's
balance, a refund, money outside Stripe), voiding, Stripe's refusals, and the balance a
finalized invoice consumes."""

from __future__ import annotations

import pytest
import stripe
from sandbox_http import refused
from test_sandbox_shapes import object_problems


@pytest.fixture
def customer(client: stripe.StripeClient):
    return client.v1.customers.create(params={"email": "credit@example.com"})


def invoice_of(client, customer, *amounts: int, finalize: bool = True):
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    for amount in amounts:
        client.v1.invoice_items.create(params={"customer": customer.id, "amount": amount,
                                               "currency": "usd", "invoice": invoice.id})
    if finalize:
        return client.v1.invoices.finalize_invoice(invoice.id)
    return client.v1.invoices.retrieve(invoice.id)


def test_a_credit_note_lowers_what_an_open_invoice_owes(client, customer):
    invoice = invoice_of(client, customer, 1500)
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 500,
                                                 "reason": "order_change", "memo": "Sorry"})
    assert note.id.startswith("cn_") and note.object == "credit_note"
    assert (note.amount, note.pre_payment_amount, note.post_payment_amount) == (500, 500, 0)
    assert (note.type, note.status, note.reason, note.memo) == (
        "pre_payment", "issued", "order_change", "Sorry")
    assert note.number == f"{invoice.number}-CN-01"
    assert (note.invoice, note.customer, note.currency) == (invoice.id, customer.id, "usd")
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.total, after.amount_due, after.amount_remaining) == (1500, 1000, 1000)
    assert after.pre_payment_credit_notes_amount == 500
    assert after.status == "open"
    assert object_problems(note.last_response.data) == []


def test_crediting_all_an_open_invoice_owes_settles_it(client, customer):
    invoice = invoice_of(client, customer, 800)
    client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 800})
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.amount_due, after.amount_paid) == ("paid", 0, 0)


def test_lines_credit_part_of_an_invoice_line_or_a_custom_amount(client, customer):
    invoice = invoice_of(client, customer, 1000, 600)
    first, second = invoice.lines.data
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "lines": [
        {"type": "invoice_line_item", "invoice_line_item": first.id, "amount": 250},
        {"type": "invoice_line_item", "invoice_line_item": second.id},
        {"type": "custom_line_item", "description": "Goodwill", "unit_amount": 50,
         "quantity": 2}]})
    assert note.amount == 250 + 600 + 100
    assert [(line.type, line.amount) for line in note.lines.data] == [
        ("invoice_line_item", 250), ("invoice_line_item", 600), ("custom_line_item", 100)]
    assert note.lines.data[0].invoice_line_item == first.id
    assert note.lines.data[2].description == "Goodwill"
    listed = client.v1.credit_notes.line_items.list(note.id, params={"limit": 2})
    assert [line.id for line in listed.data] == [line.id for line in note.lines.data[:2]]
    assert listed.has_more
    assert client.v1.invoices.retrieve(invoice.id).amount_due == 1600 - 950


def test_a_preview_issues_nothing(client, customer, sandbox):
    invoice = invoice_of(client, customer, 1000)
    preview = client.v1.credit_notes.preview(params={"invoice": invoice.id, "amount": 300})
    assert (preview.amount, preview.pre_payment_amount, preview.type) == (
        300, 300, "pre_payment")
    lines = client.v1.credit_notes.preview_lines.list(params={
        "invoice": invoice.id, "lines": [{"type": "custom_line_item", "description": "x",
                                          "unit_amount": 120}]})
    assert [line.amount for line in lines.data] == [120]
    assert client.v1.credit_notes.list().data == []
    assert client.v1.invoices.retrieve(invoice.id).amount_due == 1000


def test_on_a_paid_invoice_a_credit_goes_to_the_customer_balance(client, customer):
    invoice = invoice_of(client, customer, 2000)
    client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 700,
                                                 "credit_amount": 700})
    assert (note.type, note.pre_payment_amount, note.post_payment_amount) == (
        "post_payment", 0, 700)
    txn = client.v1.customers.balance_transactions.retrieve(
        customer.id, note.customer_balance_transaction)
    assert (txn.amount, txn.type, txn.credit_note, txn.invoice, txn.ending_balance) == (
        -700, "credit_note", note.id, invoice.id, -700)
    assert client.v1.customers.retrieve(customer.id).balance == -700
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.amount_paid, after.post_payment_credit_notes_amount) == (2000, 700)
    assert object_problems(txn.last_response.data) == []


def test_on_a_card_paid_invoice_a_credit_note_can_refund(client, customer):
    invoice = invoice_of(client, customer, 3000)
    paid = client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_visa"})
    assert paid.status == "paid"
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1000,
                                                 "refund_amount": 600,
                                                 "out_of_band_amount": 400})
    assert note.out_of_band_amount == 400
    [refund] = note.refunds
    assert (refund.amount_refunded, refund.type) == (600, "refund")
    made = client.v1.refunds.retrieve(refund.refund)
    assert (made.amount, made.status) == (600, "succeeded")
    charge = client.v1.charges.retrieve(made.charge)
    assert charge.amount_refunded == 600
    refused(lambda: client.v1.credit_notes.void_credit_note(note.id), "refunded",
            status=400)


def test_the_post_payment_part_must_be_split_exactly(client, customer):
    invoice = invoice_of(client, customer, 1000)
    client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    refused(lambda: client.v1.credit_notes.create(params={"invoice": invoice.id,
                                                          "amount": 300}),
            "must equal the credit note's post-payment amount (300)", param="credit_amount")
    refused(lambda: client.v1.credit_notes.create(params={
        "invoice": invoice.id, "amount": 300, "credit_amount": 200}), "(200)",
            param="credit_amount")
    refused(lambda: client.v1.credit_notes.create(params={
        "invoice": invoice.id, "amount": 300, "refund_amount": 300}),
            "not paid through Stripe", param="refund_amount")
    open_one = invoice_of(client, customer, 500)
    # (on an open invoice only what exceeds the amount remaining is post-payment)
    refused(lambda: client.v1.credit_notes.create(params={
        "invoice": open_one.id, "amount": 200, "credit_amount": 200}), "(0)")


def test_refusals(client, customer):
    draft = invoice_of(client, customer, 1000, finalize=False)
    refused(lambda: client.v1.credit_notes.create(params={"invoice": draft.id, "amount": 1}),
            "draft invoice", param="invoice")
    invoice = invoice_of(client, customer, 1000)
    refused(lambda: client.v1.credit_notes.create(params={"invoice": invoice.id}),
            "One of amount, lines, or shipping_cost", code="parameter_missing")
    refused(lambda: client.v1.credit_notes.create(params={"invoice": invoice.id,
                                                          "amount": 1001}),
            "more than the invoice can still be credited (1000", param="amount")
    client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 900})
    refused(lambda: client.v1.credit_notes.create(params={"invoice": invoice.id,
                                                          "amount": 200}),
            "still be credited (100", param="amount")
    line = client.v1.invoices.retrieve(invoice.id).lines.data[0]
    refused(lambda: client.v1.credit_notes.create(params={"invoice": invoice.id, "lines": [
        {"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 1500}]}),
            "more than the invoice line's", param="lines[0][amount]")
    refused(lambda: client.v1.credit_notes.create(params={"invoice": "in_missing",
                                                          "amount": 1}),
            "No such invoice", code="resource_missing", param="invoice")
    voided = client.v1.invoices.void_invoice(invoice_of(client, customer, 100).id)
    refused(lambda: client.v1.credit_notes.create(params={"invoice": voided.id,
                                                          "amount": 1}),
            "void invoice", param="invoice")
    refused(lambda: client.v1.credit_notes.create(params={
        "invoice": invoice.id, "amount": 1, "shipping_cost": {"shipping_rate": "shr_1"}}),
            "not supported by this sandbox", param="shipping_cost")


def test_voiding_undoes_a_credit_note(client, customer):
    invoice = invoice_of(client, customer, 1200)
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 200})
    voided = client.v1.credit_notes.void_credit_note(note.id)
    assert (voided.status, voided.voided_at is not None) == ("void", True)
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.amount_due, after.pre_payment_credit_notes_amount) == (1200, 0)
    refused(lambda: client.v1.credit_notes.void_credit_note(note.id), "already void")
    # a voided note no longer counts against what the invoice can be credited
    assert client.v1.credit_notes.create(params={"invoice": invoice.id,
                                                 "amount": 1200}).amount == 1200
    paid = invoice_of(client, customer, 500)
    client.v1.invoices.pay(paid.id, params={"paid_out_of_band": True})
    credit = client.v1.credit_notes.create(params={"invoice": paid.id, "amount": 500,
                                                   "credit_amount": 500})
    assert client.v1.customers.retrieve(customer.id).balance == -500
    client.v1.credit_notes.void_credit_note(credit.id)
    assert client.v1.customers.retrieve(customer.id).balance == 0


def test_a_settled_invoices_credit_note_cannot_be_voided(client, customer):
    invoice = invoice_of(client, customer, 400)
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 400})
    refused(lambda: client.v1.credit_notes.void_credit_note(note.id), "is paid now")


def test_update_list_and_filters(client, customer):
    one = invoice_of(client, customer, 1000)
    other = invoice_of(client, customer, 1000)
    first = client.v1.credit_notes.create(params={"invoice": one.id, "amount": 100})
    second = client.v1.credit_notes.create(params={"invoice": other.id, "amount": 100})
    updated = client.v1.credit_notes.update(first.id, params={"memo": "Changed",
                                                              "metadata": {"a": "1"}})
    assert (updated.memo, updated.metadata["a"]) == ("Changed", "1")
    refused(lambda: client.v1.credit_notes.update(first.id, params={"amount": 5}),
            "amount", code="parameter_unknown")
    listed = client.v1.credit_notes.list(params={"invoice": one.id})
    assert [note.id for note in listed.data] == [first.id]
    every = client.v1.credit_notes.list(params={"customer": customer.id})
    assert [note.id for note in every.data] == [second.id, first.id]
    expanded = client.v1.credit_notes.retrieve(first.id, params={"expand": ["invoice"]})
    assert expanded.invoice.id == one.id


def test_customer_balance_transactions_adjust_the_balance(client, customer):
    credit = client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -1000, "currency": "usd", "description": "Welcome"})
    assert credit.id.startswith("cbtxn_")
    assert (credit.amount, credit.type, credit.ending_balance, credit.description) == (
        -1000, "adjustment", -1000, "Welcome")
    debit = client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": 250, "currency": "usd"})
    assert debit.ending_balance == -750
    assert client.v1.customers.retrieve(customer.id).balance == -750
    changed = client.v1.customers.balance_transactions.update(
        customer.id, credit.id, params={"metadata": {"why": "promo"}})
    assert changed.metadata["why"] == "promo"
    listed = client.v1.customers.balance_transactions.list(customer.id)
    assert [txn.id for txn in listed.data] == [debit.id, credit.id]
    stranger = client.v1.customers.create(params={"email": "other@example.com"})
    refused(lambda: client.v1.customers.balance_transactions.retrieve(stranger.id, credit.id),
            "No such", status=404)
    refused(lambda: client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": 5, "currency": "eur"}), "currency", param="currency")
    refused(lambda: client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": 5}), "currency", code="parameter_missing")


def test_a_finalized_invoice_consumes_the_customer_credit(client, customer):
    client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": -1000, "currency": "usd"})
    small = invoice_of(client, customer, 600)
    assert (small.starting_balance, small.ending_balance, small.amount_due) == (-1000, -400, 0)
    assert small.status == "paid"  # nothing left to pay
    big = invoice_of(client, customer, 900)
    assert (big.starting_balance, big.ending_balance, big.amount_due) == (-400, 0, 500)
    assert client.v1.customers.retrieve(customer.id).balance == 0
    applied = client.v1.customers.balance_transactions.list(
        customer.id, params={"invoice": big.id}).data
    assert [(txn.type, txn.amount) for txn in applied] == [("applied_to_invoice", 400)]


def test_a_debit_balance_is_added_to_the_next_invoice(client, customer):
    client.v1.customers.balance_transactions.create(
        customer.id, params={"amount": 300, "currency": "usd"})
    invoice = invoice_of(client, customer, 1000)
    assert (invoice.starting_balance, invoice.ending_balance, invoice.amount_due) == (
        300, 0, 1300)
