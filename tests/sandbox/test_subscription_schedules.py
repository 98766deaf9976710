"""Subscription schedules through the real SDK: phases that start a subscription and change
its items as a test clock (or the sandbox's clock) passes their ends, the end behaviours,
taking over a subscription, updates, lists, cancel and release."""

from __future__ import annotations

import datetime

import pytest
import stripe
from sandbox_http import make_client
from stripe_pay.sandbox import SandboxServer

DAY = 86_400
#: 2026-01-01 00:00 UTC, where the test clocks start.
START = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp())


def ts(year: int, month: int, day: int) -> int:
    return int(datetime.datetime(year, month, day, tzinfo=datetime.UTC).timestamp())


def monthly(client: stripe.StripeClient, amount: int, name: str):
    return client.v1.prices.create(params={
        "currency": "usd", "unit_amount": amount, "recurring": {"interval": "month"},
        "product_data": {"name": name}})


@pytest.fixture
def basic(client):
    return monthly(client, 1000, "Basic")


@pytest.fixture
def pro(client):
    return monthly(client, 3000, "Pro")


@pytest.fixture
def clock(client):
    return client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})


def paying_customer(client, clock=None):
    params = {"email": "plan@example.com"}
    if clock is not None:
        params["test_clock"] = clock.id
    customer = client.v1.customers.create(params=params)
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": method.id}})
    return customer


def advance(client, clock, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": to})
    client.v1.test_helpers.test_clocks.retrieve(clock.id)


def invoices_of(client, sub_id: str):
    return list(reversed(client.v1.invoices.list(params={"subscription": sub_id}).data))


def two_phases(customer, basic, pro, **params):
    return {"customer": customer.id, "start_date": "now", "phases": [
        {"items": [{"price": basic.id, "quantity": 1}],
         "duration": {"interval": "month", "interval_count": 1}},
        {"items": [{"price": pro.id, "quantity": 2}],
         "duration": {"interval": "month", "interval_count": 1}}], **params}


def test_a_schedule_on_a_test_clock_moves_through_two_phases(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    assert schedule.id.startswith("sub_sched_") and schedule.status == "active"
    assert [(p.start_date, p.end_date) for p in schedule.phases] == [
        (START, ts(2026, 2, 1)), (ts(2026, 2, 1), ts(2026, 3, 1))]
    assert schedule.current_phase.start_date == START
    assert schedule.end_behavior == "release" and schedule.test_clock == clock.id
    sub = client.v1.subscriptions.retrieve(schedule.subscription)
    assert sub.status == "active" and sub.schedule == schedule.id
    assert [(i.price.id, i.quantity) for i in sub["items"].data] == [(basic.id, 1)]
    first = invoices_of(client, sub.id)
    assert [(i.billing_reason, i.amount_paid) for i in first] == [("subscription_create", 1000)]

    advance(client, clock, ts(2026, 2, 1) + 3600)
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "active"
    assert schedule.current_phase.start_date == ts(2026, 2, 1)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert [(i.price.id, i.quantity) for i in sub["items"].data] == [(pro.id, 2)]
    renewal = invoices_of(client, sub.id)[-1]
    # The phase changes at the period's end, so the renewal bills the new items, unprorated.
    assert (renewal.billing_reason, renewal.amount_paid) == ("subscription_cycle", 6000)
    assert [line.pricing.price_details.price for line in renewal.lines.data] == [pro.id]

    advance(client, clock, ts(2026, 3, 1) + 3600)
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "completed" and schedule.completed_at == ts(2026, 3, 1)
    assert schedule.current_phase is None
    sub = client.v1.subscriptions.retrieve(sub.id)
    # end_behavior release: the subscription carries on, no longer scheduled.
    assert sub.status == "active" and sub.schedule is None
    assert [i.amount_paid for i in invoices_of(client, sub.id)] == [1000, 6000, 6000]


def test_a_schedule_ending_with_cancel_cancels_its_subscription(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params=two_phases(
        customer, basic, pro, end_behavior="cancel"))
    advance(client, clock, ts(2026, 3, 2))
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "completed"
    sub = client.v1.subscriptions.retrieve(schedule.subscription)
    assert sub.status == "canceled" and sub.ended_at == ts(2026, 3, 1)


def test_a_future_schedule_starts_its_subscription_when_the_clock_gets_there(
        client, clock, basic):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params={
        "customer": customer.id, "start_date": START + 10 * DAY,
        "phases": [{"items": [{"price": basic.id}], "end_date": START + 40 * DAY}]})
    assert schedule.status == "not_started" and schedule.subscription is None
    assert schedule.current_phase is None
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []
    scheduled = client.v1.subscription_schedules.list(params={"scheduled": True}).data
    assert [one.id for one in scheduled] == [schedule.id]

    advance(client, clock, START + 10 * DAY + 60)
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "active"
    sub = client.v1.subscriptions.retrieve(schedule.subscription)
    assert sub.start_date == START + 10 * DAY and sub.status == "active"
    assert client.v1.subscription_schedules.list(params={"scheduled": True}).data == []


def test_a_phase_with_a_trial_starts_the_subscription_trialing(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params={
        "customer": customer.id, "start_date": "now", "phases": [
            {"items": [{"price": basic.id}], "trial": True, "end_date": START + 14 * DAY},
            {"items": [{"price": basic.id}]}]})
    sub = client.v1.subscriptions.retrieve(schedule.subscription)
    assert sub.status == "trialing" and sub.trial_end == START + 14 * DAY
    assert schedule.phases[1].end_date == START + 14 * DAY + 31 * DAY  # one period
    advance(client, clock, START + 15 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active"
    assert invoices_of(client, sub.id)[-1].amount_paid == 1000


def test_on_the_sandbox_clock_a_schedule_catches_up_when_read():
    now = [float(START)]
    with SandboxServer(clock=lambda: now[0]) as server:
        client = make_client(server)
        price = monthly(client, 1000, "Basic")
        other = monthly(client, 2000, "Plus")
        customer = paying_customer(client)
        schedule = client.v1.subscription_schedules.create(params={
            "customer": customer.id, "start_date": START + DAY, "phases": [
                {"items": [{"price": price.id}], "end_date": START + 5 * DAY},
                {"items": [{"price": other.id}], "end_date": START + 9 * DAY}]})
        assert schedule.status == "not_started"
        now[0] = START + 6 * DAY
        schedule = client.v1.subscription_schedules.retrieve(schedule.id)
        assert schedule.status == "active"
        assert schedule.current_phase.start_date == START + 5 * DAY
        sub = client.v1.subscriptions.retrieve(schedule.subscription)
        assert sub.start_date == START + DAY
        assert [i.price.id for i in sub["items"].data] == [other.id]
        now[0] = START + 10 * DAY
        listed = client.v1.subscription_schedules.list(params={"customer": customer.id})
        assert [(one.id, one.status) for one in listed.data] == [(schedule.id, "completed")]


def test_release_keeps_the_subscription_and_stops_the_phases(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    released = client.v1.subscription_schedules.release(schedule.id)
    assert released.status == "released" and released.released_at == START
    assert released.subscription is None
    assert released.released_subscription == schedule.subscription
    advance(client, clock, ts(2026, 2, 2))
    sub = client.v1.subscriptions.retrieve(schedule.subscription)
    assert sub.status == "active" and sub.schedule is None
    assert [(i.price.id, i.quantity) for i in sub["items"].data] == [(basic.id, 1)]
    with pytest.raises(stripe.InvalidRequestError, match="released"):
        client.v1.subscription_schedules.release(schedule.id)


def test_cancel_cancels_the_subscription_too(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    advance(client, clock, START + 15 * DAY)
    canceled = client.v1.subscription_schedules.cancel(schedule.id)
    assert canceled.status == "canceled" and canceled.canceled_at == START + 15 * DAY
    sub = client.v1.subscriptions.retrieve(schedule.subscription)
    assert sub.status == "canceled" and sub.schedule is None
    # prorate and invoice_now (Stripe's defaults): the unused half month is credited at once.
    last = invoices_of(client, sub.id)[-1]
    assert last.billing_reason == "subscription_update" and last.total < 0
    with pytest.raises(stripe.InvalidRequestError, match="canceled"):
        client.v1.subscription_schedules.update(schedule.id, params={"metadata": {"a": "b"}})


def test_cancel_without_proration_bills_nothing_more(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    client.v1.subscription_schedules.cancel(schedule.id, params={"prorate": False})
    assert len(invoices_of(client, schedule.subscription)) == 1


def test_a_subscription_is_taken_over_by_a_schedule(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    sub = client.v1.subscriptions.create(params={"customer": customer.id,
                                                 "items": [{"price": basic.id}]})
    schedule = client.v1.subscription_schedules.create(params={"from_subscription": sub.id})
    assert schedule.status == "active" and schedule.subscription == sub.id
    item = sub["items"].data[0]
    assert [(p.start_date, p.end_date) for p in schedule.phases] == [
        (item.current_period_start, item.current_period_end)]
    assert client.v1.subscriptions.retrieve(sub.id).schedule == schedule.id
    with pytest.raises(stripe.InvalidRequestError, match="already attached"):
        client.v1.subscription_schedules.create(params={"from_subscription": sub.id})

    updated = client.v1.subscription_schedules.update(schedule.id, params={
        "end_behavior": "cancel", "phases": [
            {"items": [{"price": basic.id}], "end_date": ts(2026, 2, 1)},
            {"items": [{"price": pro.id, "quantity": 3}], "end_date": ts(2026, 4, 1)}]})
    assert updated.end_behavior == "cancel" and len(updated.phases) == 2
    advance(client, clock, ts(2026, 2, 1) + 60)
    items = client.v1.subscriptions.retrieve(sub.id)["items"].data
    assert [(i.price.id, i.quantity) for i in items] == [(pro.id, 3)]
    advance(client, clock, ts(2026, 4, 1) + 60)
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_updating_the_current_phase_changes_the_subscription_now(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    updated = client.v1.subscription_schedules.update(schedule.id, params={
        "proration_behavior": "none",
        "phases": [{"items": [{"price": basic.id, "quantity": 4}],
                    "start_date": START, "end_date": ts(2026, 2, 1)}]})
    assert [(i.price, i.quantity) for i in updated.phases[0]["items"]] == [(basic.id, 4)]
    items = client.v1.subscriptions.retrieve(schedule.subscription)["items"].data
    assert [i.quantity for i in items] == [4]
    with pytest.raises(stripe.InvalidRequestError, match="start_date of the current phase"):
        client.v1.subscription_schedules.update(schedule.id, params={"phases": [
            {"items": [{"price": basic.id}], "start_date": START + DAY,
             "end_date": ts(2026, 2, 1)}]})


def test_mistakes_are_refused(client, clock, basic):
    customer = paying_customer(client, clock)
    one_time = client.v1.prices.create(params={"currency": "usd", "unit_amount": 500,
                                               "product_data": {"name": "Once"}})
    cases = [
        ({"start_date": "now", "phases": []}, "phases"),
        ({"start_date": "now", "phases": [{"items": [{"price": one_time.id}]}]},
         "type=one_time"),
        ({"start_date": START - DAY, "phases": [{"items": [{"price": basic.id}]}]},
         "in the past"),
        ({"start_date": "now", "phases": [{"items": [{"price": basic.id}]},
                                          {"items": [{"price": basic.id}]}]},
         "end_date or a duration"),
        ({"start_date": "now", "phases": [{"items": [{"price": basic.id}],
                                           "end_date": START + DAY,
                                           "duration": {"interval": "month"}}]},
         "only specify one"),
    ]
    for params, message in cases:
        with pytest.raises(stripe.InvalidRequestError, match=message):
            client.v1.subscription_schedules.create(params={"customer": customer.id, **params})
    assert client.v1.subscription_schedules.list().data == []
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []


def test_lists_filter_by_customer_and_times(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    other = paying_customer(client)
    kept = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    released = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    client.v1.subscription_schedules.release(released.id)
    elsewhere = client.v1.subscription_schedules.create(params=two_phases(other, basic, pro))
    by_customer = client.v1.subscription_schedules.list(params={"customer": customer.id})
    assert [one.id for one in by_customer.data] == [released.id, kept.id]
    found = client.v1.subscription_schedules.list(params={"released_at": {"gte": START}})
    assert [one.id for one in found.data] == [released.id]
    assert client.v1.subscription_schedules.list(params={"canceled_at": {"gte": 0}}).data == []
    everything = client.v1.subscription_schedules.list()
    assert {one.id for one in everything.data} == {kept.id, released.id, elsewhere.id}


def test_a_schedule_expands_its_subscription_and_customer(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    got = client.v1.subscription_schedules.retrieve(schedule.id, params={
        "expand": ["subscription", "customer"]})
    assert got.subscription.id == schedule.subscription and got.customer.id == customer.id


def test_canceling_the_subscription_cancels_its_schedule(client, clock, basic, pro):
    customer = paying_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(params=two_phases(customer, basic, pro))
    client.v1.subscriptions.cancel(schedule.subscription)
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "canceled" and schedule.canceled_at == START
    assert client.v1.subscriptions.retrieve(schedule.subscription).schedule is None
    advance(client, clock, ts(2026, 2, 2))
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "canceled"
