"""Every state change passes through one function and is recorded: a walk of every mutating
route checks that each object a request changed has exactly one change, with the right action,
object, previous attributes, request id and idempotency key, and nothing else changed."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import stripe
from sandbox_http import make_client, raw_request
from stripe_pay.sandbox import SandboxServer, routes
from stripe_pay.sandbox.changes import ChangeLog, previous_attributes, snapshot
from stripe_pay.sandbox.resources import Backend
from stripe_pay.sandbox.resources.customers import Customers

MUTATING = [one for one in routes.derive(Backend) if one.mutating]

Key = tuple[str, str]


def make_world(client: stripe.StripeClient) -> dict[str, str]:
    """One of everything a mutating route can act on; ids by name."""
    v1 = client.v1
    cus = v1.customers.create(params={"email": "world@example.com"}).id
    bare = v1.products.create(params={"name": "Bare"}).id
    priced = v1.products.create(params={"name": "Priced"}).id
    price = v1.prices.create(params={"product": priced, "currency": "usd", "unit_amount": 100,
                                     "lookup_key": "basic"}).id
    other_price = v1.prices.create(params={"product": priced, "currency": "usd",
                                           "unit_amount": 200}).id
    pending = v1.invoice_items.create(params={"customer": cus, "amount": 50,
                                              "currency": "usd"}).id
    draft = v1.invoices.create(params={"customer": cus}).id
    on_draft = v1.invoice_items.create(params={"customer": cus, "invoice": draft,
                                               "amount": 300, "currency": "usd"}).id
    opened = v1.invoices.create(params={"customer": cus}).id
    v1.invoice_items.create(params={"customer": cus, "invoice": opened, "amount": 400,
                                    "currency": "usd"})
    v1.invoices.finalize_invoice(opened)
    to_send = v1.invoices.create(params={"customer": cus, "collection_method": "send_invoice",
                                         "days_until_due": 30}).id
    session = v1.checkout.sessions.create(params={
        "customer": cus, "success_url": "https://example.com/done",
        "line_items": [{"price": price, "quantity": 2}]}).id
    link = v1.payment_links.create(params={"line_items": [{"price": price, "quantity": 1}]}).id
    loose_pm = v1.payment_methods.create(params={"type": "card",
                                                 "card": {"token": "tok_visa"}}).id
    saved_pm = v1.payment_methods.attach("pm_card_mastercard", params={"customer": cus}).id
    card = v1.customers.payment_sources.create(cus, params={"source": "tok_visa"}).id
    seti = v1.setup_intents.create(params={"customer": cus, "payment_method": "pm_card_visa"}).id
    paid = v1.payment_intents.create(params={"amount": 5000, "currency": "usd", "confirm": True,
                                             "payment_method": "pm_card_bypassPending"})
    to_confirm = v1.payment_intents.create(params={"amount": 700, "currency": "usd",
                                                   "payment_method": "pm_card_visa"}).id
    manual = v1.payment_intents.create(params={"amount": 1000, "currency": "usd",
                                               "confirm": True, "capture_method": "manual",
                                               "payment_method": "pm_card_visa"}).id
    uncaptured = v1.charges.create(params={"amount": 800, "currency": "usd",
                                           "source": "tok_visa", "capture": False}).id
    refund = v1.refunds.create(params={"charge": paid.latest_charge, "amount": 200}).id
    disputed = v1.payment_intents.create(params={"amount": 1500, "currency": "usd",
                                                 "confirm": True,
                                                 "payment_method": "pm_card_createDispute"})
    dispute = v1.disputes.list(params={"charge": disputed.latest_charge}).data[0].id
    payout = v1.payouts.create(params={"amount": 1000, "currency": "usd"}).id
    subs = _subscriptions_world(v1)
    to_credit = v1.invoices.create(params={"customer": cus}).id
    v1.invoice_items.create(params={"customer": cus, "invoice": to_credit, "amount": 900,
                                    "currency": "usd"})
    v1.invoices.finalize_invoice(to_credit)
    credit_note = v1.credit_notes.create(params={
        "invoice": to_credit, "lines": [{"type": "custom_line_item", "description": "Sorry",
                                         "unit_amount": 100}]}).id
    cbtxn = v1.customers.balance_transactions.create(
        cus, params={"amount": -100, "currency": "usd", "description": "Welcome"}).id
    coupon = v1.coupons.create(params={"id": "WORLD10", "percent_off": 10}).id
    promo = v1.promotion_codes.create(params={"promotion": {"type": "coupon",
                                                            "coupon": coupon},
                                              "code": "WORLD"}).id
    txr = v1.tax_rates.create(params={"display_name": "VAT", "percentage": 20,
                                      "inclusive": False}).id
    quote = v1.quotes.create(params={"customer": cus, "line_items": [{"price": price}]}).id
    open_quote = v1.quotes.create(params={"customer": cus, "line_items": [
        {"price": other_price, "quantity": 2}]}).id
    v1.quotes.finalize_quote(open_quote)
    portal = v1.billing_portal.configurations.create(params={
        "features": {"invoice_history": {"enabled": True}}}).id
    plan = v1.plans.create(params={"amount": 900, "currency": "usd", "interval": "month",
                                   "product": priced}).id
    # (disabled: nothing listens at its port)
    endpoint = v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/hooks",
                                                   "enabled_events": ["*"]}).id
    v1.webhook_endpoints.update(endpoint, params={"disabled": True})
    return {**subs, "endpoint": endpoint, "coupon": coupon, "promo": promo, "txr": txr,
            "to_credit": to_credit, "credit_note": credit_note, "cbtxn": cbtxn,
            "portal": portal, "plan": plan,
            "quote": quote, "open_quote": open_quote,
            "cus": cus, "bare": bare, "priced": priced, "price": price,
            "other_price": other_price, "pending": pending, "draft": draft,
            "on_draft": on_draft, "open": opened, "to_send": to_send, "session": session,
            "link": link, "loose_pm": loose_pm, "saved_pm": saved_pm, "card": card,
            "seti": seti, "charge": paid.latest_charge, "to_confirm": to_confirm,
            "manual": manual, "uncaptured": uncaptured, "refund": refund, "dispute": dispute,
            "payout": payout}


def _subscriptions_world(v1: Any) -> dict[str, str]:
    """A test clock, a monthly price, an active subscription and a paused one on it."""
    clock = v1.test_helpers.test_clocks.create(params={"frozen_time": 1_767_225_600})
    monthly = v1.prices.create(params={"currency": "usd", "unit_amount": 900,
                                       "recurring": {"interval": "month"},
                                       "product_data": {"name": "Monthly"}}).id
    seats = v1.prices.create(params={"currency": "usd", "unit_amount": 100,
                                     "recurring": {"interval": "month"},
                                     "product_data": {"name": "Seats"}}).id
    payer = v1.customers.create(params={"test_clock": clock.id}).id
    method = v1.payment_methods.attach("pm_card_visa", params={"customer": payer}).id
    extra = v1.prices.create(params={"currency": "usd", "unit_amount": 50,
                                     "recurring": {"interval": "month"},
                                     "product_data": {"name": "Extra"}}).id
    sub = v1.subscriptions.create(params={"customer": payer,
                                          "items": [{"price": monthly}, {"price": seats}],
                                          "default_payment_method": method})
    paused = v1.subscriptions.create(params={
        "customer": payer, "items": [{"price": monthly}], "trial_period_days": 1,
        "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}}}).id
    v1.test_helpers.test_clocks.advance(clock.id,
                                        params={"frozen_time": 1_767_225_600 + 2 * 86_400})
    v1.test_helpers.test_clocks.retrieve(clock.id)
    phases = [{"items": [{"price": monthly}], "duration": {"interval": "month"}},
              {"items": [{"price": seats, "quantity": 3}]}]
    schedule = v1.subscription_schedules.create(params={
        "customer": payer, "start_date": "now", "phases": phases}).id
    later = v1.subscription_schedules.create(params={
        "customer": payer, "start_date": 1_767_225_600 + 20 * 86_400, "phases": phases}).id
    return {"clock": clock.id, "monthly": monthly, "seats": seats, "payer": payer,
            "extra": extra, "sub": sub.id, "sub_item": sub["items"].data[0].id,
            "paused_sub": paused, "schedule": schedule, "later_schedule": later}


#: For each mutating route: the id in its path (or None; a tuple when the path has more
#: placeholders) and its parameters, from the world.
Ids = str | tuple[str, ...] | None
SCENARIOS: dict[tuple[str, str], Callable[[dict[str, str]], tuple[Ids, dict[str, str]]]] = {
    ("customer", "create"): lambda w: (None, {"email": "new@example.com"}),
    ("customer", "update"): lambda w: (w["cus"], {"email": "moved@example.com",
                                                  "metadata[plan]": "gold"}),
    ("customer", "delete"): lambda w: (w["cus"], {}),
    ("product", "create"): lambda w: (None, {"name": "Shirt",
                                             "default_price_data[currency]": "usd",
                                             "default_price_data[unit_amount]": "900"}),
    ("product", "update"): lambda w: (w["priced"], {"name": "Renamed"}),
    ("product", "delete"): lambda w: (w["bare"], {}),
    ("price", "create"): lambda w: (None, {"product_data[name]": "Made with it",
                                           "currency": "usd", "unit_amount": "10"}),
    ("price", "update"): lambda w: (w["other_price"], {"lookup_key": "basic",
                                                       "transfer_lookup_key": "true"}),
    ("invoiceitem", "create"): lambda w: (None, {"customer": w["cus"], "invoice": w["draft"],
                                                 "amount": "70", "currency": "usd"}),
    ("invoiceitem", "update"): lambda w: (w["on_draft"], {"amount": "333"}),
    ("invoiceitem", "delete"): lambda w: (w["on_draft"], {}),
    ("invoice", "create"): lambda w: (None, {"customer": w["cus"],
                                             "pending_invoice_items_behavior": "include"}),
    ("invoice", "update"): lambda w: (w["draft"], {"description": "March",
                                                   "discounts[0][coupon]": w["coupon"],
                                                   "default_tax_rates[0]": w["txr"],
                                                   "expand[0]": "discounts"}),
    ("invoice", "delete"): lambda w: (w["draft"], {}),
    ("invoice", "finalize"): lambda w: (w["draft"], {}),
    ("invoice", "pay"): lambda w: (w["open"], {"paid_out_of_band": "true"}),
    ("invoice", "void"): lambda w: (w["open"], {}),
    ("invoice", "mark_uncollectible"): lambda w: (w["open"], {}),
    ("invoice", "send"): lambda w: (w["to_send"], {}),
    ("checkout.session", "create"): lambda w: (None, {
        "mode": "payment", "success_url": "https://example.com/done",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][product_data][name]": "Made at checkout",
        "line_items[0][price_data][unit_amount]": "700", "line_items[0][quantity]": "1"}),
    ("checkout.session", "update"): lambda w: (w["session"], {"metadata[order]": "7"}),
    ("checkout.session", "expire"): lambda w: (w["session"], {}),
    ("payment_link", "create"): lambda w: (None, {"line_items[0][price]": w["other_price"],
                                                  "line_items[0][quantity]": "3"}),
    ("payment_link", "update"): lambda w: (w["link"], {"active": "false"}),
    ("payment_method", "create"): lambda w: (None, {"type": "card", "card[token]": "tok_amex",
                                                    "metadata[a]": "1"}),
    ("payment_method", "update"): lambda w: (w["saved_pm"], {"billing_details[name]": "J"}),
    ("payment_method", "attach"): lambda w: (w["loose_pm"], {"customer": w["cus"]}),
    ("payment_method", "detach"): lambda w: (w["saved_pm"], {}),
    ("card", "create"): lambda w: (w["cus"], {"source": "tok_mastercard"}),
    ("card", "update"): lambda w: ((w["cus"], w["card"]), {"name": "Jenny"}),
    ("card", "delete"): lambda w: ((w["cus"], w["card"]), {}),
    ("setup_intent", "create"): lambda w: (None, {"customer": w["cus"], "confirm": "true",
                                                  "payment_method": w["loose_pm"]}),
    ("setup_intent", "update"): lambda w: (w["seti"], {"description": "Card for later"}),
    ("setup_intent", "confirm"): lambda w: (w["seti"], {}),
    ("setup_intent", "cancel"): lambda w: (w["seti"], {"cancellation_reason": "abandoned"}),
    ("payment_intent", "create"): lambda w: (None, {"amount": "2000", "currency": "usd",
                                                    "payment_method": "pm_card_visa",
                                                    "confirm": "true"}),
    ("payment_intent", "update"): lambda w: (w["to_confirm"], {"description": "Tea"}),
    ("payment_intent", "confirm"): lambda w: (w["to_confirm"], {}),
    ("payment_intent", "capture"): lambda w: (w["manual"], {"amount_to_capture": "600"}),
    ("payment_intent", "cancel"): lambda w: (w["manual"], {}),
    ("charge", "create"): lambda w: (None, {"amount": "900", "currency": "usd",
                                            "source": "tok_visa"}),
    ("charge", "update"): lambda w: (w["charge"], {"description": "Tea",
                                                   "metadata[order]": "7"}),
    ("charge", "capture"): lambda w: (w["uncaptured"], {"amount": "500"}),
    ("refund", "create"): lambda w: (None, {"charge": w["charge"], "amount": "100"}),
    ("refund", "update"): lambda w: (w["refund"], {"metadata[why]": "size"}),
    ("dispute", "update"): lambda w: (w["dispute"], {
        "evidence[uncategorized_text]": "winning_evidence"}),
    ("dispute", "close"): lambda w: (w["dispute"], {}),
    ("payout", "create"): lambda w: (None, {"amount": "100", "currency": "usd"}),
    ("payout", "update"): lambda w: (w["payout"], {"metadata[week]": "12"}),
    ("payout", "cancel"): lambda w: (w["payout"], {}),
    ("subscription", "create"): lambda w: (None, {"customer": w["payer"],
                                                  "items[0][price]": w["monthly"],
                                                  "items[0][quantity]": "2"}),
    ("subscription", "update"): lambda w: (w["sub"], {"items[0][id]": w["sub_item"],
                                                      "items[0][quantity]": "3",
                                                      "metadata[tier]": "gold"}),
    ("subscription", "cancel"): lambda w: (w["sub"], {}),
    ("subscription", "resume"): lambda w: (w["paused_sub"], {}),
    ("subscription_item", "create"): lambda w: (None, {"subscription": w["sub"],
                                                       "price": w["extra"]}),
    ("subscription_item", "update"): lambda w: (w["sub_item"], {"quantity": "4"}),
    ("subscription_item", "delete"): lambda w: (w["sub_item"], {}),
    ("test_helpers.test_clock", "create"): lambda w: (None, {"frozen_time": "1767225600"}),
    ("test_helpers.test_clock", "delete"): lambda w: (w["clock"], {}),
    ("test_helpers.test_clock", "advance"): lambda w: (w["clock"], {
        "frozen_time": str(1_767_225_600 + 40 * 86_400)}),
    ("subscription_schedule", "create"): lambda w: (None, {
        "customer": w["payer"], "start_date": "now", "phases[0][items][0][price]": w["extra"]}),
    ("subscription_schedule", "update"): lambda w: (w["schedule"], {
        "end_behavior": "cancel", "metadata[step]": "2"}),
    ("subscription_schedule", "cancel"): lambda w: (w["schedule"], {}),
    ("subscription_schedule", "release"): lambda w: (w["later_schedule"], {}),
    ("credit_note", "create"): lambda w: (None, {"invoice": w["to_credit"], "amount": "100",
                                                 "memo": "Late"}),
    ("credit_note", "update"): lambda w: (w["credit_note"], {"memo": "Changed"}),
    ("credit_note", "void"): lambda w: (w["credit_note"], {}),
    ("customer_balance_transaction", "create"): lambda w: (w["cus"], {"amount": "-250",
                                                                       "currency": "usd"}),
    ("customer_balance_transaction", "update"): lambda w: ((w["cus"], w["cbtxn"]),
                                                           {"description": "Promo"}),
    ("coupon", "create"): lambda w: (None, {"amount_off": "500", "currency": "usd",
                                            "duration": "repeating",
                                            "duration_in_months": "3"}),
    ("coupon", "update"): lambda w: (w["coupon"], {"name": "Ten off"}),
    ("coupon", "delete"): lambda w: (w["coupon"], {}),
    ("promotion_code", "create"): lambda w: (None, {"promotion[type]": "coupon",
                                                    "promotion[coupon]": w["coupon"],
                                                    "code": "SPRING",
                                                    "restrictions[minimum_amount]": "1000",
                                                    "restrictions[minimum_amount_currency]":
                                                        "usd"}),
    ("promotion_code", "update"): lambda w: (w["promo"], {"active": "false"}),
    ("tax_rate", "create"): lambda w: (None, {"display_name": "GST", "percentage": "5",
                                              "inclusive": "true", "country": "CA"}),
    ("tax_rate", "update"): lambda w: (w["txr"], {"active": "false"}),
    ("quote", "create"): lambda w: (None, {"customer": w["cus"],
                                           "line_items[0][price]": w["price"]}),
    ("quote", "update"): lambda w: (w["quote"], {"description": "Offer"}),
    ("quote", "finalize"): lambda w: (w["quote"], {}),
    ("quote", "accept"): lambda w: (w["open_quote"], {}),
    ("quote", "cancel"): lambda w: (w["quote"], {}),
    ("billing_portal.configuration", "create"): lambda w: (None, {
        "features[customer_update][enabled]": "true",
        "features[customer_update][allowed_updates][0]": "email"}),
    ("billing_portal.configuration", "update"): lambda w: (w["portal"], {"name": "Main"}),
    ("billing_portal.session", "create"): lambda w: (None, {"customer": w["cus"]}),
    ("plan", "create"): lambda w: (None, {"amount": "100", "currency": "usd",
                                          "interval": "year",
                                          "product[name]": "Made with the plan"}),
    ("plan", "update"): lambda w: (w["plan"], {"nickname": "Monthly"}),
    ("plan", "delete"): lambda w: (w["plan"], {}),
    ("webhook_endpoint", "create"): lambda w: (None, {"url": "https://example.com/hooks",
                                                      "enabled_events[0]": "invoice.paid",
                                                      "description": "Paid invoices"}),
    ("webhook_endpoint", "update"): lambda w: (w["endpoint"], {
        "enabled_events[0]": "customer.created", "metadata[team]": "billing"}),
    ("webhook_endpoint", "delete"): lambda w: (w["endpoint"], {}),
}

#: Mutating routes no object of this sandbox can succeed at: their refusal must change nothing
#: and record nothing. (Only refunds waiting for the customer's action can be canceled, and
#: card refunds never wait.)
REFUSED: dict[tuple[str, str], Callable[[dict[str, str]], tuple[str, dict[str, str]]]] = {
    ("refund", "cancel"): lambda w: (w["refund"], {}),
    # (customers are given no discount in this API version: there is none to remove)
    ("discount", "delete_discount"): lambda w: (w["cus"], {}),
}


def path_of(template: str, ids: Ids) -> str:
    """``template`` with its placeholders, in order, replaced by ``ids``."""
    values = [ids] if isinstance(ids, str) else list(ids or ())
    return re.sub(r"\{[a-z_]+\}", lambda _: values.pop(0), template)


def state(backend: Backend) -> dict[Key, dict[str, Any]]:
    """Every stored object's own state (tombstones too), copied."""
    with backend.lock:
        return {(kind, obj.id): attrs.asdict(obj) for kind, store in backend.stores.items()
                for obj in store.objects.values()}


def renderings(backend: Backend) -> dict[Key, dict[str, Any]]:
    with backend.lock:
        return {(kind, obj.id): json.loads(snapshot(backend.render(obj)))
                for kind, store in backend.stores.items() for obj in store.objects.values()}


def problems(before: dict[Key, Any], after: dict[Key, Any], shown_before: dict[Key, Any],
             shown_after: dict[Key, Any], recorded: list[Any]) -> list[str]:
    """What is wrong with the changes ``recorded`` for a request that took the state from
    ``before`` to ``after`` (and the renderings from ``shown_before`` to ``shown_after``)."""
    changed = {key for key in after if before.get(key) != after[key]}
    by_key: dict[Key, list[Any]] = {}
    for change in recorded:
        by_key.setdefault((change.kind, change.id), []).append(change)
    found = [f"{kind} {id} changed, but no change was recorded"
             for kind, id in sorted(changed - set(by_key))]
    found += [f"{kind} {id} did not change, but a change was recorded"
              for kind, id in sorted(set(by_key) - changed)]
    for key, changes in sorted(by_key.items()):
        if len(changes) != 1:
            found.append(f"{key} has {len(changes)} changes, not one")
            continue
        change = changes[0]
        if key not in before:
            expected = ("create", shown_after.get(key), None)
        elif after[key]["deleted"] and not before[key]["deleted"]:
            expected = ("delete", shown_before[key], None)
        else:
            expected = (change.action, shown_after[key],
                        previous_attributes(shown_before[key], shown_after[key]))
            if change.action in ("create", "delete"):
                found.append(f"{key} was updated, but recorded as {change.action}")
        if (change.action, change.object, change.previous_attributes) != expected:
            found.append(f"{key}: recorded {change.action} {change.previous_attributes}, "
                         f"expected {expected[0]} {expected[2]}")
    return found


def test_every_mutating_route_records_each_change_it_makes(sandbox):
    client = make_client(sandbox)
    missing = [f"{one.method} {one.path}" for one in MUTATING
               if (one.kind, one.operation) not in SCENARIOS | REFUSED]
    assert missing == [], "add a scenario to SCENARIOS for each of these routes"
    assert len(MUTATING) == len(SCENARIOS) + len(REFUSED)
    backend = sandbox.backend
    for one in MUTATING:
        sandbox.reset()
        world = make_world(client)
        refused = (one.kind, one.operation) in REFUSED
        object_id, params = (REFUSED if refused else SCENARIOS)[one.kind, one.operation](world)
        path = path_of(one.path, object_id)
        before, shown_before = state(backend), renderings(backend)
        mark = backend.changes.last_seq
        key = f"walk-{one.kind}-{one.operation}"
        status, headers, body = raw_request(sandbox, one.method, path,
                                            body=urllib.parse.urlencode(params),
                                            headers={"Idempotency-Key": key})
        if refused:
            assert status in (400, 404) and body["error"]["message"], (one, body)
            assert (backend.changes.since(mark), state(backend)) == ([], before), one
            continue
        assert status == 200, (one, body)
        recorded = backend.changes.since(mark)
        assert problems(before, state(backend), shown_before, renderings(backend),
                        recorded) == [], one
        own = [change for change in recorded
               if (change.kind, change.id) == (body["object"], body["id"])]
        assert [change.action for change in own] == [one.operation], one
        # What a test clock does as it advances is the sandbox's own doing: no request.
        requested = [change for change in recorded if change.request_id is not None]
        assert {change.request_id for change in requested} == {headers["Request-Id"]}
        assert {change.idempotency_key for change in requested} == {
            key if one.method == "POST" else None}
        on_its_own = [change for change in recorded if change.request_id is None]
        assert on_its_own == [] or one.operation == "advance", one
        assert all(change.idempotency_key is None for change in on_its_own)
        for store in backend.stores.values():
            assert store.check() == [], one


def test_the_walk_catches_a_change_made_behind_its_back(sandbox, monkeypatch):
    client = make_client(sandbox)
    bystander = client.v1.customers.create(params={"email": "by@example.com"})
    target = client.v1.customers.create(params={"email": "t@example.com"})
    original = Customers._apply_customer

    def sneaky(self: Customers, customer: Any, params: dict[str, Any]) -> None:
        original(self, customer, params)
        self.customers.objects[bystander.id].balance += 1  # never announced

    monkeypatch.setattr(Customers, "_apply_customer", sneaky)
    backend = sandbox.backend
    before, shown_before = state(backend), renderings(backend)
    mark = backend.changes.last_seq
    client.v1.customers.update(target.id, params={"name": "T"})
    found = problems(before, state(backend), shown_before, renderings(backend),
                     backend.changes.since(mark))
    assert found == [f"customer {bystander.id} changed, but no change was recorded"]


def test_a_change_records_what_it_was_before(client, sandbox):
    customer = client.v1.customers.create(params={"email": "a@example.com",
                                                  "metadata": {"a": "1"}})
    updated = client.v1.customers.update(customer.id, params={"email": "b@example.com",
                                                              "metadata": {"b": "2"}})
    created, change = sandbox.backend.changes.since(0)
    assert (created.action, created.previous_attributes) == ("create", None)
    assert created.object["email"] == "a@example.com"
    assert change.action == "update" and change.object == updated.to_dict()
    assert change.previous_attributes == {"email": "a@example.com", "metadata": {"a": "1"}}
    assert change.request_id == updated.last_response.request_id
    assert change.seq == created.seq + 1


def test_a_failed_request_changes_nothing(client, sandbox):
    customer = client.v1.customers.create(params={"metadata": {"a": "1"}})
    mark = sandbox.backend.changes.last_seq
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(customer.id, params={"metadata": {"a": "2"},
                                                        "invoice_prefix": "bad prefix"})
    assert client.v1.customers.retrieve(customer.id).metadata.to_dict() == {"a": "1"}
    assert sandbox.backend.changes.since(mark) == []
    # An invoice item whose invoice is refused leaves no price made from its price_data.
    product = client.v1.products.create(params={"name": "P"})
    other = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": other.id})
    prices = sandbox.backend.stores["price"].live_count()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.create(params={
            "customer": customer.id, "invoice": invoice.id,
            "price_data": {"product": product.id, "currency": "usd", "unit_amount": 5}})
    assert sandbox.backend.stores["price"].live_count() == prices


def test_a_declined_payment_keeps_its_attempt(client, sandbox):
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id,
                                           "amount": 500, "currency": "usd"})
    client.v1.invoices.finalize_invoice(invoice.id)
    mark = sandbox.backend.changes.last_seq
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert client.v1.invoices.retrieve(invoice.id).attempt_count == 1
    changes = {change.kind: change for change in sandbox.backend.changes.since(mark)}
    assert sorted(changes) == ["charge", "invoice", "payment_intent", "payment_method"]
    assert changes["invoice"].action == "pay"
    assert changes["invoice"].previous_attributes == {"attempt_count": 0, "attempted": False}
    assert changes["charge"].action == "create" and changes["charge"].object["status"] == "failed"
    assert changes["payment_intent"].object["status"] == "requires_payment_method"


def test_a_replayed_request_records_nothing_more(client, sandbox):
    client.v1.customers.create(options={"idempotency_key": "once"})
    mark = sandbox.backend.changes.last_seq
    client.v1.customers.create(options={"idempotency_key": "once"})
    assert sandbox.backend.changes.since(mark) == []


def test_the_change_log_control(client, sandbox):
    customer = client.v1.customers.create(options={"idempotency_key": "ctl"})
    client.v1.products.create(params={"name": "P"})
    status, _, changes = raw_request(sandbox, "GET", "/_sandbox/changes", key=None)
    assert status == 200 and [c["object"] for c in changes] == ["customer", "product"]
    first = changes[0]
    assert set(first) == {"seq", "time", "action", "object", "id", "data", "request_id",
                          "idempotency_key"}
    assert (first["action"], first["id"], first["idempotency_key"]) == ("create", customer.id,
                                                                         "ctl")
    assert first["data"]["object"]["id"] == customer.id
    assert first["data"]["previous_attributes"] is None
    _, _, later = raw_request(sandbox, "GET", f"/_sandbox/changes?since={first['seq']}",
                              key=None)
    assert [c["object"] for c in later] == ["product"]
    _, _, only = raw_request(sandbox, "GET", "/_sandbox/changes?object=customer", key=None)
    assert [c["id"] for c in only] == [customer.id]
    assert sandbox.changes(kind="product")[0]["object"] == "product"
    for query in ("since=x", "object=planet"):
        status, _, body = raw_request(sandbox, "GET", f"/_sandbox/changes?{query}", key=None)
        assert status == 400 and body["error"]["message"], query
    status, _, body = raw_request(sandbox, "DELETE", "/_sandbox/changes", key=None)
    assert (status, body) == (200, {"cleared": 2})
    assert sandbox.changes() == []


def test_the_change_log_is_bounded_in_count_and_bytes():
    backend = Backend(changes=ChangeLog(max_count=3))
    for n in range(5):
        backend.create_customer({"email": f"c{n}@example.com"})
    assert [change.seq for change in backend.changes] == [3, 4, 5]
    sizes = ChangeLog()
    Backend(changes=sizes).create_customer({"email": "x@example.com"})
    one = sizes.bytes
    backend = Backend(changes=ChangeLog(max_bytes=3 * one + one // 2))
    for n in range(6):
        backend.create_customer({"email": f"c{n}@example.com"})
    assert len(backend.changes) == 3 and backend.changes.bytes <= 3 * one + one // 2
    assert [change.object["email"] for change in backend.changes] == [
        "c3@example.com", "c4@example.com", "c5@example.com"]


def test_listeners_hear_every_change_and_reset_forgets_the_log():
    backend = Backend()
    heard: list[list[str]] = []
    backend.changes.listen(lambda changes: heard.append(
        [f"{change.kind}.{change.action}" for change in changes]))
    customer = backend.create_customer({})
    invoice = backend.create_invoice({"customer": customer.id})
    backend.finalize_invoice(invoice.id)
    # each operation's changes together
    assert heard == [["customer.create"], ["invoice.create"],
                     ["invoice.finalize", "customer.update"]]
    backend.reset()
    assert len(backend.changes) == 0
    backend.create_customer({})
    assert heard[-1] == ["customer.create"]


def test_changing_state_outside_an_operation_is_refused():
    backend = Backend()
    customer = backend.create_customer({})
    with pytest.raises(RuntimeError, match="changed outside an operation"):
        backend.change("update", customer)


def test_the_server_records_changes_for_a_sandbox_of_its_own():
    with SandboxServer() as server:
        make_client(server).v1.customers.create()
        assert [change["action"] for change in server.changes()] == ["create"]
