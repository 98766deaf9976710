"""The money math of invoices, through the real SDK: each rule Stripe documents, shown by a
worked example. Amounts are in the currency's smallest unit (cents; yen for JPY)."""

from __future__ import annotations

import pytest
import stripe


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": "math@example.com"})


def invoice_of(client, customer, amounts, *, currency="usd", items=None, **params):
    """A draft with one item per amount (``items`` gives each item's own parameters)."""
    invoice = client.v1.invoices.create(params={"customer": customer.id, "currency": currency,
                                                **params})
    for index, amount in enumerate(amounts):
        extra = (items or {}).get(index, {})
        client.v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id,
                                               "amount": amount, "currency": currency, **extra})
    return client.v1.invoices.retrieve(invoice.id)


def rate(client, percentage, inclusive=False, name="Tax"):
    return client.v1.tax_rates.create(params={"display_name": name, "percentage": percentage,
                                              "inclusive": inclusive}).id


def coupon(client, **params):
    return client.v1.coupons.create(params=params).id


def line_discounts(invoice):
    return [[d.amount for d in line.discount_amounts] for line in invoice.lines.data]


def line_taxes(invoice):
    return [[t.amount for t in line.taxes] for line in invoice.lines.data]


@pytest.mark.parametrize(("subtotal", "total"), [(100, 0), (300, 100)])
def test_amount_off_comes_off_the_subtotal_floored_at_zero(client, customer, subtotal, total):
    """Stripe's API reference (creating a coupon): "an invoice with a subtotal of 100 will have
    a final total of 0 if a coupon with an amount_off of 200 is applied to it and an invoice
    with a subtotal of 300 will have a final total of 100"."""
    off = coupon(client, amount_off=200, currency="usd")
    invoice = invoice_of(client, customer, [subtotal], discounts=[{"coupon": off}])
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (subtotal, total, total)
    assert [d.amount for d in invoice.total_discount_amounts] == [subtotal - total]
    assert invoice.total_discount_amounts[0].discount == invoice.discounts[0]


def test_percent_off_takes_its_share_of_the_subtotal(client, customer):
    """Stripe's API reference (a coupon's percent_off): "a coupon with percent_off of 50 will
    make a $100 invoice $50 instead"."""
    half = coupon(client, percent_off=50)
    invoice = invoice_of(client, customer, [10000], discounts=[{"coupon": half}])
    assert (invoice.subtotal, invoice.total, invoice.total_excluding_tax) == (
        10000, 5000, 5000)
    assert line_discounts(invoice) == [[5000]]


def test_discounts_come_before_tax(client, customer):
    """Discounts apply before tax (Stripe's tax rates guide: tax is computed on the discounted
    amount). $100.00 with 50% off and a 10% exclusive tax: tax is $5.00 on $50.00, so the
    total is $55.00."""
    half = coupon(client, percent_off=50)
    tax = rate(client, 10)
    invoice = invoice_of(client, customer, [10000], discounts=[{"coupon": half}],
                         default_tax_rates=[tax])
    assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (
        10000, 5000, 5500)
    (total_tax,) = invoice.total_taxes
    assert (total_tax.amount, total_tax.taxable_amount, total_tax.tax_behavior) == (
        500, 5000, "exclusive")
    assert (total_tax.tax_rate_details.tax_rate, total_tax.taxability_reason,
            total_tax.type) == (tax, "standard_rated", "tax_rate_details")
    assert line_taxes(invoice) == [[500]]


def test_an_amount_off_is_prorated_across_the_lines(client, customer):
    """An invoice-level amount_off is shared by the discountable lines in proportion to their
    amounts: $10.00 off lines of $30.00 and $10.00 is $7.50 and $2.50; with a 10% exclusive
    tax each line is taxed on what is left of it ($2.25 and $0.75)."""
    ten = coupon(client, amount_off=1000, currency="usd")
    tax = rate(client, 10)
    invoice = invoice_of(client, customer, [3000, 1000], discounts=[{"coupon": ten}],
                         default_tax_rates=[tax])
    assert line_discounts(invoice) == [[750], [250]]
    assert line_taxes(invoice) == [[225], [75]]
    assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (
        4000, 3000, 3300)


def test_an_uneven_amount_off_still_adds_up(client, customer):
    """$1.00 off three lines of $1.00 cannot be split evenly in cents: the shares are whole
    cents (34, 33, 33) that add up to exactly $1.00."""
    one = coupon(client, amount_off=100, currency="usd")
    invoice = invoice_of(client, customer, [100, 100, 100], discounts=[{"coupon": one}])
    shares = [amounts[0] for amounts in line_discounts(invoice)]
    assert sorted(shares) == [33, 33, 34] and sum(shares) == 100
    assert invoice.total == 200


def test_tax_is_rounded_per_line(client, customer):
    """Each line's tax is rounded on its own: three lines of $3.33 at 10% are taxed 33 cents
    each, 99 cents in all, where 10% of the $9.99 subtotal would round to $1.00."""
    tax = rate(client, 10)
    invoice = invoice_of(client, customer, [333, 333, 333], default_tax_rates=[tax])
    assert line_taxes(invoice) == [[33], [33], [33]]
    assert invoice.total_taxes[0].amount == 99
    assert invoice.total == 999 + 99


def test_inclusive_tax_is_taken_out_of_the_amount(client, customer):
    """An inclusive tax rate's tax is part of the amount (Stripe's tax rates guide: the total
    doesn't change): $10.00 with 10% included holds round(1000 / 1.10) = 909 cents of price
    and 91 cents of tax."""
    included = rate(client, 10, inclusive=True)
    invoice = invoice_of(client, customer, [1000], default_tax_rates=[included])
    assert (invoice.subtotal, invoice.total) == (1000, 1000)
    assert (invoice.subtotal_excluding_tax, invoice.total_excluding_tax) == (909, 909)
    (tax,) = invoice.total_taxes
    assert (tax.amount, tax.taxable_amount, tax.tax_behavior) == (91, 909, "inclusive")


def test_zero_decimal_currencies_count_whole_yen(client, customer):
    """JPY is zero-decimal (Stripe's currencies guide: amount=1000 is ¥1,000). ¥1,000 with
    ¥100 off and Japan's 8% reduced rate included: ¥900 holds round(900 / 1.08) = ¥833 of price
    and ¥67 of tax."""
    off = coupon(client, amount_off=100, currency="jpy")
    included = rate(client, 8, inclusive=True)
    invoice = invoice_of(client, customer, [1000], currency="jpy",
                         discounts=[{"coupon": off}], default_tax_rates=[included])
    assert (invoice.currency, invoice.subtotal, invoice.total) == ("jpy", 1000, 900)
    assert (invoice.total_taxes[0].amount, invoice.total_excluding_tax) == (67, 833)
    assert invoice.amount_due == 900


def test_item_discounts_come_before_invoice_discounts(client, customer):
    """Stripe's API reference (an invoice's discounts): "Line item discounts are applied
    before invoice discounts", and the subtotal already has item discounts in it. A $10.00
    item with $2.00 off itself and 10% off the invoice: $8.00, then 80 cents off, $7.20."""
    two = coupon(client, amount_off=200, currency="usd")
    tenth = coupon(client, percent_off=10)
    invoice = invoice_of(client, customer, [1000], discounts=[{"coupon": tenth}],
                         items={0: {"discounts": [{"coupon": two}]}})
    assert line_discounts(invoice) == [[200, 80]]
    assert (invoice.subtotal, invoice.total) == (800, 720)
    line = invoice.lines.data[0]
    assert (line.amount, line.subtotal) == (1000, 1000)
    assert len(line.discounts) == 1 and line.discounts[0] != invoice.discounts[0]
    item = client.v1.invoice_items.retrieve(line.parent.invoice_item_details.invoice_item)
    assert (item.amount, item.net_amount, item.discounts) == (1000, 800, line.discounts)


def test_item_tax_rates_override_the_invoice_defaults(client, customer):
    """Tax rates set on an item replace the invoice's default_tax_rates for that item (Stripe's
    invoice tax rates guide): $10.00 at the default 20% and $10.00 at its own 5%."""
    default = rate(client, 20, name="VAT")
    own = rate(client, 5, name="Reduced")
    invoice = invoice_of(client, customer, [1000, 1000], default_tax_rates=[default],
                         items={1: {"tax_rates": [own]}})
    assert line_taxes(invoice) == [[200], [50]]
    assert [t.tax_rate_details.tax_rate for t in invoice.total_taxes] == [default, own]
    assert invoice.total == 2250


def test_only_discountable_lines_of_the_coupons_products_are_discounted(client, customer):
    """A line with discountable false takes no discount, and a coupon that applies to some
    products discounts only their lines."""
    shirt = client.v1.products.create(params={"name": "Shirt"})
    price = client.v1.prices.create(params={"product": shirt.id, "currency": "usd",
                                            "unit_amount": 2000})
    shirts = coupon(client, percent_off=50, applies_to={"products": [shirt.id]})
    invoice = client.v1.invoices.create(params={"customer": customer.id,
                                                "discounts": [{"coupon": shirts}]})
    for params in ({"pricing": {"price": price.id}}, {"amount": 1000, "currency": "usd"},
                   {"pricing": {"price": price.id}, "discountable": False}):
        client.v1.invoice_items.create(params={"customer": customer.id,
                                               "invoice": invoice.id, **params})
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert line_discounts(invoice) == [[1000], [], []]
    assert invoice.total == 2000 + 1000 + 2000 - 1000


def test_the_discounted_total_is_what_is_paid(client, customer):
    """The charge made for an invoice is its amount_due, after discounts and taxes; an
    invoice discounted to nothing is paid as soon as it is finalized."""
    off = coupon(client, percent_off=25)
    tax = rate(client, 10)
    invoice = invoice_of(client, customer, [2000], discounts=[{"coupon": off}],
                         default_tax_rates=[tax])
    paid = client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_visa"})
    assert (paid.status, paid.amount_paid) == ("paid", 1650)
    free = coupon(client, percent_off=100)
    nothing = invoice_of(client, customer, [500], discounts=[{"coupon": free}])
    finalized = client.v1.invoices.finalize_invoice(nothing.id)
    assert (finalized.total, finalized.status) == (0, "paid")
