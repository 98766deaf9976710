"""Every object and operation through the real SDK: what comes back is what Stripe returns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import stripe
from sandbox_shapes import declared_fields, undeclared_fields
from stripe_pay.sandbox.resources import Backend
from stripe_pay.sandbox.shapes import INCLUDABLE

SHAPES = {shape.object: shape for shape in Backend.declared_shapes()}
RESOURCE_CLASSES = {kind: shape.sdk_class for kind, shape in SHAPES.items()}


@pytest.fixture
def world(client: stripe.StripeClient) -> dict[str, Any]:
    """One of each object, made with many of their parameters, as raw JSON dicts."""
    customer = client.v1.customers.create(params={
        "email": "jenny@example.com", "name": "Jenny Rosen", "phone": "+15555550100",
        "description": "first customer", "metadata": {"plan": "gold"},
        "address": {"city": "Paris", "country": "FR", "line1": "1 rue de Rivoli"},
        "shipping": {"name": "Jenny", "address": {"city": "Lyon"}},
        "invoice_settings": {"footer": "Thanks", "custom_fields": [{"name": "PO", "value": "7"}],
                             "rendering_options": {"amount_tax_display": "exclude_tax"}},
        "preferred_locales": ["fr", "en"], "tax_exempt": "none",
    })
    product = client.v1.products.create(params={
        "name": "T-shirt", "description": "Gray cotton", "images": ["https://img.example/t.png"],
        "marketing_features": [{"name": "Soft"}], "shippable": True,
        "package_dimensions": {"height": 1.5, "length": 20, "weight": 200, "width": 15},
        "url": "https://shop.example/t", "unit_label": "shirt", "metadata": {"sku": "T1"},
    })
    price = client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "unit_amount": 2000, "nickname": "standard",
        "lookup_key": "tshirt_std", "tax_behavior": "exclusive", "metadata": {"tier": "a"},
    })
    recurring = client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "unit_amount": 500,
        "recurring": {"interval": "month", "interval_count": 3},
        "transform_quantity": {"divide_by": 10, "round": "up"},
    })
    invoice = client.v1.invoices.create(params={
        "customer": customer.id, "collection_method": "send_invoice", "days_until_due": 30,
        "description": "March", "footer": "Thank you", "metadata": {"order": "42"},
        "custom_fields": [{"name": "Ref", "value": "A1"}],
        "rendering": {"amount_tax_display": "include_inclusive_tax", "pdf": {"page_size": "a4"}},
        "shipping_details": {"name": "Jenny", "address": {"city": "Lyon"}},
    })
    item = client.v1.invoice_items.create(params={
        "customer": customer.id, "pricing": {"price": price.id}, "quantity": 3,
        "invoice": invoice.id, "description": "Shirts", "metadata": {"size": "M"},
        "period": {"start": 1_700_000_000, "end": 1_700_086_400},
    })
    lines = client.v1.invoices.line_items.list(invoice.id)
    session = client.v1.checkout.sessions.create(params={
        "customer": customer.id, "success_url": "https://example.com/done",
        "cancel_url": "https://example.com/cart", "client_reference_id": "cart-7",
        "metadata": {"cart": "7"}, "line_items": [{"price": price.id, "quantity": 2}]})
    link = client.v1.payment_links.create(params={
        "line_items": [{"price": recurring.id, "quantity": 1}], "metadata": {"plan": "q"}})
    paid = client.v1.payment_intents.create(params={
        "amount": 2000, "currency": "usd", "customer": customer.id, "confirm": True,
        "payment_method": "pm_card_bypassPending", "description": "Shirts",
        "metadata": {"order": "42"}, "receipt_email": "jenny@example.com",
        "shipping": {"name": "Jenny", "carrier": "UPS", "address": {"city": "Lyon"}},
    })
    refund = client.v1.refunds.create(params={
        "payment_intent": paid.id, "amount": 500, "reason": "requested_by_customer",
        "metadata": {"why": "size"}})
    payout = client.v1.payouts.create(params={"amount": 1000, "currency": "usd",
                                              "description": "Weekly",
                                              "metadata": {"week": "12"}})
    disputed = client.v1.payment_intents.create(params={
        "amount": 1500, "currency": "usd", "payment_method": "pm_card_createDispute",
        "confirm": True})
    dispute = client.v1.disputes.list(params={"payment_intent": disputed.id}).data[0]
    charge = client.v1.charges.retrieve(paid.latest_charge)
    method = client.v1.payment_methods.create(params={
        "type": "card", "card": {"token": "tok_visa"}, "metadata": {"order_id": "123"},
        "billing_details": {"email": "jenny@example.com", "address": {"city": "Paris"}},
    })
    card = client.v1.customers.payment_sources.create(customer.id, params={
        "source": "tok_mastercard", "metadata": {"kind": "old"}})
    setup = client.v1.setup_intents.create(params={
        "customer": customer.id, "payment_method": method.id, "description": "save the card",
        "metadata": {"step": "1"}, "confirm": True})
    credited = client.v1.invoices.create(params={"customer": customer.id})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": credited.id,
                                           "amount": 3000, "currency": "usd"})
    credited = client.v1.invoices.finalize_invoice(credited.id)
    client.v1.invoices.pay(credited.id, params={"paid_out_of_band": True})
    note = client.v1.credit_notes.create(params={
        "invoice": credited.id, "reason": "order_change", "memo": "Late", "credit_amount": 500,
        "metadata": {"case": "9"}, "lines": [
            {"type": "invoice_line_item", "invoice_line_item": credited.lines.data[0].id,
             "amount": 400},
            {"type": "custom_line_item", "description": "Goodwill", "unit_amount": 100}]})
    coupon = client.v1.coupons.create(params={
        "id": "TEN", "percent_off": 10, "duration": "repeating", "duration_in_months": 3,
        "max_redemptions": 5, "name": "Ten percent", "metadata": {"campaign": "spring"},
        "applies_to": {"products": [product.id]}})
    promo = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": coupon.id}, "code": "SPRING10",
        "customer": customer.id, "max_redemptions": 2, "metadata": {"channel": "mail"},
        "restrictions": {"minimum_amount": 1000, "minimum_amount_currency": "usd"}})
    rate = client.v1.tax_rates.create(params={
        "display_name": "Sales tax", "percentage": 7.25, "inclusive": False, "country": "US",
        "state": "CA", "jurisdiction": "US - CA", "tax_type": "sales_tax",
        "description": "California", "metadata": {"region": "west"}})
    discounted = client.v1.invoices.create(params={
        "customer": customer.id, "discounts": [{"coupon": coupon.id}],
        "default_tax_rates": [rate.id], "expand": ["discounts"]})
    quote = client.v1.quotes.create(params={
        "customer": customer.id, "description": "Offer", "header": "Hello", "footer": "Bye",
        "metadata": {"deal": "7"}, "line_items": [{"price": price.id, "quantity": 2}]})
    portal = client.v1.billing_portal.configurations.create(params={
        "features": {"invoice_history": {"enabled": True}, "customer_update": {
            "enabled": True, "allowed_updates": ["email"]}},
        "business_profile": {"headline": "Acme"}, "login_page": {"enabled": True},
        "default_return_url": "https://example.com/back", "name": "Main",
        "metadata": {"team": "billing"}})
    portal_session = client.v1.billing_portal.sessions.create(params={
        "customer": customer.id, "locale": "en"})
    plan = client.v1.plans.create(params={
        "amount": 1200, "currency": "usd", "interval": "month", "interval_count": 2,
        "product": product.id, "nickname": "Bi-monthly", "trial_period_days": 7,
        "transform_usage": {"divide_by": 10, "round": "up"}, "metadata": {"old": "yes"}})
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_767_225_600,
                                                              "name": "Q1"})
    payer = client.v1.customers.create(params={"test_clock": clock.id})
    client.v1.payment_methods.attach("pm_card_visa", params={"customer": payer.id})
    subscription = client.v1.subscriptions.create(params={
        "customer": payer.id, "items": [{"price": recurring.id, "quantity": 20,
                                         "metadata": {"seat": "a"}}],
        "default_payment_method": client.v1.payment_methods.list(
            params={"customer": payer.id}).data[0].id,
        "description": "Quarterly", "metadata": {"plan": "q"}, "trial_period_days": 7})
    schedule = client.v1.subscription_schedules.create(params={
        "customer": payer.id, "start_date": "now", "end_behavior": "cancel",
        "metadata": {"plan": "steps"}, "phases": [
            {"items": [{"price": recurring.id, "quantity": 2, "metadata": {"seat": "b"}}],
             "duration": {"interval": "month", "interval_count": 3},
             "description": "Intro", "metadata": {"phase": "1"}},
            {"items": [{"price": recurring.id, "quantity": 5}]}]})
    hook = client.v1.webhook_endpoints.create(params={
        "url": "https://example.com/hooks", "enabled_events": ["charge.succeeded"],
        "description": "Charges", "metadata": {"team": "ops"}})
    return {
        "event": client.v1.events.list(params={"type": "plan.created"}).data[0].to_dict(),
        "webhook_endpoint": client.v1.webhook_endpoints.retrieve(hook.id).to_dict(),
        "subscription_schedule": client.v1.subscription_schedules.retrieve(
            schedule.id).to_dict(),
        "plan": plan.to_dict(),
        "billing_portal.configuration": portal.to_dict(),
        "billing_portal.session": portal_session.to_dict(),
        "quote": client.v1.quotes.finalize_quote(quote.id).to_dict(),
        "subscription": client.v1.subscriptions.retrieve(subscription.id).to_dict(),
        "subscription_item": client.v1.subscription_items.retrieve(
            subscription["items"].data[0].id).to_dict(),
        "test_helpers.test_clock": client.v1.test_helpers.test_clocks.retrieve(
            clock.id).to_dict(),
        "credit_note": note.to_dict(),
        "credit_note_line_item": note.lines.data[0].to_dict(),
        "customer_balance_transaction": client.v1.customers.balance_transactions.retrieve(
            customer.id, note.customer_balance_transaction).to_dict(),
        "coupon": client.v1.coupons.retrieve(coupon.id).to_dict(),
        "promotion_code": promo.to_dict(),
        "tax_rate": rate.to_dict(),
        "discount": discounted.discounts[0].to_dict(),
        "checkout.session": client.v1.checkout.sessions.retrieve(session.id).to_dict(),
        "payment_link": link.to_dict(),
        "item": client.v1.checkout.sessions.line_items.list(session.id).data[0].to_dict(),
        "payment_method": client.v1.payment_methods.retrieve(method.id).to_dict(),
        "card": client.v1.customers.payment_sources.retrieve(customer.id, card.id).to_dict(),
        "setup_intent": client.v1.setup_intents.retrieve(setup.id).to_dict(),
        "customer": client.v1.customers.retrieve(customer.id).to_dict(),
        "product": client.v1.products.retrieve(product.id).to_dict(),
        "price": client.v1.prices.retrieve(price.id).to_dict(),
        "recurring_price": recurring.to_dict(),
        "invoiceitem": item.to_dict(),
        "invoice": client.v1.invoices.retrieve(invoice.id).to_dict(),
        "line_item": lines.data[0].to_dict(),
        "payment_intent": client.v1.payment_intents.retrieve(paid.id).to_dict(),
        "charge": charge.to_dict(),
        "refund": refund.to_dict(),
        "dispute": dispute.to_dict(),
        "payout": payout.to_dict(),
        "balance_transaction": client.v1.balance_transactions.retrieve(
            charge.balance_transaction).to_dict(),
    }


def _raw(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_every_returned_field_is_declared_by_the_sdk(world, kind):
    data = world[kind]
    assert data["object"] == kind
    assert set(data) == SHAPES[kind].fields_of(data)
    assert undeclared_fields(data, RESOURCE_CLASSES[kind]) == []


def test_the_world_has_every_shape(world):
    assert set(SHAPES) <= set(world)


def test_recurring_price_fields_are_declared_by_the_sdk(world):
    assert undeclared_fields(world["recurring_price"], stripe.Price) == []
    assert world["recurring_price"]["recurring"]["interval_count"] == 3
    assert world["recurring_price"]["type"] == "recurring"


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_every_field_of_stripes_example_object_is_present(world, expected_fields, kind):
    assert kind in expected_fields, f"add Stripe's example {kind} to expected_fields.json"
    missing = set(expected_fields[kind]) - set(world[kind])
    # Stripe's examples can lag the API version: a field the SDK's class no longer declares
    # was removed from this version (invoice.subscription moved to parent.subscription_details).
    removed = {field for field in missing if field not in declared_fields(RESOURCE_CLASSES[kind])}
    # A field Stripe returns only when asked for with expand[] is left out, as the shape says
    # (a charge's refunds, since 2022-11-15).
    includable = {field for field in missing if SHAPES[kind].absent.get(field) == INCLUDABLE}
    assert missing == removed | includable
    assert includable == ({"refunds"} if kind == "charge" else set())
    if kind == "invoice":
        assert removed == {"subscription"}
    else:
        assert removed == set()


def test_the_check_of_declared_fields_can_fail():
    assert undeclared_fields({"id": "cus_1", "object": "customer", "nickname": "x",
                              "address": {"city": "Paris", "planet": "Mars"}},
                             stripe.Customer) == ["nickname", "address.planet"]


def test_created_objects_echo_their_parameters(world):
    customer, product, price = world["customer"], world["product"], world["price"]
    assert customer["id"].startswith("cus_")
    assert customer["email"] == "jenny@example.com"
    assert customer["address"] == {"city": "Paris", "country": "FR", "line1": "1 rue de Rivoli",
                                   "line2": None, "postal_code": None, "state": None}
    assert customer["invoice_settings"]["custom_fields"] == [{"name": "PO", "value": "7"}]
    assert customer["metadata"] == {"plan": "gold"}
    assert customer["livemode"] is False
    assert customer["currency"] == "usd"  # set by its first invoice item
    assert product["id"].startswith("prod_")
    assert product["package_dimensions"] == {"height": 1.5, "length": 20.0, "weight": 200.0,
                                             "width": 15.0}
    assert product["type"] == "service"
    assert price["id"].startswith("price_")
    assert (price["unit_amount"], price["unit_amount_decimal"]) == (2000, Decimal("2000"))
    assert price["type"] == "one_time" and price["lookup_key"] == "tshirt_std"


def test_invoice_items_and_lines_carry_the_price(world):
    item, line, invoice = world["invoiceitem"], world["line_item"], world["invoice"]
    assert item["id"].startswith("ii_") and line["id"].startswith("il_")
    assert item["amount"] == 6000 and item["quantity"] == 3
    assert item["pricing"]["price_details"]["price"] == world["price"]["id"]
    assert item["pricing"]["price_details"]["product"] == world["product"]["id"]
    assert item["period"] == {"start": 1_700_000_000, "end": 1_700_086_400}
    assert line["parent"]["invoice_item_details"]["invoice_item"] == item["id"]
    assert line["invoice"] == invoice["id"] and line["amount"] == 6000
    assert invoice["lines"]["data"] == [line]
    assert invoice["lines"]["url"] == f"/v1/invoices/{invoice['id']}/lines"


def test_sdk_builds_typed_objects(client):
    customer = client.v1.customers.create(params={"name": "Typed"})
    assert isinstance(customer, stripe.Customer)
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    assert isinstance(invoice, stripe.Invoice)
    assert isinstance(invoice.lines, stripe.ListObject)
    assert isinstance(invoice.status_transitions, stripe.Invoice.StatusTransitions)


def test_customer_update_merges_metadata_and_unsets_fields(client):
    customer = client.v1.customers.create(params={
        "email": "a@example.com", "description": "old", "metadata": {"a": "1", "b": "2"}})
    updated = client.v1.customers.update(customer.id, params={
        "description": "", "metadata": {"a": "", "c": "3"}, "balance": -500})
    assert updated.description is None
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    assert updated.balance == -500
    assert updated.email == "a@example.com"
    cleared = client.v1.customers.update(customer.id, params={"metadata": ""})
    assert cleared.metadata.to_dict() == {}


def test_customer_delete_and_deleted_stub(client, expected_fields):
    customer = client.v1.customers.create(params={"email": "gone@example.com"})
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    assert sorted(deleted.to_dict()) == expected_fields["deleted_customer"]
    again = client.v1.customers.retrieve(customer.id)
    assert again.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    assert customer.id not in [c.id for c in client.v1.customers.list().data]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.update(customer.id, params={"name": "x"})
    assert raised.value.http_status == 404 and raised.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.delete(customer.id)


def test_product_update_and_delete(client, expected_fields):
    product = client.v1.products.create(params={"name": "Mug", "description": "big"})
    updated = client.v1.products.update(product.id, params={"name": "Cup", "description": "",
                                                              "active": False})
    assert (updated.name, updated.description, updated.active) == ("Cup", None, False)
    assert updated.updated >= product.updated
    deleted = client.v1.products.delete(product.id)
    assert sorted(deleted.to_dict()) == expected_fields["deleted_product"]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.products.retrieve(product.id)
    error = raised.value
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "id")
    assert error.user_message == f"No such product: '{product.id}'"


def test_product_with_prices_cannot_be_deleted(client):
    product = client.v1.products.create(params={"name": "Hat"})
    client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                    "unit_amount": 100, "active": False})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.products.delete(product.id)
    assert raised.value.http_status == 400
    assert raised.value.user_message == (
        "This product cannot be deleted because it has one or more user-created prices.")
    assert client.v1.products.retrieve(product.id).name == "Hat"


def test_product_with_custom_id_and_default_price(client):
    product = client.v1.products.create(params={
        "id": "tshirt", "name": "T-shirt",
        "default_price_data": {"currency": "eur", "unit_amount": 1500}})
    assert product.id == "tshirt"
    price = client.v1.prices.retrieve(product.default_price)
    assert (price.product, price.currency, price.unit_amount) == ("tshirt", "eur", 1500)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.products.create(params={"id": "tshirt", "name": "again"})
    assert raised.value.code == "resource_already_exists"
    expanded = client.v1.products.retrieve("tshirt", params={"expand": ["default_price"]})
    assert expanded.default_price.unit_amount == 1500
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.prices.update(price.id, params={"active": False})
    assert "default price" in raised.value.user_message


def test_prices_update_and_cannot_be_deleted(client):
    product = client.v1.products.create(params={"name": "Pen"})
    price = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                            "unit_amount": 300})
    archived = client.v1.prices.update(price.id, params={"active": False, "nickname": "old",
                                                         "metadata": {"k": "v"}})
    assert (archived.active, archived.nickname, archived.metadata.k) == (False, "old", "v")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.prices.update(price.id, params={"unit_amount": 400})
    assert raised.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.raw_request("delete", f"/v1/prices/{price.id}")
    assert raised.value.http_status == 404
    assert raised.value.user_message.startswith(
        f"Unrecognized request URL (DELETE: /v1/prices/{price.id}).")
    assert client.v1.prices.retrieve(price.id).active is False


def test_price_from_product_data_and_lookup_key_transfer(client):
    first = client.v1.prices.create(params={"currency": "usd", "unit_amount": 100,
                                            "product_data": {"name": "Sticker"},
                                            "lookup_key": "sticker"})
    assert client.v1.products.retrieve(first.product).name == "Sticker"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.prices.create(params={"currency": "usd", "unit_amount": 120,
                                        "product": first.product, "lookup_key": "sticker"})
    assert f"`{first.id}`" in raised.value.user_message
    second = client.v1.prices.create(params={"currency": "usd", "unit_amount": 120,
                                             "product": first.product, "lookup_key": "sticker",
                                             "transfer_lookup_key": True})
    assert second.lookup_key == "sticker"
    assert client.v1.prices.retrieve(first.id).lookup_key is None


def test_tiered_and_decimal_prices_bill_as_stripe_does(client):
    customer = client.v1.customers.create()
    product = client.v1.products.create(params={"name": "Seats"})
    graduated = client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "tiers": [{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}]})
    volume = client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "billing_scheme": "tiered",
        "tiers_mode": "volume",
        "tiers": [{"up_to": 5, "unit_amount": 1000},
                  {"up_to": "inf", "unit_amount": 800, "flat_amount": 50}]})
    decimal_price = client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "unit_amount_decimal": "12.5"})
    amounts = [client.v1.invoice_items.create(params={
        "customer": customer.id, "pricing": {"price": price.id}, "quantity": 7}).amount
        for price in (graduated, volume, decimal_price)]
    assert amounts == [5 * 1000 + 2 * 800, 7 * 800 + 50, 88]
    assert decimal_price.unit_amount is None
    assert decimal_price.unit_amount_decimal == Decimal("12.5")


def test_invoice_item_update_and_delete_follow_the_invoice(client, expected_fields):
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    first = client.v1.invoice_items.create(params={"customer": customer.id, "amount": 1000,
                                                   "currency": "usd", "invoice": invoice.id})
    second = client.v1.invoice_items.create(params={"customer": customer.id, "amount": 250,
                                                    "currency": "usd", "invoice": invoice.id})
    current = client.v1.invoices.retrieve(invoice.id)
    assert (current.subtotal, current.total, current.amount_due, current.amount_remaining) == (
        1250, 1250, 1250, 1250)
    client.v1.invoice_items.update(first.id, params={"amount": 4000, "description": "more"})
    assert client.v1.invoices.retrieve(invoice.id).total == 4250
    deleted = client.v1.invoice_items.delete(second.id)
    assert sorted(deleted.to_dict()) == expected_fields["deleted_invoiceitem"]
    current = client.v1.invoices.retrieve(invoice.id)
    assert current.total == 4000
    assert [line.parent.invoice_item_details.invoice_item for line in current.lines.data] == [
        first.id]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.invoice_items.retrieve(second.id)
    assert raised.value.user_message == f"No such invoiceitem: '{second.id}'"


def test_invoice_update_and_delete_draft(client, expected_fields):
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    updated = client.v1.invoices.update(invoice.id, params={
        "collection_method": "send_invoice", "days_until_due": 14, "description": "d",
        "metadata": {"po": "9"}})
    assert updated.collection_method == "send_invoice"
    assert updated.due_date == invoice.created + 14 * 86_400
    deleted = client.v1.invoices.delete(invoice.id)
    assert sorted(deleted.to_dict()) == expected_fields["deleted_invoice"]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.invoices.retrieve(invoice.id)
    assert raised.value.http_status == 404


def test_expand_replaces_ids_with_objects(client):
    customer = client.v1.customers.create(params={"email": "x@example.com"})
    product = client.v1.products.create(params={"name": "Book"})
    price = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                            "unit_amount": 900})
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    item = client.v1.invoice_items.create(params={
        "customer": customer.id, "pricing": {"price": price.id}, "invoice": invoice.id},
        options={})
    expanded = client.v1.invoice_items.retrieve(item.id, params={
        "expand": ["invoice.customer", "pricing.price_details.price.product", "customer"]})
    assert isinstance(expanded.invoice, stripe.Invoice)
    assert expanded.invoice.customer.email == "x@example.com"
    assert expanded.pricing.price_details.price.product.name == "Book"
    assert expanded.customer.id == customer.id
    listed = client.v1.invoices.list(params={"expand": ["data.customer"]})
    assert listed.data[0].customer.email == "x@example.com"
    lines = client.v1.invoices.line_items.list(
        invoice.id, params={"expand": ["data.pricing.price_details.price"]})
    assert lines.data[0].pricing.price_details.price.unit_amount == 900
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve(customer.id, params={"expand": ["email"]})
    assert raised.value.user_message == "This property cannot be expanded (email)."
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list(params={"expand": ["data.email"]})
    assert raised.value.user_message == "This property cannot be expanded (data.email)."
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list(params={"expand": ["email"]})
    assert raised.value.user_message == "This property cannot be expanded (email)."
