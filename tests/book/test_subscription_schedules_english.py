"""Subscription schedules in English: each command checked before anything runs and the
request it plans (from the declarations alone), then a schedule moving through its phase on a
test clock and one released, live against the sandbox."""

from __future__ import annotations

import pytest
from english_support import plan, run
from test_corpus import calls as corpus_calls

from kognitos_books import Runtime
from kognitos_books.language import LanguageError

GIVEN = ("customer", "price", "subscription", "subscription schedule")


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> Runtime:
    return Runtime(home=tmp_path_factory.mktemp("schedules"))


VALID = [
    ("release the subscription schedule",
     "release subscription_schedule id=<the subscription schedule>"),
    ("cancel the subscription schedule",
     "cancel subscription_schedule id=<the subscription schedule>"),
    ('create a subscription schedule for the customer with the price is the price\'s id and '
     'the quantity is 2 and the duration\'s interval is "month" and the start date is "now"',
     'create subscription_schedule {"customer": "<the customer>", "duration": {"interval": '
     '"month"}, "price": "<the price\'s id>", "quantity": 2, "start_date": "now"}'),
    ("create a subscription schedule in stripe with the from subscription is the "
     "subscription's id",
     'create subscription_schedule {"from_subscription": "<the subscription\'s id>"}'),
    ('update the subscription schedule with the end behavior is "cancel"',
     'update subscription_schedule id=<the subscription schedule> {"end_behavior": '
     '"cancel"}'),
    ("get all subscription schedules for the customer whose scheduled is true",
     "get subscription_schedule many where (scheduled is True and customer is "
     "'<the customer>')"),
]


@pytest.mark.parametrize("text,expected", VALID, ids=[t[:50] for t, _ in VALID])
def test_subscription_schedules_in_english(offline, text, expected):
    assert corpus_calls(offline, text, GIVEN) == [expected]


INVALID = [
    ("create a subscription schedule in stripe", 'missing required input "customer"'),
    ("create a subscription schedule for the customer", 'missing required input "price"'),
    ('create a subscription schedule for the customer with the price is "cus_1"',
     "cus_1 is a customer id, not a price id"),
    ("delete the subscription schedule", "Stripe Pay cannot delete a subscription schedule"),
    ('create a subscription schedule for the customer with the price is the price\'s id and '
     'the end behavior is "sometimes"', "end_behavior"),
    ("release the customer", "Stripe Pay cannot release a customer"),
]


@pytest.mark.parametrize("text,message", INVALID, ids=[t[:50] for t, _ in INVALID])
def test_mistakes_are_refused_before_anything_runs(offline, text, message):
    with pytest.raises(LanguageError) as info:
        offline.check(text, given=GIVEN)
    assert message in str(info.value)



def test_plans_follow_the_sdk_routes():
    assert plan("release", "subscription schedule", id="sub_sched_1") == [
        ("POST", "/v1/subscription_schedules/sub_sched_1/release", {})]
    assert plan("cancel", "subscription schedule", id="sub_sched_1") == [
        ("POST", "/v1/subscription_schedules/sub_sched_1/cancel", {})]
    # The shorthand: one phase of one item.
    assert plan("create", "subscription schedule", fields={
        "customer": "cus_1", "price": "price_1", "quantity": 2,
        "duration": {"interval": "month"}, "start_date": "now"}) == [
        ("POST", "/v1/subscription_schedules", {
            "customer": "cus_1", "start_date": "now", "phases[0][duration][interval]": "month",
            "phases[0][items][0][price]": "price_1", "phases[0][items][0][quantity]": 2})]
    # Phases given whole, from Python.
    assert plan("create", "subscription schedule", fields={
        "customer": "cus_1", "phases": [{"items": [{"price": "price_1"}], "end_date": 5},
                                        {"items": [{"price": "price_2"}]}]}) == [
        ("POST", "/v1/subscription_schedules", {
            "customer": "cus_1", "phases[0][items][0][price]": "price_1",
            "phases[0][end_date]": 5, "phases[1][items][0][price]": "price_2"})]



SETUP = '''\
create a test clock in stripe with
  the frozen time is 1767225600
create a customer in stripe with
  the email is "steps@example.com"
  the test clock is the test clock's id
create a price in stripe with
  the currency is "usd"
  the unit amount is $10.00
  the recurring's interval is "month"
  the product data's name is "Starter"
'''


def test_a_schedule_completes_on_a_test_clock_and_cancels_its_subscription(rt):
    results = run(rt, SETUP + '''\
create a subscription schedule for the customer with
  the price is the price's id
  the quantity is 2
  the duration's interval is "month"
  the duration's interval count is 2
  the start date is "now"
  the end behavior is "cancel"
  the default settings's default payment method is "pm_card_visa"
advance the test clock with the frozen time is 1772500000
get a subscription schedule from stripe whose id is the subscription schedule's id
get all subscriptions for the customer whose status is "canceled"
''')
    schedule, completed, canceled = results[3], results[5], results[6]
    assert schedule["status"] == "active" and schedule["subscription"]
    assert completed["status"] == "completed"
    assert [one["id"] for one in canceled] == [schedule["subscription"]]


def test_a_released_schedule_keeps_its_subscription(rt):
    results = run(rt, SETUP + '''\
create a subscription schedule for the customer with
  the price is the price's id
  the duration's interval is "month"
  the start date is "now"
  the default settings's collection method is "send_invoice"
release the subscription schedule
get all subscriptions for the customer whose status is "active"
''')
    schedule, released, active = results[3], results[4], results[5]
    assert released["status"] == "released"
    assert released["released_subscription"] == schedule["subscription"]
    assert [one["id"] for one in active] == [schedule["subscription"]]


def test_several_phases_are_given_from_python(rt):
    customer = rt.call("create a customer in stripe", email="phases@example.com")
    basic, pro = (rt.call("create a price in stripe", currency="usd", unit_amount=amount,
                          recurring={"interval": "month"}, product_data={"name": name})
                  for amount, name in ((1000, "Basic"), (3000, "Pro")))
    schedule = rt.call("create a subscription schedule in stripe", customer=customer["id"],
                       start_date="now", phases=[
                           {"items": [{"price": basic["id"]}],
                            "duration": {"interval": "month"}},
                           {"items": [{"price": pro["id"], "quantity": 2}]}])
    assert [[item["price"] for item in phase["items"]] for phase in schedule["phases"]] == [
        [basic["id"]], [pro["id"]]]
    assert schedule["phases"][1]["items"][0]["quantity"] == 2
    assert schedule["phases"][0]["end_date"] == schedule["phases"][1]["start_date"]
