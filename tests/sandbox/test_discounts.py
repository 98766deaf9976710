"""Coupons, promotion codes and discounts through the real SDK: what Stripe accepts, what it
refuses, and how redemptions are counted against their limits."""

from __future__ import annotations

import time

import pytest
import stripe
from sandbox_http import raw_request, refused


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": "deals@example.com"})


def draft(client: stripe.StripeClient, customer: stripe.Customer, amount: int = 1000,
          currency: str = "usd", **params) -> stripe.Invoice:
    invoice = client.v1.invoices.create(params={"customer": customer.id, "currency": currency,
                                                **params})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id,
                                           "amount": amount, "currency": currency})
    return client.v1.invoices.retrieve(invoice.id)


def test_a_coupon_takes_a_chosen_id_or_gets_one(client):
    chosen = client.v1.coupons.create(params={"id": "SUMMER25", "percent_off": 25,
                                              "duration": "forever", "name": "Summer"})
    assert (chosen.id, chosen.percent_off, chosen.amount_off) == ("SUMMER25", 25, None)
    assert (chosen.duration, chosen.valid, chosen.times_redeemed) == ("forever", True, 0)
    made = client.v1.coupons.create(params={"amount_off": 500, "currency": "USD"})
    assert len(made.id) == 8 and made.id.isalnum()
    assert (made.amount_off, made.currency, made.duration) == (500, "usd", "once")
    assert client.v1.coupons.retrieve("SUMMER25").name == "Summer"
    assert [c.id for c in client.v1.coupons.list()] == [made.id, "SUMMER25"]
    refused(lambda: client.v1.coupons.create(params={"id": "SUMMER25", "percent_off": 5}),
            "already exists", code="resource_already_exists", param="id")


@pytest.mark.parametrize(("params", "fragment", "param"), [
    ({"percent_off": 10, "amount_off": 100, "currency": "usd"}, "only specify one",
     "percent_off"),
    ({}, "percent_off or amount_off", "percent_off"),
    ({"amount_off": 100}, "currency", "currency"),
    ({"percent_off": 0}, "greater than 0", "percent_off"),
    ({"percent_off": 100.5}, "at most 100", "percent_off"),
    ({"percent_off": 10, "duration": "repeating"}, "duration_in_months",
     "duration_in_months"),
    ({"percent_off": 10, "duration": "once", "duration_in_months": 3}, "repeating",
     "duration_in_months"),
    ({"percent_off": 10, "redeem_by": 1_000_000_000}, "in the future", "redeem_by"),
    ({"percent_off": 10, "max_redemptions": 0}, "at least 1", "max_redemptions"),
    ({"percent_off": 10, "applies_to": {"products": ["prod_missing"]}}, "No such product",
     "applies_to[products][0]"),
])
def test_impossible_coupons_are_refused(client, params, fragment, param):
    refused(lambda: client.v1.coupons.create(params=params), fragment, param=param)
    assert list(client.v1.coupons.list()) == []


def test_a_coupon_changes_only_its_name_and_metadata_and_deletes(client, sandbox):
    client.v1.coupons.create(params={"id": "TEN", "percent_off": 10})
    updated = client.v1.coupons.update("TEN", params={"name": "Ten", "metadata": {"a": "1"}})
    assert (updated.name, updated.metadata.to_dict(), updated.percent_off) == (
        "Ten", {"a": "1"}, 10)
    status, _, body = raw_request(sandbox, "POST", "/v1/coupons/TEN", body="percent_off=50")
    assert status == 400 and body["error"]["param"] == "percent_off"
    assert client.v1.coupons.retrieve("TEN").percent_off == 10
    deleted = client.v1.coupons.delete("TEN")
    assert (deleted.id, deleted.deleted) == ("TEN", True)
    refused(lambda: client.v1.coupons.retrieve("TEN"), "No such coupon", status=404)


def test_applies_to_is_returned_when_expanded(client):
    product = client.v1.products.create(params={"name": "Shirt"})
    client.v1.coupons.create(params={"id": "SHIRTS", "percent_off": 10,
                                     "applies_to": {"products": [product.id]}})
    plain = client.v1.coupons.retrieve("SHIRTS")
    assert "applies_to" not in plain.to_dict()
    expanded = client.v1.coupons.retrieve("SHIRTS", params={"expand": ["applies_to"]})
    assert expanded.applies_to.products == [product.id]


def test_a_promotion_code_wraps_a_coupon(client, customer):
    client.v1.coupons.create(params={"id": "SPRING", "percent_off": 20})
    code = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "SPRING"}, "code": "SPRING-20",
        "restrictions": {"first_time_transaction": True}})
    assert code.id.startswith("promo_")
    assert (code.code, code.promotion.coupon, code.promotion.type) == (
        "SPRING-20", "SPRING", "coupon")
    assert (code.active, code.times_redeemed, code.customer) == (True, 0, None)
    assert code.restrictions.first_time_transaction is True
    assert code.restrictions.minimum_amount is None
    expanded = client.v1.promotion_codes.retrieve(code.id,
                                                  params={"expand": ["promotion.coupon"]})
    assert expanded.promotion.coupon.percent_off == 20
    assert [c.id for c in client.v1.promotion_codes.list(params={"code": "SPRING-20"})] == [
        code.id]
    assert list(client.v1.promotion_codes.list(params={"coupon": "OTHER"})) == []


def test_an_active_code_is_unique_regardless_of_case(client):
    client.v1.coupons.create(params={"id": "C", "percent_off": 5})
    first = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "C"}, "code": "WELCOME"})
    refused(lambda: client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "C"}, "code": "welcome"}),
        "already exists", code="resource_already_exists", param="code")
    client.v1.promotion_codes.update(first.id, params={"active": False})
    again = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "C"}, "code": "welcome"})
    assert again.active is True
    refused(lambda: client.v1.promotion_codes.update(first.id, params={"active": True}),
            "already exists", param="code")


@pytest.mark.parametrize(("params", "fragment", "param"), [
    ({"code": "NO SPACES"}, "Invalid code", "code"),
    ({"expires_at": 1_000_000_000}, "in the future", "expires_at"),
    ({"max_redemptions": 9}, "more than the coupon's", "max_redemptions"),
    ({"restrictions": {"minimum_amount": 100}}, "minimum_amount_currency",
     "restrictions[minimum_amount_currency]"),
    ({"customer": "cus_missing"}, "No such customer", "customer"),
])
def test_impossible_promotion_codes_are_refused(client, params, fragment, param):
    client.v1.coupons.create(params={"id": "FEW", "percent_off": 5, "max_redemptions": 3})
    refused(lambda: client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "FEW"}, **params}), fragment, param=param)


def test_redeeming_counts_and_max_redemptions_ends_the_coupon(client, customer):
    client.v1.coupons.create(params={"id": "TWICE", "percent_off": 10, "max_redemptions": 2})
    code = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "TWICE"}, "code": "TWICE"})
    first = draft(client, customer, discounts=[{"coupon": "TWICE"}])
    second = draft(client, customer, discounts=[{"promotion_code": code.id}])
    assert first.discounts[0].startswith("di_") and first.discounts != second.discounts
    coupon = client.v1.coupons.retrieve("TWICE")
    assert (coupon.times_redeemed, coupon.valid) == (2, False)
    code = client.v1.promotion_codes.retrieve(code.id)
    assert (code.times_redeemed, code.active) == (1, False)
    refused(lambda: draft(client, customer, discounts=[{"coupon": "TWICE"}]),
            "no longer valid", param="discounts[0][coupon]")


def test_promotion_code_restrictions_are_kept(client, customer):
    other = client.v1.customers.create()
    client.v1.coupons.create(params={"id": "VIP", "amount_off": 300, "currency": "usd"})
    mine = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "VIP"}, "code": "MINE",
        "customer": customer.id, "max_redemptions": 1})
    big = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "VIP"}, "code": "BIG",
        "restrictions": {"minimum_amount": 5000, "minimum_amount_currency": "usd"}})
    invoice = draft(client, other)
    refused(lambda: client.v1.invoices.update(invoice.id, params={
        "discounts": [{"promotion_code": mine.id}]}), "only be redeemed by customer",
        param="discounts[0][promotion_code]")
    refused(lambda: client.v1.invoices.update(invoice.id, params={
        "discounts": [{"promotion_code": big.id}]}), "at least 5000 usd")
    client.v1.invoice_items.create(params={"customer": other.id, "invoice": invoice.id,
                                           "amount": 4000, "currency": "usd"})
    applied = client.v1.invoices.update(invoice.id, params={
        "discounts": [{"promotion_code": big.id}]})
    assert applied.total == 5000 - 300
    mine_once = draft(client, customer, discounts=[{"promotion_code": mine.id}])
    assert mine_once.total == 700
    refused(lambda: draft(client, customer, discounts=[{"promotion_code": mine.id}]),
            "maximum number of times")


def test_an_inactive_code_is_refused(client, customer):
    client.v1.coupons.create(params={"id": "SOON", "percent_off": 5})
    code = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "SOON"},
        "expires_at": int(time.time()) + 3600})
    client.v1.promotion_codes.update(code.id, params={"active": False})
    refused(lambda: draft(client, customer, discounts=[{"promotion_code": code.id}]),
            "inactive")


def test_an_amount_off_coupon_applies_only_in_its_currency(client, customer):
    client.v1.coupons.create(params={"id": "FIVE", "amount_off": 500, "currency": "usd"})
    refused(lambda: draft(client, customer, currency="eur", discounts=[{"coupon": "FIVE"}]),
            "only in its own currency", param="discounts[0][coupon]")


def test_discounts_are_expandable_and_replaced(client, customer):
    client.v1.coupons.create(params={"id": "A", "percent_off": 10})
    client.v1.coupons.create(params={"id": "B", "percent_off": 20})
    invoice = draft(client, customer, discounts=[{"coupon": "A"}])
    expanded = client.v1.invoices.retrieve(invoice.id, params={"expand": ["discounts"]})
    discount = expanded.discounts[0]
    assert isinstance(discount, stripe.Discount)
    assert (discount.source.coupon, discount.source.type) == ("A", "coupon")
    assert (discount.invoice, discount.customer, discount.promotion_code) == (
        invoice.id, customer.id, None)
    kept = client.v1.invoices.update(invoice.id, params={
        "discounts": [{"discount": discount.id}, {"coupon": "B"}]})
    assert kept.discounts[0] == discount.id and len(kept.discounts) == 2
    cleared = client.v1.invoices.update(invoice.id, params={"discounts": ""})
    assert cleared.discounts == [] and cleared.total == 1000
    refused(lambda: client.v1.invoices.update(invoice.id, params={
        "discounts": [{"discount": discount.id}]}), "No such discount")


def test_a_customer_has_no_discount_to_remove(client, customer):
    """Customers take no coupon in this API version, so DELETE .../discount finds none."""
    assert client.v1.customers.retrieve(customer.id).discount is None
    refused(lambda: client.v1.customers.delete_discount(customer.id),
            "No active discount for customer", status=404, code="resource_missing")


def test_a_deleted_coupon_ends_its_codes_but_keeps_its_discounts(client, customer):
    client.v1.coupons.create(params={"id": "GONE", "percent_off": 50})
    code = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": "GONE"}})
    invoice = draft(client, customer, discounts=[{"coupon": "GONE"}])
    client.v1.coupons.delete("GONE")
    assert client.v1.promotion_codes.retrieve(code.id).active is False
    assert client.v1.invoices.retrieve(invoice.id).total == 500


def test_expanding_the_discount_amounts_leaves_the_next_answer_as_ids(client, customer):
    """The amounts an invoice shows are kept between renderings; an expansion must not
    change what the next request sees."""
    client.v1.coupons.create(params={"id": "KEPT", "percent_off": 10})
    invoice = draft(client, customer, discounts=[{"coupon": "KEPT"}])
    expanded = client.v1.invoices.retrieve(invoice.id, params={
        "expand": ["total_discount_amounts.discount", "lines.data.discount_amounts.discount"]})
    assert isinstance(expanded.total_discount_amounts[0].discount, stripe.Discount)
    assert isinstance(expanded.lines.data[0].discount_amounts[0].discount, stripe.Discount)
    again = client.v1.invoices.retrieve(invoice.id)
    assert again.total_discount_amounts[0].discount == invoice.discounts[0]
    assert again.lines.data[0].discount_amounts[0].discount == invoice.discounts[0]
