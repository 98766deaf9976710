"""Automation values as Stripe parameters."""

import datetime
import decimal

from stripe_pay.values import form, nest, timestamp, to_stripe

from kognitos_books import Record


def test_dotted_keys_nest_and_merge():
    assert nest({"metadata.plan": "gold", "metadata": {"tier": "1"}, "name": "Jo"}) == {
        "metadata": {"plan": "gold", "tier": "1"}, "name": "Jo"}
    assert nest({"address.city": "Paris", "address.country": "FR"}) == {
        "address": {"city": "Paris", "country": "FR"}}


def test_values():
    assert timestamp(datetime.date(2025, 1, 31)) == 1738281600
    assert to_stripe(datetime.datetime(2025, 1, 31, 14, 0)) == 1738281600 + 14 * 3600
    assert to_stripe(decimal.Decimal("12.50")) == "12.50"
    assert to_stripe(decimal.Decimal("15")) == 15
    customer = Record(book="stripe_pay", noun="customer", id="cus_1", data={})
    assert to_stripe({"customer": customer, "items": [customer]}) == {
        "customer": "cus_1", "items": ["cus_1"]}


def test_form_is_what_travels():
    assert form({"metadata": {"plan": "gold"}, "expand": ["customer"], "active": False,
                 "skip": None}) == {"metadata[plan]": "gold", "expand[0]": "customer",
                                    "active": "false"}
