"""Subscriptions and test clocks in English: each command checked before anything runs and
the request it plans (from the declarations alone), then a trial converting on a test clock,
live against the sandbox."""

from __future__ import annotations

import pytest
from english_support import plan, run
from test_corpus import calls as corpus_calls

from kognitos_books import Runtime
from kognitos_books.language import LanguageError

GIVEN = ("customer", "price", "subscription", "subscription item", "test clock")


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> Runtime:
    return Runtime(home=tmp_path_factory.mktemp("subscriptions"))


VALID = [
    ("cancel the subscription", "cancel subscription id=<the subscription>"),
    ("pause the subscription", "pause subscription id=<the subscription>"),
    ("unpause the subscription", "unpause subscription id=<the subscription>"),
    ("resume the subscription", "resume subscription id=<the subscription>"),
    ("update the subscription with the cancel at period end is true",
     'update subscription id=<the subscription> {"cancel_at_period_end": true}'),
    ("create a subscription for the customer with the price is the price's id",
     'create subscription {"customer": "<the customer>", "price": "<the price\'s id>"}'),
    ('get all subscriptions for the customer whose status is "past_due"',
     "get subscription many where (status is 'past_due' and customer is '<the customer>')"),
    ("add a subscription item to the subscription with the price is the price's id",
     'add subscription_item to=<the subscription> {"price": "<the price\'s id>"}'),
    ("advance the test clock with the frozen time is 1798761600",
     'advance test_clock id=<the test clock> {"frozen_time": 1798761600}'),
]


@pytest.mark.parametrize("text,expected", VALID, ids=[t[:50] for t, _ in VALID])
def test_subscriptions_in_english(offline, text, expected):
    assert corpus_calls(offline, text, GIVEN) == [expected]


INVALID = [
    ("delete the subscription", "cancel the subscription"),
    ("create a subscription in stripe", 'missing required input "customer"'),
    ("create a subscription for the customer", 'missing required input "items"'),
    ('create a subscription for the customer with the price is "cus_1"',
     "cus_1 is a customer id, not a price id"),
    ("advance the test clock", 'missing required input "frozen_time"'),
    ("pause the customer", "Stripe Pay cannot pause a customer"),
]


@pytest.mark.parametrize("text,message", INVALID, ids=[t[:50] for t, _ in INVALID])
def test_mistakes_are_refused_before_anything_runs(offline, text, message):
    with pytest.raises(LanguageError) as info:
        offline.check(text, given=GIVEN)
    assert message in str(info.value)



def test_plans_follow_the_sdk_routes():
    assert plan("cancel", "subscription", id="sub_1") == [
        ("DELETE", "/v1/subscriptions/sub_1", {})]
    assert plan("pause", "subscription", id="sub_1") == [
        ("POST", "/v1/subscriptions/sub_1", {"pause_collection[behavior]": "keep_as_draft"})]
    assert plan("unpause", "subscription", id="sub_1") == [
        ("POST", "/v1/subscriptions/sub_1", {"pause_collection": ""})]
    assert plan("resume", "subscription", id="sub_1") == [
        ("POST", "/v1/subscriptions/sub_1/resume", {})]
    assert plan("create", "subscription", fields={"customer": "cus_1", "price": "price_1",
                                                  "quantity": 2}) == [
        ("POST", "/v1/subscriptions", {"customer": "cus_1", "items[0][price]": "price_1",
                                       "items[0][quantity]": 2})]
    assert plan("advance", "test clock", id="clock_1", fields={"frozen_time": 1}) == [
        ("POST", "/v1/test_helpers/test_clocks/clock_1/advance", {"frozen_time": 1})]



def test_a_trial_converts_on_a_test_clock(rt):
    results = run(rt, '''\
create a test clock in stripe with
  the frozen time is 1767225600
create a customer in stripe with
  the email is "trial@example.com"
  the test clock is the test clock's id
create a price in stripe with
  the currency is "usd"
  the unit amount is $30.00
  the recurring's interval is "month"
  the product data's name is "Pro"
create a subscription for the customer with
  the price is the price's id
  the trial period days is 14
  the default payment method is "pm_card_visa"
advance the test clock with the frozen time is 1768608000
get all subscriptions for the customer whose status is "active"
''')
    subscription, active = results[3], results[5]
    assert subscription["status"] == "trialing"
    assert [one["id"] for one in active] == [subscription["id"]]


def test_an_item_is_added_to_a_subscription(rt):
    results = run(rt, '''\
create a customer in stripe with
  the email is "seats@example.com"
create a price in stripe as the base price with
  the currency is "usd"
  the unit amount is 900
  the recurring's interval is "month"
  the product data's name is "Base"
create a price in stripe as the seat price with
  the currency is "usd"
  the unit amount is 100
  the recurring's interval is "month"
  the product data's name is "Seat"
create a subscription for the customer with
  the price is the base price's id
  the collection method is "send_invoice"
  the days until due is 30
add a subscription item to the subscription with
  the price is the seat price's id
  the quantity is 5
  the proration behavior is "none"
pause the subscription
cancel the subscription
''')
    subscription, item, paused, canceled = results[3], results[4], results[5], results[6]
    assert item["subscription"] == subscription["id"] and item["quantity"] == 5
    assert paused["pause_collection"]["behavior"] == "keep_as_draft"
    assert canceled["status"] == "canceled"
