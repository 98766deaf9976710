"""Invoices: creation rules, items and totals, and every transition of the state machine."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stripe

Refusal = Callable[[], object]


@pytest.fixture
def customer(client: stripe.StripeClient):
    return client.v1.customers.create(params={"email": "billing@example.com", "name": "Acme"})


def draft_with(client, customer, amount: int = 1000, **params):
    invoice = client.v1.invoices.create(params={"customer": customer.id, **params})
    if amount:
        client.v1.invoice_items.create(params={"customer": customer.id, "amount": amount,
                                               "currency": "usd", "invoice": invoice.id})
    return client.v1.invoices.retrieve(invoice.id)


def refused(call: Refusal, *fragments: str, status: int = 400) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    error = raised.value
    assert error.http_status == status
    assert error.error.type == "invalid_request_error"
    for fragment in fragments:
        assert fragment in error.user_message, error.user_message
    return error


def test_create_defaults(client, customer):
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    assert invoice.id.startswith("in_")
    assert (invoice.status, invoice.collection_method, invoice.auto_advance) == (
        "draft", "charge_automatically", False)
    assert (invoice.total, invoice.amount_due, invoice.number, invoice.due_date) == (
        0, 0, None, None)
    assert invoice.currency == "usd" and invoice.billing_reason == "manual"
    assert invoice.customer_email == "billing@example.com"  # live until finalized
    assert invoice.status_transitions.finalized_at is None


def test_customer_is_required(client):
    error = refused(lambda: client.v1.invoices.create(params={}), "Missing required param")
    assert (error.code, error.param) == ("parameter_missing", "customer")


def test_send_invoice_needs_due_terms(client, customer):
    error = refused(lambda: client.v1.invoices.create(params={
        "customer": customer.id, "collection_method": "send_invoice"}), "days_until_due")
    assert error.param == "days_until_due"
    refused(lambda: client.v1.invoices.create(params={
        "customer": customer.id, "days_until_due": 5}), "send_invoice")
    refused(lambda: client.v1.invoices.create(params={
        "customer": customer.id, "collection_method": "send_invoice", "days_until_due": 5,
        "due_date": 2_000_000_000}), "only specify one")
    invoice = client.v1.invoices.create(params={
        "customer": customer.id, "collection_method": "send_invoice", "due_date": 2_000_000_000})
    assert invoice.due_date == 2_000_000_000
    refused(lambda: client.v1.invoices.update(invoice.id, params={
        "collection_method": "charge_automatically", "days_until_due": 3}), "send_invoice")
    assert client.v1.invoices.retrieve(invoice.id).collection_method == "send_invoice"


def test_pending_items_are_excluded_by_default_and_included_on_request(client, customer):
    pending = client.v1.invoice_items.create(params={"customer": customer.id, "amount": 300,
                                                     "currency": "usd"})
    assert pending.invoice is None
    excluded = client.v1.invoices.create(params={"customer": customer.id})
    assert excluded.total == 0 and excluded.lines.data == []
    included = client.v1.invoices.create(params={"customer": customer.id,
                                                 "pending_invoice_items_behavior": "include"})
    assert included.total == 300
    assert [line.parent.invoice_item_details.invoice_item for line in included.lines.data] == [
        pending.id]
    assert client.v1.invoice_items.retrieve(pending.id).invoice == included.id


def test_items_must_fit_the_invoice(client, customer):
    other = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    refused(lambda: client.v1.invoice_items.create(params={
        "customer": other.id, "amount": 1, "currency": "usd", "invoice": invoice.id}),
        "must be the customer of invoice")
    refused(lambda: client.v1.invoice_items.create(params={
        "customer": customer.id, "amount": 1, "currency": "eur", "invoice": invoice.id}),
        "currency")
    error = refused(lambda: client.v1.invoice_items.create(params={
        "customer": customer.id, "amount": 1, "currency": "usd", "invoice": "in_nothere"}),
        "No such invoice")
    assert error.param == "invoice"
    refused(lambda: client.v1.invoice_items.create(params={"customer": customer.id,
                                                           "amount": 1}), "currency")
    refused(lambda: client.v1.invoice_items.create(params={"customer": customer.id,
                                                           "currency": "usd"}), "amount")
    assert client.v1.invoice_items.list(params={"customer": customer.id}).data == []


def test_an_item_in_another_currency_than_its_draft_is_refused_for_its_currency(client,
                                                                               customer):
    invoice = client.v1.invoices.create(params={"customer": customer.id, "currency": "eur"})
    assert invoice.status == "draft"
    error = refused(lambda: client.v1.invoice_items.create(params={
        "customer": customer.id, "amount": 1, "currency": "usd", "invoice": invoice.id}))
    assert error.user_message == (f"The invoice item's currency (usd) must match the currency "
                                  f"of invoice {invoice.id} (eur).")
    assert (error.param, error.code) == ("currency", None)
    # a price in another currency, on an item of the draft, is refused the same way
    item = client.v1.invoice_items.create(params={"customer": customer.id, "amount": 1,
                                                  "currency": "eur", "invoice": invoice.id})
    product = client.v1.products.create(params={"name": "Plan"})
    dollars = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                              "unit_amount": 900})
    error = refused(lambda: client.v1.invoice_items.update(
        item.id, params={"pricing": {"price": dollars.id}}), "(usd)", f"{invoice.id} (eur)")
    assert (error.param, error.code) == ("currency", None)
    assert client.v1.invoices.retrieve(invoice.id).total == 1


def test_items_cannot_use_recurring_prices_or_mix_currencies(client, customer):
    product = client.v1.products.create(params={"name": "Plan"})
    monthly = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                              "unit_amount": 900,
                                              "recurring": {"interval": "month"}})
    refused(lambda: client.v1.invoice_items.create(params={
        "customer": customer.id, "pricing": {"price": monthly.id}}), "type=recurring")
    client.v1.invoice_items.create(params={"customer": customer.id, "amount": 5,
                                           "currency": "usd"})
    refused(lambda: client.v1.invoice_items.create(params={
        "customer": customer.id, "amount": 5, "currency": "eur"}), "combine currencies")


def test_price_data_items(client, customer):
    product = client.v1.products.create(params={"name": "Consulting"})
    item = client.v1.invoice_items.create(params={
        "customer": customer.id, "quantity": 3,
        "price_data": {"currency": "usd", "product": product.id, "unit_amount": 12_000}})
    assert item.amount == 36_000
    inline_price = client.v1.prices.retrieve(item.pricing.price_details.price)
    assert (inline_price.active, inline_price.unit_amount) == (False, 12_000)
    updated = client.v1.invoice_items.update(item.id, params={"quantity": 1})
    assert updated.amount == 12_000


def test_finalize_numbers_and_freezes(client, customer):
    invoice = draft_with(client, customer, 1500)
    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "open"
    assert finalized.number == f"{customer.invoice_prefix}-0001"
    assert finalized.status_transitions.finalized_at is not None
    assert finalized.effective_at == finalized.status_transitions.finalized_at
    assert (finalized.amount_due, finalized.amount_remaining, finalized.ending_balance) == (
        1500, 1500, 0)
    assert client.v1.customers.retrieve(customer.id).next_invoice_sequence == 2
    client.v1.customers.update(customer.id, params={"email": "new@example.com"})
    assert client.v1.invoices.retrieve(invoice.id).customer_email == "billing@example.com"
    second = client.v1.invoices.finalize_invoice(draft_with(client, customer, 10).id)
    assert second.number == f"{customer.invoice_prefix}-0002"


def test_zero_amount_invoice_is_paid_on_finalize(client, customer):
    invoice = draft_with(client, customer, amount=0)
    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "paid"
    assert finalized.status_transitions.paid_at is not None
    assert finalized.amount_remaining == 0


def test_finalized_invoices_refuse_changes(client, customer):
    invoice = draft_with(client, customer)
    client.v1.invoices.finalize_invoice(invoice.id)
    refused(lambda: client.v1.invoices.finalize_invoice(invoice.id), "already finalized")
    refused(lambda: client.v1.invoices.delete(invoice.id),
            "You can only delete draft invoices. This invoice is open; void it instead.")
    error = refused(lambda: client.v1.invoices.update(invoice.id, params={"auto_advance": True,
                                                                          "days_until_due": 3}),
                    "days_until_due can only be changed while an invoice is a draft")
    assert error.param == "days_until_due"
    refused(lambda: client.v1.invoice_items.create(params={
        "customer": customer.id, "amount": 1, "currency": "usd", "invoice": invoice.id}),
        "only be added to draft invoices")
    line = client.v1.invoices.retrieve(invoice.id).lines.data[0]
    item_id = line.parent.invoice_item_details.invoice_item
    refused(lambda: client.v1.invoice_items.update(item_id, params={"amount": 5}), "open")
    refused(lambda: client.v1.invoice_items.delete(item_id), "open")
    updated = client.v1.invoices.update(invoice.id, params={"metadata": {"note": "ok"},
                                                            "description": "still editable"})
    assert (updated.metadata.note, updated.description, updated.total) == (
        "ok", "still editable", 1000)


def test_pay_out_of_band(client, customer):
    invoice = client.v1.invoices.finalize_invoice(draft_with(client, customer, 2500).id)
    paid = client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert paid.status == "paid"
    assert (paid.amount_paid, paid.amount_remaining) == (2500, 0)
    assert paid.status_transitions.paid_at is not None
    refused(lambda: client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True}),
            "already paid")
    refused(lambda: client.v1.invoices.void_invoice(invoice.id), "paid")
    refused(lambda: client.v1.invoices.mark_uncollectible(invoice.id), "paid")


def test_pay_without_a_payment_method_fails(client, customer):
    invoice = client.v1.invoices.finalize_invoice(draft_with(client, customer).id)
    refused(lambda: client.v1.invoices.pay(invoice.id), "no attached payment source")
    assert client.v1.invoices.retrieve(invoice.id).status == "open"


def test_pay_with_test_cards(client, customer):
    invoice = client.v1.invoices.finalize_invoice(draft_with(client, customer).id)
    with pytest.raises(stripe.CardError) as raised:
        client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_chargeDeclined"})
    error = raised.value
    assert (error.http_status, error.code, error.error.decline_code) == (
        402, "card_declined", "generic_decline")
    after_decline = client.v1.invoices.retrieve(invoice.id)
    assert (after_decline.status, after_decline.attempted, after_decline.attempt_count) == (
        "open", True, 1)
    refused(lambda: client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_unknown"}),
            "No such PaymentMethod")
    paid = client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_visa"})
    assert (paid.status, paid.attempt_count, paid.amount_paid) == ("paid", 2, 1000)


def test_pay_with_the_customers_default_payment_method(client, customer):
    method = client.v1.payment_methods.attach("pm_card_mastercard",
                                              params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": method.id}})
    draft = draft_with(client, customer, 700)
    paid = client.v1.invoices.pay(draft.id)  # a draft is finalized, then paid
    assert paid.status == "paid" and paid.number is not None


def test_void_and_uncollectible(client, customer):
    first = client.v1.invoices.finalize_invoice(draft_with(client, customer).id)
    voided = client.v1.invoices.void_invoice(first.id)
    assert voided.status == "void" and voided.status_transitions.voided_at is not None
    refused(lambda: client.v1.invoices.void_invoice(first.id), "already void")
    refused(lambda: client.v1.invoices.pay(first.id, params={"paid_out_of_band": True}),
            "voided")
    refused(lambda: client.v1.invoices.mark_uncollectible(first.id), "void")
    refused(lambda: client.v1.invoices.finalize_invoice(first.id), "already finalized")

    second = client.v1.invoices.finalize_invoice(draft_with(client, customer).id)
    bad_debt = client.v1.invoices.mark_uncollectible(second.id)
    assert bad_debt.status == "uncollectible"
    assert bad_debt.status_transitions.marked_uncollectible_at is not None
    refused(lambda: client.v1.invoices.mark_uncollectible(second.id), "uncollectible")
    assert client.v1.invoices.pay(second.id, params={"paid_out_of_band": True}).status == "paid"

    third = client.v1.invoices.finalize_invoice(draft_with(client, customer).id)
    client.v1.invoices.mark_uncollectible(third.id)
    assert client.v1.invoices.void_invoice(third.id).status == "void"


def test_drafts_cannot_be_voided_or_marked_uncollectible(client, customer):
    draft = draft_with(client, customer)
    refused(lambda: client.v1.invoices.void_invoice(draft.id), "draft")
    refused(lambda: client.v1.invoices.mark_uncollectible(draft.id), "draft")
    assert client.v1.invoices.retrieve(draft.id).status == "draft"


def test_deleting_a_draft_deletes_its_items(client, customer):
    draft = draft_with(client, customer)
    item_id = draft.lines.data[0].parent.invoice_item_details.invoice_item
    assert client.v1.invoices.delete(draft.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.retrieve(item_id)
    refused(lambda: client.v1.invoices.finalize_invoice(draft.id), "No such invoice", status=404)


def test_paid_and_void_invoices_cannot_be_deleted(client, customer):
    paid = client.v1.invoices.finalize_invoice(draft_with(client, customer, amount=0).id)
    refused(lambda: client.v1.invoices.delete(paid.id), "This invoice is paid")


def test_send_invoice(client, customer):
    draft = draft_with(client, customer, collection_method="send_invoice", days_until_due=30)
    sent = client.v1.invoices.send_invoice(draft.id)
    assert sent.status == "open"  # a draft is finalized first
    assert sent.due_date == sent.status_transitions.finalized_at + 30 * 86_400
    assert client.v1.invoices.send_invoice(draft.id).status == "open"
    automatic = draft_with(client, customer)
    refused(lambda: client.v1.invoices.send_invoice(automatic.id), "'send_invoice'")
    assert client.v1.invoices.retrieve(automatic.id).status == "draft"
    client.v1.invoices.pay(draft.id, params={"paid_out_of_band": True})
    refused(lambda: client.v1.invoices.send_invoice(draft.id), "paid")


def test_negative_items_lower_the_total(client, customer):
    invoice = draft_with(client, customer, 1000)
    client.v1.invoice_items.create(params={"customer": customer.id, "amount": -400,
                                           "currency": "usd", "invoice": invoice.id})
    current = client.v1.invoices.retrieve(invoice.id)
    assert (current.subtotal, current.total, current.amount_due) == (600, 600, 600)
