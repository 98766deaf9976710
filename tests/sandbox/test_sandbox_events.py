"""Events through the SDK: each operation emits the events Stripe emits for it, made from the
change log (the object after, the previous attributes of an update, the request), in the
order of the table in ``event_types.py``, whose every type is one of the SDK's; listed newest
first with Stripe's filters and cursors, retrieved by id, and kept within a bound."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import stripe
from sandbox_http import raw_request, refused
from sandbox_payments import intent, settle
from stripe_pay.sandbox import event_types
from stripe_pay.sandbox.event_types import EMITS, Emits, When, sdk_event_types
from stripe_pay.sandbox.resources import Backend
from stripe_pay.sandbox.resources.events import EventLog

DOCS = Path(__file__).resolve().parents[2] / "docs" / "SANDBOX.md"
START = 1_767_225_600
DAY = 86_400


def newest(client: stripe.StripeClient) -> str | None:
    found = client.v1.events.list(params={"limit": 1}).data
    return found[0].id if found else None


def emitted(client: stripe.StripeClient, call: Any) -> list[stripe.Event]:
    """The events ``call()`` emits, oldest first."""
    mark = newest(client)
    call()
    params: dict[str, Any] = {"limit": 100}
    if mark is not None:
        params["ending_before"] = mark
    return list(reversed(client.v1.events.list(params=params).data))


def types(events: list[stripe.Event]) -> list[str]:
    return [event.type for event in events]


# The table

def test_every_type_the_table_makes_is_one_of_the_sdks():
    sdk = sdk_event_types()
    assert "customer.created" in sdk and "*" not in sdk and len(sdk) > 100
    made = [name for row in EMITS for name in row.types()]
    assert [name for name in made if name not in sdk] == []
    assert len(made) == len(set(made))


def test_every_stored_kind_has_a_row():
    kinds = [row.kind for row in EMITS]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) == set(Backend().resources)


def test_a_rule_fires_when_its_field_is_newly_set_to_its_value():
    rule = When(("succeeded",), "succeeded")
    assert rule.fires({}, {"status": "succeeded"})
    assert rule.fires({"status": "processing"}, {"status": "succeeded"})
    assert not rule.fires({"status": "succeeded"}, {"status": "succeeded"})
    assert not rule.fires({}, {"status": "canceled"})
    nested = When(("finalized",), field="status_transitions.finalized_at")
    assert nested.fires({"status_transitions": {"finalized_at": None}},
                        {"status_transitions": {"finalized_at": 5}})
    assert not nested.fires({}, {"status_transitions": {"finalized_at": None}})
    where = When(("failed",), field="attempt_count", where={"status": "open"})
    assert where.fires({"attempt_count": 0}, {"attempt_count": 1, "status": "open"})
    assert not where.fires({"attempt_count": 0}, {"attempt_count": 1, "status": "paid"})


def test_an_update_that_changes_nothing_emits_nothing_but_an_action_still_emits():
    row = Emits("invoice", actions={"send": ("sent",)})
    assert row.emitted("update", {"status": "open"}, {}) == []
    assert row.emitted("update", {"status": "open"}, {"description": None}) == [
        "invoice.updated"]
    assert row.emitted("send", {"status": "open"}, {}) == ["invoice.sent"]
    instead = Emits("subscription", name="customer.subscription",
                    when=(When(("deleted",), "canceled", instead=True),))
    assert instead.emitted("update", {"status": "canceled"}, {"status": "active"}) == [
        "customer.subscription.deleted"]


def test_the_event_table_in_the_docs_is_the_code():
    assert event_types.markdown_table() in DOCS.read_text(), (
        "docs/SANDBOX.md's event table is out of date; replace it with the output of: python -c "
        "'from stripe_pay.sandbox import event_types; print(event_types.markdown_table())'")


# What operations emit

def test_a_customer_created_updated_and_deleted(client, sandbox):
    made = emitted(client, lambda: client.v1.customers.create(params={"email": "a@b.co"}))
    assert types(made) == ["customer.created"]
    (created,) = made
    customer = client.v1.customers.retrieve(created.data.object.id)
    assert created.data.object.to_dict() == customer.to_dict()
    assert "previous_attributes" not in created.data
    assert created.id.startswith("evt_") and created.object == "event"
    assert (created.livemode, created.api_version) == (False, stripe.api_version)
    assert created.pending_webhooks == 0
    updated = emitted(client, lambda: client.v1.customers.update(
        customer.id, params={"name": "Ann", "metadata": {"tier": "gold"}}))
    assert types(updated) == ["customer.updated"]
    assert updated[0].data.previous_attributes.to_dict() == {"metadata": {}, "name": None}
    assert updated[0].data.object.name == "Ann"
    deleted = emitted(client, lambda: client.v1.customers.delete(customer.id))
    assert types(deleted) == ["customer.deleted"]
    assert deleted[0].data.object.email == "a@b.co"  # as it was when deleted


def test_an_event_names_its_request_and_idempotency_key(client, sandbox):
    status, headers, body = raw_request(sandbox, "POST", "/v1/customers",
                                        body="email=k%40b.co",
                                        headers={"Idempotency-Key": "make-k"})
    assert status == 200
    event = client.v1.events.list(params={"limit": 1}).data[0]
    assert event.data.object.id == body["id"]
    assert event.request.to_dict() == {"id": headers["Request-Id"],
                                       "idempotency_key": "make-k"}
    replay = raw_request(sandbox, "POST", "/v1/customers", body="email=k%40b.co",
                         headers={"Idempotency-Key": "make-k"})
    assert replay[1]["Idempotent-Replayed"] == "true"
    assert newest(client) == event.id  # a replay changes nothing, so emits nothing


def open_invoice(client: stripe.StripeClient, amount: int = 500) -> stripe.Invoice:
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id,
                                           "amount": amount, "currency": "usd"})
    return invoice


def test_an_invoice_finalized_paid_by_card_and_another_voided(client):
    invoice = open_invoice(client)
    finalized = emitted(client, lambda: client.v1.invoices.finalize_invoice(invoice.id))
    assert types(finalized)[:2] == ["invoice.finalized", "invoice.updated"]
    assert finalized[1].data.previous_attributes.status == "draft"
    assert "previous_attributes" not in finalized[0].data
    paid = emitted(client, lambda: client.v1.invoices.pay(
        invoice.id, params={"payment_method": "pm_card_visa"}))
    assert [name for name in types(paid) if not name.startswith("customer.")] == [
        "payment_intent.created", "payment_intent.succeeded", "charge.succeeded",
        "invoice.paid", "invoice.payment_succeeded", "invoice.updated"]
    assert {event.request.id for event in paid} != {None}
    assert len({event.request.id for event in paid}) == 1
    other = open_invoice(client)
    client.v1.invoices.finalize_invoice(other.id)
    voided = emitted(client, lambda: client.v1.invoices.void_invoice(other.id))
    assert types(voided) == ["invoice.voided", "invoice.updated"]
    assert voided[0].data.object.status == "void"


def test_an_invoice_paid_out_of_band_is_paid_without_a_payment(client):
    invoice = open_invoice(client)
    client.v1.invoices.finalize_invoice(invoice.id)
    paid = emitted(client, lambda: client.v1.invoices.pay(
        invoice.id, params={"paid_out_of_band": True}))
    assert types(paid) == ["invoice.paid", "invoice.updated"]
    uncollectible = open_invoice(client)
    client.v1.invoices.finalize_invoice(uncollectible.id)
    assert types(emitted(client, lambda: client.v1.invoices.mark_uncollectible(
        uncollectible.id))) == ["invoice.marked_uncollectible", "invoice.updated"]


def test_a_declined_payment(client):
    def decline() -> None:
        with pytest.raises(stripe.CardError):
            intent(client, payment_method="pm_card_chargeDeclined", confirm=True)

    made = emitted(client, decline)
    assert types(made) == ["payment_intent.created", "payment_intent.payment_failed",
                           "charge.failed"]
    assert made[1].data.object.last_payment_error.code == "card_declined"
    assert made[2].data.object.status == "failed"


def test_a_declined_invoice_payment_fails_the_invoice(client):
    invoice = open_invoice(client)
    client.v1.invoices.finalize_invoice(invoice.id)

    def decline() -> None:
        with pytest.raises(stripe.CardError):
            client.v1.invoices.pay(invoice.id,
                                   params={"payment_method": "pm_card_chargeDeclined"})

    made = types(emitted(client, decline))
    assert {"invoice.payment_failed", "charge.failed", "payment_intent.payment_failed"} <= (
        set(made))
    assert "invoice.paid" not in made


def test_a_refund(client):
    paid = intent(client, payment_method="pm_card_visa", confirm=True)
    made = emitted(client, lambda: client.v1.refunds.create(
        params={"charge": paid.latest_charge, "amount": 100}))
    assert types(made) == ["refund.created", "charge.refunded"]
    assert made[0].data.object.amount == 100
    assert made[1].data.object.amount_refunded == 100


def test_a_subscription_created_and_canceled(client, price):
    customer = client.v1.customers.create()
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    made = types(emitted(client, lambda: client.v1.subscriptions.create(params={
        "customer": customer.id, "items": [{"price": price.id}],
        "default_payment_method": method.id})))
    assert made[0] == "customer.subscription.created"
    for name in ("invoice.created", "invoice.finalized", "invoice.paid",
                 "payment_intent.created", "payment_intent.succeeded", "charge.succeeded"):
        assert name in made
    assert made.index("invoice.created") < made.index("invoice.finalized") < made.index(
        "invoice.paid")
    assert "customer.subscription.updated" not in made
    sub = client.v1.subscriptions.list(params={"customer": customer.id}).data[0]
    canceled = emitted(client, lambda: client.v1.subscriptions.cancel(sub.id))
    assert types(canceled) == ["customer.subscription.deleted"]
    assert canceled[0].data.object.status == "canceled"


def test_what_a_test_clock_does_on_its_own_has_no_request(client, price):
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": START})
    customer = client.v1.customers.create(params={"test_clock": clock.id})
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.subscriptions.create(params={"customer": customer.id,
                                           "items": [{"price": price.id}],
                                           "default_payment_method": method.id})
    made = emitted(client, lambda: client.v1.test_helpers.test_clocks.advance(
        clock.id, params={"frozen_time": START + 32 * DAY}))
    assert made[0].type == "test_helpers.test_clock.advancing"
    assert made[0].request.id is not None
    renewal = [event for event in made if event.type != "test_helpers.test_clock.advancing"]
    assert "customer.subscription.updated" in types(renewal)
    assert "invoice.created" in types(renewal)
    assert {(event.request.id, event.request.idempotency_key) for event in renewal} == {
        (None, None)}
    ready = emitted(client, lambda: client.v1.test_helpers.test_clocks.retrieve(clock.id))
    assert types(ready) == ["test_helpers.test_clock.ready"]


def test_a_sandbox_control_acts_with_no_request(client, sandbox):
    debit = intent(client, payment_method="pm_usBankAccount_success", confirm=True,
                   allowed_payment_method_types=["us_bank_account"])
    made = emitted(client, lambda: settle(sandbox, debit.id))
    assert types(made)[:2] == ["payment_intent.succeeded", "charge.succeeded"]
    assert {event.request.id for event in made} == {None}


# Listing and retrieving

def test_events_are_listed_newest_first_and_paged(client):
    for number in range(5):
        client.v1.products.create(params={"name": f"P{number}"})
    listed = client.v1.events.list(params={"limit": 2})
    assert listed.has_more and types(listed.data) == ["product.created"] * 2
    names = [event.data.object.name for event in listed.data]
    assert names == ["P4", "P3"]
    rest = client.v1.events.list(params={"limit": 10, "starting_after": listed.data[-1].id})
    assert [event.data.object.name for event in rest.data] == ["P2", "P1", "P0"]
    assert not rest.has_more
    before = client.v1.events.list(params={"limit": 2, "ending_before": rest.data[0].id})
    assert [event.data.object.name for event in before.data] == ["P4", "P3"]
    every = [event.data.object.name for event in client.v1.events.list().auto_paging_iter()]
    assert every == ["P4", "P3", "P2", "P1", "P0"]
    assert client.v1.events.retrieve(rest.data[0].id).to_dict() == rest.data[0].to_dict()


def test_events_are_filtered_by_type_group_types_and_created(client, sandbox):
    customer = client.v1.customers.create()
    client.v1.customers.update(customer.id, params={"name": "N"})
    invoice = open_invoice(client)
    client.v1.invoices.finalize_invoice(invoice.id)

    def listed(**params: Any) -> list[str]:
        return types(client.v1.events.list(params={"limit": 100, **params}).data)

    assert set(listed(type="invoice.*")) == {"invoice.created", "invoice.finalized",
                                             "invoice.updated"}
    assert listed(type="customer.created") == ["customer.created"] * 2
    assert "invoiceitem.created" not in listed(type="invoice.*")
    assert set(listed(types=["customer.updated", "invoiceitem.created"])) == {
        "customer.updated", "invoiceitem.created"}
    assert listed(type="charge.*") == []
    every = client.v1.events.list(params={"limit": 100}).data
    first = min(event.created for event in every)
    assert len(listed(created={"gte": first})) == len(every)
    assert listed(created={"lt": first}) == []
    assert listed(created={"gt": max(event.created for event in every)}) == []
    # with no endpoint, every event is delivered to every endpoint it was for
    assert len(listed(delivery_success=True)) == len(every)
    assert listed(delivery_success=False) == []


@pytest.mark.parametrize(("query", "param", "fragment"), [
    ({"type": "customer.created", "types[0]": "customer.updated"}, "types", "only specify one of"),
    ({f"types[{n}]": "customer.created" for n in range(21)}, "types", "at most 20"),
    ({"starting_after": "evt_missing"}, "starting_after", "No such event"),
    ({"limit": "101"}, "limit", "less than or equal to 100"),
])
def test_bad_list_parameters_are_refused(sandbox, query, param, fragment):
    status, _, body = raw_request(sandbox, "GET", "/v1/events?" + urllib.parse.urlencode(query))
    assert status in (400, 404) and body["error"]["param"] == param
    assert fragment in body["error"]["message"]


def test_an_unknown_event_is_missing(client):
    refused(lambda: client.v1.events.retrieve("evt_nope"), "No such event", status=404,
            code="resource_missing")


def test_events_are_kept_within_a_bound_and_reset_forgets_them():
    backend = Backend()
    backend.events = EventLog(max_count=3)
    for number in range(5):
        backend.create_product({"name": f"P{number}"})
    kept = [json_name(backend, event) for event in backend.events.store.objects.values()]
    assert sorted(kept) == ["P2", "P3", "P4"] and len(backend.events) == 3
    assert backend.events.store.check() == []
    backend.reset()
    assert len(backend.events) == 0 and backend.events.max_count == 3


def json_name(backend: Backend, event: Any) -> str:
    return backend.render(event)["data"]["object"]["name"]
