"""Checkout sessions and payment links through the real SDK: the three modes and Stripe's rules
for each, urls, customers, expiry bounds, line items, expire, lists and their filters, links
turned off and on (by the SDK and by the book's English), and idempotency around all of it."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from sandbox_http import TEST_KEY, make_client, raw_request

SUCCESS = "https://example.com/done?session={CHECKOUT_SESSION_ID}"


@pytest.fixture
def catalog(client: stripe.StripeClient) -> dict[str, Any]:
    product = client.v1.products.create(params={"name": "T-shirt"})
    one_time = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                               "unit_amount": 2000})
    monthly = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                              "unit_amount": 900,
                                              "recurring": {"interval": "month"}})
    euro = client.v1.prices.create(params={"product": product.id, "currency": "eur",
                                           "unit_amount": 1800})
    customer = client.v1.customers.create(params={"email": "jenny@example.com"})
    return {"product": product, "one_time": one_time, "monthly": monthly, "euro": euro,
            "customer": customer}


def create(client: stripe.StripeClient, **params: Any) -> stripe.checkout.Session:
    return client.v1.checkout.sessions.create(params=params)


def refused(client: stripe.StripeClient, **params: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(client, **params)
    assert raised.value.http_status == 400
    return raised.value


def test_a_payment_session_totals_its_line_items(client, catalog, sandbox):
    session = create(client, mode="payment", success_url=SUCCESS,
                     cancel_url="https://example.com/cart", client_reference_id="cart-7",
                     line_items=[{"price": catalog["one_time"].id, "quantity": 3}],
                     metadata={"cart": "7"})
    assert isinstance(session, stripe.checkout.Session)
    assert session.id.startswith("cs_test_")
    assert (session.mode, session.status, session.payment_status) == ("payment", "open",
                                                                      "unpaid")
    assert (session.amount_subtotal, session.amount_total, session.currency) == (6000, 6000,
                                                                                 "usd")
    assert session.url == f"https://checkout.stripe.com/c/pay/{session.id}"
    assert session.ui_mode == "hosted_page" and session.client_secret is None
    assert session.success_url == SUCCESS and session.client_reference_id == "cart-7"
    assert session.expires_at == session.created + 24 * 3600
    assert session.customer_creation == "if_required"
    assert session.payment_intent is None and session.subscription is None  # made at completion
    assert session.payment_method_types == ["card"]
    assert session.total_details.amount_tax == 0
    assert "line_items" not in session
    # Nothing is made but the session: no payment intent, no customer.
    counts = {kind: store.live_count() for kind, store in sandbox.backend.stores.items()}
    assert counts["checkout.session"] == 1 and counts["customer"] == 1


def test_line_items_come_listed_and_expanded(client, catalog):
    session = create(client, success_url=SUCCESS, line_items=[
        {"price": catalog["one_time"].id, "quantity": 2},
        {"price_data": {"currency": "usd", "product_data": {"name": "Gift wrap"},
                        "unit_amount": 350}, "quantity": 1, "metadata": {"wrap": "red"}}])
    assert session.mode == "payment" and session.amount_total == 4350
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert items.url == f"/v1/checkout/sessions/{session.id}/line_items"
    first, second = items.data
    assert isinstance(first, stripe.LineItem) and first.id.startswith("li_")
    assert (first.quantity, first.amount_subtotal, first.amount_total) == (2, 4000, 4000)
    assert first.description == "T-shirt" and first.price.id == catalog["one_time"].id
    assert second.description == "Gift wrap" and second.metadata.to_dict() == {"wrap": "red"}
    made = client.v1.prices.retrieve(second.price.id)
    assert made.active is False and made.unit_amount == 350  # price_data makes archived prices
    page = client.v1.checkout.sessions.line_items.list(session.id, params={
        "limit": 1, "starting_after": first.id, "expand": ["data.price.product",
                                                           "data.discounts"]})
    assert [item.id for item in page.data] == [second.id] and not page.has_more
    assert page.data[0].price.product.name == "Gift wrap" and page.data[0].discounts == []
    expanded = client.v1.checkout.sessions.retrieve(session.id, params={
        "expand": ["line_items.data.price.product", "total_details.breakdown"]})
    assert [item.id for item in expanded.line_items.data] == [first.id, second.id]
    assert expanded.line_items.data[0].price.product.name == "T-shirt"
    assert expanded.total_details.breakdown.discounts == []
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.line_items.list("cs_test_nothere")
    assert raised.value.code == "resource_missing"


def test_subscription_mode_needs_a_recurring_price(client, catalog):
    session = create(client, mode="subscription", success_url=SUCCESS, line_items=[
        {"price": catalog["monthly"].id, "quantity": 1},
        {"price": catalog["one_time"].id, "quantity": 1}])
    assert (session.mode, session.amount_total, session.payment_method_collection) == (
        "subscription", 2900, "always")
    assert session.customer_creation is None and session.invoice_creation is None
    error = refused(client, mode="subscription", success_url=SUCCESS,
                    line_items=[{"price": catalog["one_time"].id, "quantity": 1}])
    assert error.user_message == ("You must provide at least one recurring price in "
                                  "`subscription` mode when using prices.")
    assert error.param == "mode"
    error = refused(client, mode="payment", success_url=SUCCESS,
                    line_items=[{"price": catalog["monthly"].id, "quantity": 1}])
    assert error.user_message.startswith("You specified `payment` mode but passed a recurring "
                                         "price.")
    # Without a mode, the prices tell.
    assert create(client, success_url=SUCCESS, line_items=[
        {"price": catalog["monthly"].id, "quantity": 1}]).mode == "subscription"


def test_setup_mode_takes_a_currency_and_no_line_items(client, catalog):
    session = create(client, mode="setup", currency="usd", success_url=SUCCESS,
                     customer=catalog["customer"].id)
    assert (session.mode, session.payment_status) == ("setup", "no_payment_required")
    assert session.amount_total is None and session.total_details is None
    assert session.setup_intent is None and session.customer == catalog["customer"].id
    assert client.v1.checkout.sessions.line_items.list(session.id).data == []
    error = refused(client, mode="setup", success_url=SUCCESS)
    assert (error.code, error.param) == ("parameter_missing", "currency")
    error = refused(client, mode="setup", currency="usd",
                    line_items=[{"price": catalog["one_time"].id, "quantity": 1}])
    assert error.param == "line_items"
    error = refused(client, mode="setup", currency="usd", submit_type="pay")
    assert error.param == "submit_type"


@pytest.mark.parametrize("params,param,code", [
    ({}, "line_items", "parameter_missing"),
    ({"line_items": [{"quantity": 1}]}, "line_items[0][price]", "parameter_missing"),
    ({"line_items": [{"price": "price_x", "price_data": {"currency": "usd"}, "quantity": 1}]},
     "line_items[0][price]", None),
    ({"success_url": "example.com/done"}, "success_url", "url_invalid"),
    ({"cancel_url": "not a url"}, "cancel_url", "url_invalid"),
    ({"ui_mode": "embedded_page", "success_url": SUCCESS, "return_url": SUCCESS},
     "success_url", None),
    ({"ui_mode": "embedded_page"}, "return_url", "parameter_missing"),
    ({"return_url": SUCCESS}, "return_url", None),
    ({"customer": "cus_1", "customer_email": "a@example.com"}, "customer_email", None),
    ({"customer_email": "not-an-email"}, "customer_email", "email_invalid"),
    ({"expires_at": 1}, "expires_at", None),
    ({"mode": "subscription", "customer_creation": "always"}, "customer_creation", None),
    ({"mode": "payment", "payment_method_collection": "if_required"},
     "payment_method_collection", None),
    ({"mode": "rental"}, "mode", None),
])
def test_parameters_refused_before_anything_is_looked_up(client, catalog, params, param,
                                                         code):
    given = {"line_items": [{"price": catalog["one_time"].id, "quantity": 1}], **params}
    if given.get("mode") == "subscription":
        given["line_items"] = [{"price": catalog["monthly"].id, "quantity": 1}]
    if not given["line_items"] or params == {}:
        given.pop("line_items")
    error = refused(client, **given)
    assert (error.param, error.code) == (param, code), error.user_message
    assert error.error.type == "invalid_request_error"
    assert error.user_message


def test_what_depends_on_the_account_is_looked_up(client, catalog):
    error = refused(client, customer="cus_nothere", line_items=[
        {"price": catalog["one_time"].id, "quantity": 1}])
    assert (error.code, error.param, error.user_message) == (
        "resource_missing", "customer", "No such customer: 'cus_nothere'")
    error = refused(client, line_items=[{"price": "price_nothere", "quantity": 1}])
    assert (error.code, error.param) == ("resource_missing", "line_items[0][price]")
    client.v1.prices.update(catalog["euro"].id, params={"active": False})
    error = refused(client, line_items=[{"price": catalog["euro"].id, "quantity": 1}])
    assert error.user_message.startswith("The price specified is inactive.")
    client.v1.prices.update(catalog["euro"].id, params={"active": True})
    error = refused(client, line_items=[{"price": catalog["one_time"].id, "quantity": 1},
                                        {"price": catalog["euro"].id, "quantity": 1}])
    assert error.param == "line_items[1][price]" and "same currency" in error.user_message
    error = refused(client, line_items=[{"price": catalog["one_time"].id}])
    assert (error.code, error.param) == ("parameter_missing", "line_items[0][quantity]")


def test_customers_and_embedded_sessions(client, catalog):
    customer = catalog["customer"]
    session = create(client, customer=customer.id, success_url=SUCCESS,
                     line_items=[{"price": catalog["one_time"].id, "quantity": 1}])
    assert session.customer == customer.id and session.customer_creation is None
    assert session.saved_payment_method_options.allow_redisplay_filters == ["always"]
    expanded = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["customer"]})
    assert expanded.customer.email == "jenny@example.com"
    by_email = create(client, customer_email="pat@example.com", customer_creation="always",
                      line_items=[{"price": catalog["one_time"].id, "quantity": 1}])
    assert (by_email.customer, by_email.customer_email, by_email.customer_creation) == (
        None, "pat@example.com", "always")
    embedded = create(client, ui_mode="embedded_page", return_url=SUCCESS,
                      line_items=[{"price": catalog["one_time"].id, "quantity": 1}])
    assert embedded.url is None and embedded.client_secret.startswith(f"{embedded.id}_secret_")
    assert embedded.redirect_on_completion == "always" and embedded.return_url == SUCCESS


def test_expires_at_is_between_30_minutes_and_24_hours():
    # The bounds are exact to the second, so the clock is held still: a second that ticks between
    # two requests would otherwise move them.
    from stripe_pay.sandbox import SandboxServer

    now = 1_700_000_000
    with SandboxServer(clock=lambda: float(now)) as frozen:
        client = make_client(frozen)
        product = client.v1.products.create(params={"name": "T-shirt"})
        price = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                                "unit_amount": 2000})
        items = [{"price": price.id, "quantity": 1}]
        assert create(client, line_items=items, expires_at=now + 1800).expires_at == now + 1800
        assert create(client, line_items=items, expires_at=now + 86400).expires_at == now + 86400
        for wrong in (now + 1799, now + 86401):
            assert refused(client, line_items=items, expires_at=wrong).param == "expires_at"


def test_expire_closes_only_open_sessions(client, catalog, sandbox):
    session = create(client, line_items=[{"price": catalog["one_time"].id, "quantity": 1}])
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired" and expired.url is None
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.expire(session.id)
    assert raised.value.user_message == (
        "Only Checkout Sessions with a status of open can be expired. This Checkout Session "
        "has a status of expired.")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.expire("cs_test_nothere")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    (change,) = [c for c in sandbox.changes(kind="checkout.session") if c["action"] == "expire"]
    assert change["data"]["previous_attributes"] == {
        "status": "open", "url": f"https://checkout.stripe.com/c/pay/{session.id}"}


def test_update_changes_metadata_only(client, catalog):
    session = create(client, metadata={"a": "1"},
                     line_items=[{"price": catalog["one_time"].id, "quantity": 1}])
    updated = client.v1.checkout.sessions.update(session.id, params={"metadata": {"b": "2"}})
    assert updated.metadata.to_dict() == {"a": "1", "b": "2"}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.update(session.id, params={
            "shipping_options": [{"shipping_rate": "shr_1"}]})
    assert raised.value.param == "shipping_options"


def test_lists_filter_by_customer_status_and_created(client, catalog):
    customer = catalog["customer"]
    items = [{"price": catalog["one_time"].id, "quantity": 1}]
    mine = create(client, customer=customer.id, line_items=items)
    other = create(client, line_items=items)
    client.v1.checkout.sessions.expire(other.id)
    listed = client.v1.checkout.sessions.list()
    assert [s.id for s in listed.data] == [other.id, mine.id]  # newest first
    assert listed.url == "/v1/checkout/sessions"

    def ids(**params: Any) -> list[str]:
        return [s.id for s in client.v1.checkout.sessions.list(params=params).data]

    assert ids(customer=customer.id) == [mine.id]
    assert ids(status="expired") == [other.id]
    assert ids(status="complete") == []
    assert ids(created={"gte": mine.created}) == [other.id, mine.id]
    assert ids(created={"lt": mine.created}) == []
    assert ids(payment_intent="pi_1") == [] and ids(payment_link="plink_1") == []
    assert ids(customer_details={"email": "jenny@example.com"}) == []
    with pytest.raises(stripe.InvalidRequestError) as raised:
        ids(subscription="sub_1")
    assert raised.value.code == "resource_missing"
    expanded = client.v1.checkout.sessions.list(params={"expand": ["data.customer",
                                                                   "data.line_items"]})
    assert expanded.data[1].customer.id == customer.id
    assert expanded.data[0].line_items.data[0].price.id == catalog["one_time"].id


def test_idempotency_keeps_answers_that_ran_and_forgets_refusals(client, catalog, sandbox):
    items = [{"price": catalog["one_time"].id, "quantity": 1}]
    # Refused in validation: nothing kept, so the same key with the fix works.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params={"success_url": "nope", "line_items": items},
                                           options={"idempotency_key": "checkout-1"})
    fixed = client.v1.checkout.sessions.create(params={"success_url": SUCCESS,
                                                       "line_items": items},
                                               options={"idempotency_key": "checkout-1"})
    assert "Idempotent-Replayed" not in fixed.last_response.headers
    again = client.v1.checkout.sessions.create(params={"success_url": SUCCESS,
                                                       "line_items": items},
                                               options={"idempotency_key": "checkout-1"})
    assert again.id == fixed.id and again.last_response.headers["Idempotent-Replayed"] == "true"
    assert sandbox.backend.stores["checkout.session"].live_count() == 1
    # It ran (the price was looked up and was missing): the answer is kept.
    body = "line_items[0][price]=price_gone&line_items[0][quantity]=1"
    first = raw_request(sandbox, "POST", "/v1/checkout/sessions", body=body,
                        headers={"Idempotency-Key": "checkout-2"})
    second = raw_request(sandbox, "POST", "/v1/checkout/sessions", body=body,
                         headers={"Idempotency-Key": "checkout-2"})
    assert first[0] == second[0] == 400 and first[2] == second[2]
    assert second[1]["Idempotent-Replayed"] == "true"
    # An expire that ran and was refused is replayed, though the session is still open.
    other = create(client, line_items=items)
    client.v1.checkout.sessions.expire(other.id, options={"idempotency_key": "expire-1"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(other.id)
    replay = client.v1.checkout.sessions.expire(other.id,
                                                options={"idempotency_key": "expire-1"})
    assert replay.status == "expired" and replay.last_response.headers["Idempotent-Replayed"]


# Payment links


def test_a_payment_link_sells_its_line_items(client, catalog):
    link = client.v1.payment_links.create(params={
        "line_items": [{"price": catalog["one_time"].id, "quantity": 2,
                        "adjustable_quantity": {"enabled": True, "maximum": 5}}],
        "metadata": {"campaign": "spring"},
        "after_completion": {"type": "redirect", "redirect": {"url": "https://example.com/ok"}}})
    assert isinstance(link, stripe.PaymentLink) and link.id.startswith("plink_")
    assert link.url.startswith("https://buy.stripe.com/test_")
    assert (link.active, link.currency) == (True, "usd")
    assert link.metadata.to_dict() == {"campaign": "spring"}
    assert link.after_completion.redirect.url == "https://example.com/ok"
    assert link.invoice_creation.enabled is False and link.subscription_data is None
    (item,) = client.v1.payment_links.line_items.list(link.id).data
    assert (item.quantity, item.amount_total, item.adjustable_quantity.maximum) == (2, 4000, 5)
    updated = client.v1.payment_links.update(link.id, params={
        "line_items": [{"id": item.id, "quantity": 4}], "inactive_message": "Sold out"})
    assert updated.inactive_message == "Sold out"
    assert client.v1.payment_links.line_items.list(link.id).data[0].amount_total == 8000
    recurring = client.v1.payment_links.create(params={
        "line_items": [{"price": catalog["monthly"].id, "quantity": 1}]})
    assert recurring.subscription_data.invoice_settings.issuer.type == "self"
    assert recurring.invoice_creation is None
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_links.create(params={"line_items": [
            {"price": catalog["one_time"].id, "quantity": 1},
            {"price": catalog["euro"].id, "quantity": 1}]})
    assert raised.value.param == "line_items[1][price]"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_links.create(params={})
    assert (raised.value.code, raised.value.param) == ("parameter_missing", "line_items")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_links.update(link.id, params={"line_items": [{"id": "li_x"}]})
    assert raised.value.param == "line_items[0][id]"


def test_payment_links_are_turned_off_and_on_and_listed_by_active(client, catalog):
    items = [{"price": catalog["one_time"].id, "quantity": 1}]
    first = client.v1.payment_links.create(params={"line_items": items})
    second = client.v1.payment_links.create(params={"line_items": items})
    off = client.v1.payment_links.update(first.id, params={"active": False})
    assert off.active is False
    assert [link.id for link in client.v1.payment_links.list().data] == [second.id, first.id]
    assert [link.id for link in client.v1.payment_links.list(
        params={"active": False}).data] == [first.id]
    assert [link.id for link in client.v1.payment_links.list(
        params={"active": True}).data] == [second.id]
    assert client.v1.payment_links.update(first.id, params={"active": True}).active is True
    expanded = client.v1.payment_links.retrieve(first.id, params={"expand": [
        "line_items.data.price.product"]})
    assert expanded.line_items.data[0].price.product.name == "T-shirt"


def test_the_book_deactivates_and_activates_a_payment_link_in_english(
        client, catalog, sandbox, monkeypatch, tmp_path):
    from kognitos_books import Runtime

    link = client.v1.payment_links.create(params={
        "line_items": [{"price": catalog["one_time"].id, "quantity": 1}]})
    monkeypatch.setenv("KBOOKS_STRIPE_PAY_API_KEY", TEST_KEY)
    monkeypatch.setenv("KBOOKS_STRIPE_PAY_API_BASE", sandbox.url)
    rt = Runtime(home=tmp_path)
    result = rt.run(f'get a payment link from stripe whose id is "{link.id}"\n'
                    "deactivate the payment link\n", journal=False)
    assert result.ok, [(s.line, s.error) for s in result.failures]
    assert client.v1.payment_links.retrieve(link.id).active is False
    result = rt.run(f'get a payment link from stripe whose id is "{link.id}"\n'
                    "activate the payment link\n", journal=False)
    assert result.ok, [(s.line, s.error) for s in result.failures]
    assert client.v1.payment_links.retrieve(link.id).active is True
    session = create(client, line_items=[{"price": catalog["one_time"].id, "quantity": 1}])
    result = rt.run(f'get a checkout session from stripe whose id is "{session.id}"\n'
                    "expire the checkout session\n", journal=False)
    assert result.ok, [(s.line, s.error) for s in result.failures]
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
