"""Discounts and tax rates on subscriptions, through the real SDK on a test clock: every
invoice a subscription makes is priced like any invoice (discount before tax), and a
coupon's ``duration`` is honoured across renewals."""

from __future__ import annotations

import datetime

import pytest
import stripe
from test_sandbox_shapes import object_problems
from test_subscriptions import START


def ts(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime.datetime(year, month, day, hour, tzinfo=datetime.UTC).timestamp())


@pytest.fixture
def customer(client):
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})
    found = client.v1.customers.create(params={"email": "d@example.com",
                                                "test_clock": clock.id})
    method = client.v1.payment_methods.attach("pm_card_visa",
                                              params={"customer": found.id})
    client.v1.customers.update(found.id, params={
        "invoice_settings": {"default_payment_method": method.id}})
    found.clock = clock.id  # (the test's own note of its clock)
    return found


def advance(client, customer, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(customer.clock, params={"frozen_time": to})
    client.v1.test_helpers.test_clocks.retrieve(customer.clock)


def invoices_of(client, sub_id: str) -> list[stripe.Invoice]:
    found = client.v1.invoices.list(params={"subscription": sub_id, "limit": 100}).data
    return sorted(found, key=lambda invoice: (invoice.created, invoice.id))


def test_a_repeating_coupon_discounts_three_monthly_invoices_then_not_the_fourth(
        client, price, customer):
    coupon = client.v1.coupons.create(params={"percent_off": 25, "duration": "repeating",
                                              "duration_in_months": 3})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id}],
        "discounts": [{"coupon": coupon.id}], "expand": ["discounts"]})
    discount = sub.discounts[0]
    assert (discount.object, discount.subscription, discount.invoice) == (
        "discount", sub.id, None)
    assert discount.source.coupon == coupon.id
    assert (discount.start, discount.end) == (START, ts(2026, 4, 1))
    assert object_problems(sub.last_response.data) == []
    for month in (2, 3, 4):
        advance(client, customer, ts(2026, month, 1, 1))
    invoices = invoices_of(client, sub.id)
    assert [invoice.billing_reason for invoice in invoices] == [
        "subscription_create"] + ["subscription_cycle"] * 3
    assert [invoice.total for invoice in invoices] == [2250, 2250, 2250, 3000]
    assert [invoice.amount_paid for invoice in invoices] == [2250, 2250, 2250, 3000]
    for invoice in invoices[:3]:
        assert invoice.discounts == [discount.id]
        assert [(one.amount, one.discount) for one in invoice.total_discount_amounts] == [
            (750, discount.id)]
        assert [(one.amount, one.discount) for one in
                invoice.lines.data[0].discount_amounts] == [(750, discount.id)]
    assert invoices[3].discounts == [] and invoices[3].total_discount_amounts == []
    # The discount has ended: the subscription no longer carries it, and the coupon was
    # redeemed once, for the subscription, not once per invoice.
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1


def test_a_once_coupon_discounts_the_first_invoice_only(client, price, customer):
    coupon = client.v1.coupons.create(params={"amount_off": 1000, "currency": "usd",
                                              "duration": "once"})
    code = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon",
                                                                  "coupon": coupon.id}})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id}],
        "discounts": [{"promotion_code": code.id}]})
    first = client.v1.invoices.retrieve(sub.latest_invoice, params={"expand": ["discounts"]})
    assert (first.total, first.amount_paid) == (2000, 2000)
    discount = first.discounts[0]
    assert (discount.promotion_code, discount.subscription, discount.end) == (
        code.id, sub.id, None)
    # Used up by the first invoice, it leaves the subscription.
    assert sub.discounts == []
    advance(client, customer, ts(2026, 2, 1, 1))
    renewal = invoices_of(client, sub.id)[-1]
    assert (renewal.billing_reason, renewal.total, renewal.discounts) == (
        "subscription_cycle", 3000, [])
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1


def test_a_forever_coupon_discounts_every_renewal(client, price, customer):
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id}]})
    assert sub.discounts == []
    sub = client.v1.subscriptions.update(sub.id, params={"discounts": [{"coupon": coupon.id}]})
    assert len(sub.discounts) == 1
    for month in (2, 3, 4, 5, 6, 7):
        advance(client, customer, ts(2026, month, 1, 1))
    invoices = invoices_of(client, sub.id)
    assert [invoice.total for invoice in invoices] == [3000] + [2700] * 6
    assert client.v1.subscriptions.retrieve(sub.id).discounts == sub.discounts
    # Removing it deletes the discount; the next renewal is undiscounted.
    assert client.v1.subscriptions.update(sub.id, params={"discounts": ""}).discounts == []
    advance(client, customer, ts(2026, 8, 1, 1))
    assert invoices_of(client, sub.id)[-1].total == 3000


def test_an_exclusive_tax_rate_taxes_each_renewal(client, price, customer):
    rate = client.v1.tax_rates.create(params={"display_name": "VAT", "percentage": 20,
                                              "inclusive": False})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id, "quantity": 2}],
        "default_tax_rates": [rate.id]})
    assert [one.id for one in sub.default_tax_rates] == [rate.id]
    advance(client, customer, ts(2026, 2, 1, 1))
    advance(client, customer, ts(2026, 3, 1, 1))
    invoices = invoices_of(client, sub.id)
    assert len(invoices) == 3
    for invoice in invoices:
        assert [one.id for one in invoice.default_tax_rates] == [rate.id]
        assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (
            6000, 6000, 7200)
        assert [(tax.amount, tax.taxable_amount, tax.tax_behavior,
                 tax.tax_rate_details.tax_rate) for tax in invoice.total_taxes] == [
            (1200, 6000, "exclusive", rate.id)]
        assert [tax.amount for tax in invoice.lines.data[0].taxes] == [1200]
        assert invoice.amount_paid == 7200


def test_discount_comes_before_tax(client, price, customer):
    """Stripe's documented order: discounts first, then tax on what is left.

    One item of $30.00 a month, a 25% subscription coupon (forever), an item coupon of
    $2.00 off (forever), a 10% exclusive tax rate on the item:

    - the item's own discount first: 3000 - 200 = 2800 (the invoice's ``subtotal``: the
      lines less their own discounts);
    - then the subscription's 25% of what is left: 700, leaving 2100;
    - then 10% tax on 2100: 210 (not 10% of 3000 or of 2800);
    - total 2100 + 210 = 2310.
    """
    quarter = client.v1.coupons.create(params={"percent_off": 25, "duration": "forever"})
    two_off = client.v1.coupons.create(params={"amount_off": 200, "currency": "usd",
                                               "duration": "forever"})
    rate = client.v1.tax_rates.create(params={"display_name": "Sales tax", "percentage": 10,
                                              "inclusive": False})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id,
        "items": [{"price": price.id, "discounts": [{"coupon": two_off.id}],
                   "tax_rates": [rate.id]}],
        "discounts": [{"coupon": quarter.id}]})
    item = sub["items"].data[0]
    assert len(item.discounts) == 1 and [one.id for one in item.tax_rates] == [rate.id]
    assert object_problems(sub.last_response.data) == []
    expanded = client.v1.subscriptions.retrieve(sub.id, params={
        "expand": ["items.data.discounts"]})["items"].data[0].discounts[0]
    assert (expanded.subscription, expanded.subscription_item, expanded.source.coupon) == (
        sub.id, item.id, two_off.id)
    advance(client, customer, ts(2026, 2, 1, 1))
    invoices = invoices_of(client, sub.id)
    for invoice in invoices:
        line = invoice.lines.data[0]
        assert line.amount == 3000 and line.discounts == item.discounts
        assert sorted(one.amount for one in line.discount_amounts) == [200, 700]
        assert [(tax.amount, tax.taxable_amount) for tax in line.taxes] == [(210, 2100)]
        assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (
            2800, 2100, 2310)
        assert invoice.amount_paid == 2310


def test_proration_invoices_are_priced_with_the_subscriptions_discounts(
        client, price, customer):
    coupon = client.v1.coupons.create(params={"percent_off": 50, "duration": "forever"})
    rate = client.v1.tax_rates.create(params={"display_name": "VAT", "percentage": 20,
                                              "inclusive": False})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id}],
        "discounts": [{"coupon": coupon.id}], "default_tax_rates": [rate.id]})
    advance(client, customer, ts(2026, 1, 16, 12))  # half of January's 31 days left
    item = sub["items"].data[0]
    sub = client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item.id, "quantity": 3}], "proration_behavior": "always_invoice",
        "proration_date": ts(2026, 1, 16, 12)})
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.billing_reason == "subscription_update"
    amounts = sorted(line.amount for line in invoice.lines.data)
    assert amounts == [-1500, 4500]  # (a credit for one, a charge for three)
    assert invoice.subtotal == 3000
    assert [one.amount for one in invoice.total_discount_amounts] == [1500]
    assert [tax.amount for tax in invoice.total_taxes] == [300]
    assert invoice.total == 1800 and invoice.amount_paid == 1800


def test_a_subscription_refuses_what_an_invoice_refuses(client, price, customer):
    euros = client.v1.coupons.create(params={"amount_off": 500, "currency": "eur"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create(params={
            "customer": customer.id, "items": [{"price": price.id}],
            "discounts": [{"coupon": euros.id}]})
    assert refused.value.param == "discounts[0][coupon]"
    archived = client.v1.tax_rates.create(params={"display_name": "Old", "percentage": 5,
                                                  "inclusive": False})
    client.v1.tax_rates.update(archived.id, params={"active": False})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create(params={
            "customer": customer.id, "items": [{"price": price.id,
                                                "tax_rates": [archived.id]}]})
    assert refused.value.param == "items[0][tax_rates][0]"
    # Nothing was kept of the refused requests.
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []
    assert client.v1.coupons.retrieve(euros.id).times_redeemed == 0


def test_a_trials_zero_invoice_does_not_use_up_a_once_coupon(client, price, customer):
    coupon = client.v1.coupons.create(params={"percent_off": 50, "duration": "once"})
    sub = client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 14,
        "discounts": [{"coupon": coupon.id}]})
    assert sub.status == "trialing" and len(sub.discounts) == 1
    assert client.v1.invoices.retrieve(sub.latest_invoice).total == 0
    advance(client, customer, ts(2026, 1, 15, 1))
    advance(client, customer, ts(2026, 2, 15, 1))
    invoices = invoices_of(client, sub.id)
    assert [invoice.total for invoice in invoices] == [0, 1500, 3000]
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
