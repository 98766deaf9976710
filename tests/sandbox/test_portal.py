"""The customer portal through the real SDK: configurations with their features, and
sessions whose url leads to the sandbox's page for that customer."""

from __future__ import annotations

import json
import urllib.request

import pytest
import stripe
from sandbox_http import raw_request, refused
from test_sandbox_shapes import object_problems


@pytest.fixture
def customer(client: stripe.StripeClient):
    return client.v1.customers.create(params={"email": "portal@example.com"})


def test_a_configuration_keeps_its_features(client):
    made = client.v1.billing_portal.configurations.create(params={
        "features": {"invoice_history": {"enabled": True},
                     "customer_update": {"enabled": True,
                                         "allowed_updates": ["email", "address"]}},
        "business_profile": {"headline": "Acme billing"},
        "default_return_url": "https://example.com/account", "name": "Main",
        "metadata": {"team": "billing"}})
    assert made.id.startswith("bpc_") and made.object == "billing_portal.configuration"
    assert (made.active, made.is_default, made.name) == (True, True, "Main")
    assert made.features.invoice_history.enabled
    assert made.features.customer_update.allowed_updates == ["email", "address"]
    assert made.features.payment_method_update.enabled is False
    assert made.business_profile.headline == "Acme billing"
    assert object_problems(made.last_response.data) == []
    updated = client.v1.billing_portal.configurations.update(made.id, params={
        "features": {"payment_method_update": {"enabled": True}},
        "login_page": {"enabled": True}})
    assert updated.features.payment_method_update.enabled
    assert updated.features.invoice_history.enabled  # (kept)
    assert updated.login_page.enabled and updated.login_page.url
    assert updated.updated >= made.updated
    second = client.v1.billing_portal.configurations.create(params={
        "features": {"invoice_history": {"enabled": True}}})
    assert second.is_default is False
    listed = client.v1.billing_portal.configurations.list(params={"is_default": False})
    assert [found.id for found in listed.data] == [second.id]
    off = client.v1.billing_portal.configurations.update(second.id, params={"active": False})
    assert off.active is False
    refused(lambda: client.v1.billing_portal.configurations.update(
        made.id, params={"active": False}), "default configuration", param="active")
    assert client.v1.billing_portal.configurations.retrieve(made.id).name == "Main"


def test_subscription_features_are_kept_and_shown(client, customer):
    product = client.v1.products.create(params={"name": "Pro"})
    monthly = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                              "unit_amount": 900,
                                              "recurring": {"interval": "month"}})
    made = client.v1.billing_portal.configurations.create(params={"features": {
        "subscription_cancel": {"enabled": True, "mode": "immediately",
                                "proration_behavior": "create_prorations",
                                "cancellation_reason": {"enabled": True,
                                                        "options": ["too_expensive"]}},
        "subscription_pause": {"enabled": True},
        "subscription_update": {"enabled": True, "default_allowed_updates": ["price"],
                                "products": [{"product": product.id,
                                              "prices": [monthly.id]}]}}})
    cancel = made.features.subscription_cancel
    assert (cancel.enabled, cancel.mode, cancel.proration_behavior) == (
        True, "immediately", "create_prorations")
    assert cancel.cancellation_reason.options == ["too_expensive"]
    assert made.features.subscription_pause.enabled
    update = made.features.subscription_update
    assert update.default_allowed_updates == ["price"]
    assert [(one.product, one.prices, one.adjustable_quantity.enabled)
            for one in update.products] == [(product.id, [monthly.id], False)]
    assert update.trial_update_behavior == "end_trial"  # (Stripe's default, kept)
    assert object_problems(made.last_response.data) == []
    # Updating merges: cancel stays as it was when only pause changes.
    updated = client.v1.billing_portal.configurations.update(made.id, params={
        "features": {"subscription_pause": {"enabled": False}}})
    assert updated.features.subscription_cancel.mode == "immediately"
    assert updated.features.subscription_pause.enabled is False
    session = client.v1.billing_portal.sessions.create(params={"customer": customer.id})
    with urllib.request.urlopen(session.url, timeout=10) as page:
        shown = json.loads(page.read())
    assert shown["features"] == ["subscription_cancel", "subscription_update"]
    one_time = client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                               "unit_amount": 100})
    refused(lambda: client.v1.billing_portal.configurations.create(params={"features": {
        "subscription_update": {"enabled": True, "products": [
            {"product": product.id, "prices": [one_time.id]}]}}}),
            "recurring price", param="features[subscription_update][products][0][prices][0]")
    refused(lambda: client.v1.billing_portal.configurations.create(params={"features": {
        "subscription_update": {"enabled": True, "products": [
            {"product": "prod_missing", "prices": [monthly.id]}]}}}),
            "No such product", param="features[subscription_update][products][0][product]")


def test_a_configuration_needs_features(client):
    refused(lambda: client.v1.billing_portal.configurations.create(params={}),
            "features", code="parameter_missing")


def test_a_session_url_leads_to_the_customers_portal(client, customer, sandbox):
    refused(lambda: client.v1.billing_portal.sessions.create(params={
        "customer": customer.id}), "create a billing portal configuration first",
            param="configuration")
    configuration = client.v1.billing_portal.configurations.create(params={
        "features": {"invoice_history": {"enabled": True}},
        "default_return_url": "https://example.com/back"})
    session = client.v1.billing_portal.sessions.create(params={"customer": customer.id,
                                                               "locale": "fr"})
    assert session.id.startswith("bps_") and session.object == "billing_portal.session"
    assert (session.customer, session.configuration, session.return_url, session.locale) == (
        customer.id, configuration.id, "https://example.com/back", "fr")
    assert session.url == f"{sandbox.url}/_sandbox/portal/{session.id}"
    assert object_problems(session.last_response.data) == []
    with urllib.request.urlopen(session.url, timeout=10) as page:
        shown = json.loads(page.read())
    assert shown["customer"]["email"] == "portal@example.com"
    assert (shown["features"], shown["return_url"]) == (["invoice_history"],
                                                        "https://example.com/back")
    status, _, body = raw_request(sandbox, "GET", "/_sandbox/portal/bps_missing", key=None)
    assert status == 404 and "No such" in body["error"]["message"]


def test_session_refusals(client, customer):
    configuration = client.v1.billing_portal.configurations.create(params={
        "features": {"invoice_history": {"enabled": True}}})
    other = client.v1.billing_portal.configurations.create(params={
        "features": {"invoice_history": {"enabled": True}}})
    client.v1.billing_portal.configurations.update(other.id, params={"active": False})
    refused(lambda: client.v1.billing_portal.sessions.create(params={
        "customer": customer.id, "configuration": other.id}), "not active",
            param="configuration")
    refused(lambda: client.v1.billing_portal.sessions.create(params={
        "configuration": configuration.id}), "customer", code="parameter_missing")
    refused(lambda: client.v1.billing_portal.sessions.create(params={"customer": "cus_none"}),
            "No such customer", param="customer")
    made = client.v1.billing_portal.sessions.create(params={
        "customer": customer.id, "configuration": configuration.id,
        "return_url": "https://example.com/r", "expand": ["configuration"]})
    assert made.return_url == "https://example.com/r"
    assert made.configuration.id == configuration.id
    assert object_problems(made.last_response.data) == []
