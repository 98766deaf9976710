"""Coupons, promotion codes, tax rates and discounts in English: each command checked
before anything runs, the request it plans, and a run against the sandbox."""

from __future__ import annotations

import pytest
from english_support import plan
from test_corpus import calls as corpus_calls

from kognitos_books import Runtime
from kognitos_books.language import LanguageError

GIVEN = ("customer", "invoice", "coupon", "promotion code", "tax rate")


@pytest.fixture(scope="module")
def rt(tmp_path_factory) -> Runtime:
    return Runtime(home=tmp_path_factory.mktemp("discounts"))


VALID = [
    ('create a coupon in stripe with the percent off is 25 and the duration is "forever"',
     'create coupon {"duration": "forever", "percent_off": 25}'),
    ('create a coupon in stripe with the id is "SUMMER25" and the percent off is 25',
     'create coupon {"id": "SUMMER25", "percent_off": 25}'),
    ('create a coupon in stripe with the amount off is $5.00 and the duration is "repeating" '
     "and the duration in months is 3",
     'create coupon {"amount_off": 500, "currency": "usd", "duration": "repeating", '
     '"duration_in_months": 3}'),
    ('create a promotion code in stripe with the code is "SUMMER" and the promotion\'s type is '
     '"coupon" and the promotion\'s coupon is the coupon',
     'create promotion_code {"code": "SUMMER", "promotion": {"coupon": "<the coupon>", '
     '"type": "coupon"}}'),
    ('create a tax rate in stripe with the display name is "VAT" and the percentage is 20 '
     "and the inclusive is false",
     'create tax_rate {"display_name": "VAT", "inclusive": false, "percentage": 20}'),
    ("create an invoice for the customer with the discounts is the promotion code",
     'create invoice {"customer": "<the customer>", "discounts": ["<the promotion code>"]}'),
    ('update the invoice with the discounts is "SUMMER25" and the default tax rates is the '
     "tax rate",
     'update invoice id=<the invoice> {"default_tax_rates": ["<the tax rate>"], '
     '"discounts": ["SUMMER25"]}'),
    ("add an item to the invoice with the amount is $5.00 and the tax rates is the tax rate",
     'add invoice_item to=<the invoice> {"amount": 500, "currency": "usd", '
     '"tax_rates": ["<the tax rate>"]}'),
    ("update the promotion code with the active is false",
     'update promotion_code id=<the promotion code> {"active": false}'),
    ('get all promotion codes whose code is "SUMMER"',
     "get promotion_code many where code is 'SUMMER'"),
    ("delete the coupon", "delete coupon id=<the coupon>"),
]


@pytest.mark.parametrize("text,expected", VALID, ids=[t[:50] for t, _ in VALID])
def test_discounts_in_english(rt, text, expected):
    assert corpus_calls(rt, text, GIVEN) == [expected]


INVALID = [
    ('update the invoice with the discounts is "cus_1"',
     "cus_1 is a customer id; the discounts of an invoice are each a coupon, promotion code "
     "or discount id"),
    ('get a promotion code from stripe with the id is "txr_1"',
     "txr_1 is a tax rate id, not a promotion code id"),
    ("delete the promotion code", "a promotion code cannot be deleted"),
    ("delete the tax rate", "a tax rate cannot be deleted"),
    ('create a tax rate in stripe with the display name is "VAT"', "missing required input"),
]


@pytest.mark.parametrize("text,message", INVALID, ids=[t[:50] for t, _ in INVALID])
def test_mistakes_are_refused_before_anything_runs(rt, text, message):
    with pytest.raises(LanguageError) as info:
        rt.check(text, given=GIVEN)
    assert message in str(info.value)



def test_each_discount_id_becomes_the_object_stripe_takes():
    """A coupon's id (of any form), a promotion code's (promo_) or a discount's (di_)."""
    assert plan("update", "invoice", id="in_1",
                fields={"discounts": ["SUMMER25", "promo_1", "di_1"]}) == [
        ("POST", "/v1/invoices/in_1", {"discounts[0][coupon]": "SUMMER25",
                                       "discounts[1][promotion_code]": "promo_1",
                                       "discounts[2][discount]": "di_1"})]
    assert plan("update", "invoice", id="in_1", fields={"discounts": [""]}) == [
        ("POST", "/v1/invoices/in_1", {"discounts": ""})]
    assert plan("create", "coupon", fields={"id": "SUMMER25", "percent_off": 25}) == [
        ("POST", "/v1/coupons", {"id": "SUMMER25", "percent_off": 25})]


CAMPAIGN = '''\
create a coupon in stripe with the id is "SUMMER25" and the percent off is 25
create a promotion code in stripe with
  the code is "SUMMER"
  the promotion's type is "coupon"
  the promotion's coupon is the coupon
create a tax rate in stripe with
  the display name is "VAT"
  the percentage is 20
  the inclusive is false
create a customer in stripe with the email is "sun@example.com"
create an invoice for the customer with
  the discounts is the promotion code
  the default tax rates is the tax rate
add an item to the invoice with the amount is $40.00
get the invoice
show the invoice's total
'''


def test_a_discounted_taxed_invoice_is_made_in_english(connected):
    """$40.00 with 25% off is $30.00; 20% tax on it is $6.00: $36.00 in all."""
    result = connected.run(CAMPAIGN)
    assert result.ok, [s.error for s in result.failures]
    (invoice,) = list(connected.call("get all invoices from stripe"))
    assert (invoice["subtotal"], invoice["total_excluding_tax"], invoice["total"]) == (
        4000, 3000, 3600)
    assert [t["amount"] for t in invoice["total_taxes"]] == [600]
    coupon = connected.call("get a coupon from stripe", id="SUMMER25")
    (code,) = list(connected.call("get all promotion codes from stripe"))
    assert (coupon["times_redeemed"], code["times_redeemed"]) == (1, 1)
    assert [s.result for s in result.steps if s.kind == "show"][-1] in (3600, "3600")


def test_the_manuals_discount_commands_check(rt):
    """The commands docs/STRIPE_PAY.md shows for coupons, promotion codes and tax rates."""
    from pathlib import Path

    manual = (Path(__file__).resolve().parents[2] / "docs" / "STRIPE_PAY.md").read_text()
    section = manual.split("### Coupons, promotion codes and tax rates", 1)[1]
    block = section.split("```", 2)[1]
    steps = rt.check(block.strip("\n") + "\n", given=("customer",))
    assert [(s.verb, s.noun) for s in steps] == [
        ("create", "coupon"), ("create", "coupon"), ("create", "promotion code"),
        ("create", "tax rate"), ("create", "invoice"), ("add", "invoice item"),
        ("update", "invoice")]
