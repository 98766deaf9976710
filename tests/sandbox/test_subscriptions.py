"""Subscriptions, subscription items and test clocks, through the real SDK: billing at
creation, payment behaviours, trials, renewals and dunning on a test clock, cancellation,
pausing collection, and prorations to the second."""

from __future__ import annotations

import datetime

import pytest
import stripe
from sandbox_http import refused

DAY = 86_400
#: 2026-01-01 00:00 UTC, where the test clocks start.
START = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp())


def ts(year: int, month: int, day: int) -> int:
    return int(datetime.datetime(year, month, day, tzinfo=datetime.UTC).timestamp())


@pytest.fixture
def clock(client):
    return client.v1.test_helpers.test_clocks.create(params={"frozen_time": START,
                                                             "name": "January"})


def customer_paying_with(client, card: str | None, clock=None):
    params = {"email": "sub@example.com"}
    if clock is not None:
        params["test_clock"] = clock.id
    customer = client.v1.customers.create(params=params)
    if card is not None:
        method = client.v1.payment_methods.attach(card, params={"customer": customer.id})
        client.v1.customers.update(customer.id, params={
            "invoice_settings": {"default_payment_method": method.id}})
    return customer


def subscribe(client, customer, price, **params):
    return client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id, "quantity": 2}], **params})


def advance(client, clock, to: int):
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": to})
    return client.v1.test_helpers.test_clocks.retrieve(clock.id)


def test_a_subscription_is_billed_and_paid_at_once(client, price):
    customer = customer_paying_with(client, "pm_card_visa")
    sub = subscribe(client, customer, price, metadata={"plan": "pro"})
    assert sub.id.startswith("sub_") and sub.status == "active"
    item = sub["items"].data[0]
    assert item.id.startswith("si_") and item.quantity == 2 and item.price.id == price.id
    assert item.current_period_end > item.current_period_start == sub.start_date
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == (
        "subscription_create", "paid", 6000)
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata.to_dict() == {"plan": "pro"}
    line = invoice.lines.data[0]
    assert line.parent.type == "subscription_item_details"
    assert line.parent.subscription_item_details.subscription_item == item.id
    assert line.parent.subscription_item_details.proration is False
    assert line.period.end == item.current_period_end
    assert [s.id for s in client.v1.subscriptions.list(
        params={"customer": customer.id}).data] == [sub.id]
    assert client.v1.subscriptions.list(params={"price": price.id}).data[0].id == sub.id
    assert client.v1.invoices.list(params={"subscription": sub.id}).data[0].id == invoice.id


def test_a_month_is_a_calendar_month(client, clock):
    january_31 = ts(2026, 1, 31)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": january_31})
    price = client.v1.prices.create(params={
        "currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"},
        "product_data": {"name": "Monthly"}})
    customer = customer_paying_with(client, "pm_card_visa", clock)
    sub = subscribe(client, customer, price)
    assert sub.created == january_31 and sub.test_clock == clock.id
    assert sub["items"].data[0].current_period_end == ts(2026, 2, 28)
    advance(client, clock, ts(2026, 3, 1))
    item = client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (ts(2026, 2, 28),
                                                                  ts(2026, 3, 31))


def test_a_declined_first_payment_leaves_it_incomplete_then_expired(client, price, clock):
    customer = customer_paying_with(client, "pm_card_chargeCustomerFail", clock)
    sub = subscribe(client, customer, price)
    assert sub.status == "incomplete"
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    advance(client, clock, START + 24 * 3600)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "incomplete_expired" and sub.ended_at == START + 23 * 3600
    assert client.v1.invoices.retrieve(invoice.id).status == "void"
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []
    assert [s.id for s in client.v1.subscriptions.list(
        params={"customer": customer.id, "status": "all"}).data] == [sub.id]


def test_error_if_incomplete_creates_nothing(client, price):
    customer = customer_paying_with(client, "pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as raised:
        subscribe(client, customer, price, payment_behavior="error_if_incomplete")
    assert raised.value.code == "card_declined"
    listed = client.v1.subscriptions.list(params={"customer": customer.id,
                                                  "status": "all"})
    assert listed.data == []
    assert client.v1.invoices.list(params={"customer": customer.id}).data == []


def test_default_incomplete_waits_for_the_payment_intent(client, price, sandbox):
    customer = customer_paying_with(client, None)
    sub = subscribe(client, customer, price, payment_behavior="default_incomplete")
    assert sub.status == "incomplete"
    invoice = client.v1.invoices.retrieve(sub.latest_invoice, params={"expand": ["payments"]})
    intent_id = invoice.payments.data[0].payment.payment_intent
    intent = client.v1.payment_intents.confirm(intent_id,
                                               params={"payment_method": "pm_card_visa"})
    assert intent.status == "succeeded"
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_send_invoice_subscriptions_are_active_with_an_open_invoice(client, price):
    customer = customer_paying_with(client, None)
    sub = subscribe(client, customer, price, collection_method="send_invoice",
                    days_until_due=14)
    assert (sub.status, sub.days_until_due) == ("active", 14)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.status, invoice.collection_method) == ("open", "send_invoice")
    assert invoice.due_date == invoice.created + 14 * DAY


def test_a_trial_converts_when_the_clock_passes_its_end(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    sub = subscribe(client, customer, price, trial_period_days=14)
    assert (sub.status, sub.trial_start, sub.trial_end) == ("trialing", START,
                                                           START + 14 * DAY)
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.status, first.amount_due, first.billing_reason) == (
        "paid", 0, "subscription_create")
    answered = client.v1.test_helpers.test_clocks.advance(
        clock.id, params={"frozen_time": START + 15 * DAY})
    assert answered.status == "advancing"
    assert answered.status_details.advancing.target_frozen_time == START + 15 * DAY
    ready = client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert (ready.status, ready.frozen_time) == ("ready", START + 15 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and sub.billing_cycle_anchor == START + 14 * DAY
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == (
        "subscription_cycle", "paid", 6000)
    assert invoice.created == START + 14 * DAY


def test_a_trial_without_a_payment_method_can_pause(client, price, clock):
    customer = customer_paying_with(client, None, clock)
    sub = subscribe(client, customer, price, trial_period_days=7, trial_settings={
        "end_behavior": {"missing_payment_method": "pause"}})
    advance(client, clock, START + 8 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "paused"
    with pytest.raises(stripe.InvalidRequestError, match="Only a paused"):
        client.v1.subscriptions.resume(subscribe(client, customer_paying_with(
            client, "pm_card_visa"), price).id)
    method = client.v1.payment_methods.attach("pm_card_visa",
                                              params={"customer": customer.id})
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": method.id})
    resumed = client.v1.subscriptions.resume(sub.id)
    assert resumed.status == "active"
    assert resumed["items"].data[0].current_period_start == START + 8 * DAY
    assert client.v1.invoices.retrieve(resumed.latest_invoice).status == "paid"


def test_a_failing_renewal_is_past_due_then_unpaid(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    sub = subscribe(client, customer, price)
    failing = client.v1.payment_methods.attach("pm_card_chargeCustomerFail",
                                               params={"customer": customer.id})
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": failing.id})
    renewal_at = sub["items"].data[0].current_period_end
    advance(client, clock, renewal_at + 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "past_due"
    renewal = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (renewal.billing_reason, renewal.status, renewal.attempt_count) == (
        "subscription_cycle", "open", 1)
    advance(client, clock, renewal_at + 4 * DAY)
    assert client.v1.invoices.retrieve(renewal.id).attempt_count == 2
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    advance(client, clock, renewal_at + 8 * DAY)
    assert client.v1.invoices.retrieve(renewal.id).attempt_count == 4
    assert client.v1.subscriptions.retrieve(sub.id).status == "unpaid"
    listed = client.v1.subscriptions.list(params={"status": "unpaid"})
    assert [s.id for s in listed.data] == [sub.id]
    client.v1.invoices.pay(renewal.id, params={"payment_method": "pm_card_visa"})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_cancel_now_and_at_the_period_end(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    now = subscribe(client, customer, price)
    canceled = client.v1.subscriptions.cancel(now.id)
    assert (canceled.status, canceled.canceled_at, canceled.ended_at) == (
        "canceled", START, START)
    assert canceled.cancellation_details.reason == "cancellation_requested"
    with pytest.raises(stripe.InvalidRequestError, match="already been canceled"):
        client.v1.subscriptions.cancel(now.id)
    later = subscribe(client, customer, price)
    later = client.v1.subscriptions.update(later.id, params={"cancel_at_period_end": True})
    assert later.cancel_at_period_end and later.status == "active"
    end = later["items"].data[0].current_period_end
    advance(client, clock, end + 10)
    later = client.v1.subscriptions.retrieve(later.id)
    assert (later.status, later.ended_at) == ("canceled", end)
    assert client.v1.invoices.list(params={"subscription": later.id}).data[0].billing_reason \
        == "subscription_create"


def test_cancel_with_prorate_and_invoice_now_credits_the_unused_time(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    sub = subscribe(client, customer, price)
    item = sub["items"].data[0]
    length = item.current_period_end - item.current_period_start
    advance(client, clock, START + 10 * DAY)
    canceled = client.v1.subscriptions.cancel(sub.id, params={"prorate": True,
                                                              "invoice_now": True})
    final = client.v1.invoices.retrieve(canceled.latest_invoice)
    remaining = item.current_period_end - (START + 10 * DAY)
    assert final.total == -round(6000 * remaining / length)
    assert final.lines.data[0].parent.subscription_item_details.proration is True


def test_a_quantity_change_is_prorated_to_the_second(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    sub = subscribe(client, customer, price)
    item = sub["items"].data[0]
    length = item.current_period_end - item.current_period_start
    advance(client, clock, START + 7 * DAY + 3600)
    remaining = item.current_period_end - (START + 7 * DAY + 3600)
    client.v1.subscriptions.update(sub.id, params={"items": [{"id": item.id, "quantity": 3}]})
    pending = client.v1.invoice_items.list(params={"customer": customer.id,
                                                   "pending": True}).data
    amounts = sorted(one.amount for one in pending)
    assert amounts == [-round(6000 * remaining / length), round(9000 * remaining / length)]
    assert all(one.proration and one.parent.subscription_details.subscription == sub.id
               for one in pending)
    renewal_at = item.current_period_end
    advance(client, clock, renewal_at + 60)
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(
        sub.id).latest_invoice)
    assert renewal.total == 9000 + sum(amounts)
    assert renewal.amount_paid == renewal.total


def test_always_invoice_and_none(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    sub = subscribe(client, customer, price)
    item = sub["items"].data[0]
    advance(client, clock, START + 3 * DAY)
    none = client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item.id, "quantity": 1}], "proration_behavior": "none"})
    assert none.latest_invoice == sub.latest_invoice
    assert client.v1.invoice_items.list(params={"customer": customer.id,
                                                "pending": True}).data == []
    now = client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item.id, "quantity": 4}], "proration_behavior": "always_invoice"})
    invoice = client.v1.invoices.retrieve(now.latest_invoice)
    assert (invoice.billing_reason, invoice.status) == ("subscription_update", "paid")
    assert invoice.total > 0


def test_subscription_items_crud(client, price):
    customer = customer_paying_with(client, "pm_card_visa")
    sub = subscribe(client, customer, price)
    other = client.v1.prices.create(params={
        "currency": "usd", "unit_amount": 100, "recurring": {"interval": "month"},
        "product_data": {"name": "Seats"}})
    added = client.v1.subscription_items.create(params={
        "subscription": sub.id, "price": other.id, "quantity": 5,
        "proration_behavior": "none"})
    assert added.subscription == sub.id and added.quantity == 5
    listed = client.v1.subscription_items.list(params={"subscription": sub.id}).data
    assert {one.id for one in listed} == {added.id, sub["items"].data[0].id}
    updated = client.v1.subscription_items.update(added.id, params={
        "quantity": 6, "proration_behavior": "none"})
    assert updated.quantity == 6
    deleted = client.v1.subscription_items.delete(added.id, params={
        "proration_behavior": "none"})
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError, match="at least one active plan"):
        client.v1.subscription_items.delete(sub["items"].data[0].id)
    yearly = client.v1.prices.create(params={
        "currency": "usd", "unit_amount": 100, "recurring": {"interval": "year"},
        "product_data": {"name": "Yearly"}})
    with pytest.raises(stripe.InvalidRequestError, match="same recurring interval"):
        client.v1.subscription_items.create(params={"subscription": sub.id,
                                                    "price": yearly.id})


def test_pausing_collection_keeps_renewals_as_drafts(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    sub = subscribe(client, customer, price)
    paused = client.v1.subscriptions.update(sub.id, params={
        "pause_collection": {"behavior": "keep_as_draft"}})
    assert paused.pause_collection.behavior == "keep_as_draft"
    advance(client, clock, sub["items"].data[0].current_period_end + 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active"
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "draft"
    unpaused = client.v1.subscriptions.update(sub.id, params={"pause_collection": ""})
    assert unpaused.pause_collection is None


def test_deleting_a_clock_deletes_its_customers_and_subscriptions(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    sub = subscribe(client, customer, price)
    assert client.v1.customers.list(params={"test_clock": clock.id}).data[0].id == customer.id
    deleted = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert deleted.deleted is True
    assert client.v1.customers.retrieve(customer.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError, match="No such subscription"):
        client.v1.subscriptions.retrieve(sub.id)


def test_a_clock_only_moves_forward(client, clock):
    with pytest.raises(stripe.InvalidRequestError, match="must be after"):
        client.v1.test_helpers.test_clocks.advance(clock.id,
                                                   params={"frozen_time": START - 1})
    listed = client.v1.test_helpers.test_clocks.list()
    assert [one.id for one in listed.data] == [clock.id]


def test_search_and_expand(client, price):
    customer = customer_paying_with(client, "pm_card_visa")
    sub = subscribe(client, customer, price, metadata={"team": "blue"})
    found = client.v1.subscriptions.search(params={"query": 'metadata["team"]:"blue"'})
    assert [one.id for one in found.data] == [sub.id]
    expanded = client.v1.subscriptions.retrieve(sub.id, params={
        "expand": ["latest_invoice", "customer"]})
    assert expanded.latest_invoice.id == sub.latest_invoice
    assert expanded.customer.id == customer.id
    with_subs = client.v1.customers.retrieve(customer.id, params={"expand": ["subscriptions"]})
    assert [one.id for one in with_subs.subscriptions.data] == [sub.id]


def test_add_invoice_items_go_on_the_next_invoice_only(client, price, clock):
    customer = customer_paying_with(client, "pm_card_visa", clock)
    setup = client.v1.prices.create(params={"currency": "usd", "unit_amount": 5000,
                                            "product": price.product})
    sub = subscribe(client, customer, price, add_invoice_items=[
        {"price": setup.id}, {"price_data": {"currency": "usd", "product": price.product,
                                             "unit_amount": 700}, "quantity": 2}])
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert sorted(line.amount for line in first.lines.data) == [1400, 5000, 6000]
    assert first.amount_paid == 12400
    added = [line for line in first.lines.data if line.parent.type == "invoice_item_details"]
    assert {line.parent.invoice_item_details.subscription for line in added} == {sub.id}
    advance(client, clock, ts(2026, 2, 1) + 3600)
    renewal = client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert renewal.billing_reason == "subscription_cycle" and renewal.total == 6000
    # Added later, with always_invoice, it is billed at once.
    sub = client.v1.subscriptions.update(sub.id, params={
        "add_invoice_items": [{"price": setup.id}], "proration_behavior": "always_invoice"})
    now = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (now.billing_reason, now.total) == ("subscription_update", 5000)
    monthly = client.v1.prices.create(params={"currency": "usd", "unit_amount": 100,
                                              "recurring": {"interval": "month"},
                                              "product": price.product})
    refused(lambda: client.v1.subscriptions.update(sub.id, params={
        "add_invoice_items": [{"price": monthly.id}]}), "type=recurring",
        param="add_invoice_items[0][price]")
    refused(lambda: client.v1.subscriptions.update(sub.id, params={
        "add_invoice_items": [{"price": setup.id, "tax_rates": ["txr_missing"]}]}),
        "No such tax_rate", param="add_invoice_items[0][tax_rates][0]")
