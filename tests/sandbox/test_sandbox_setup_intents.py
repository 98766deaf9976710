"""Setup intents through the real SDK: Stripe's state machine, what each kind of test card does
on confirm, the customer's 3D Secure step through the sandbox's control, and the endive API
version's refusal of ``payment_method_types``."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
import stripe
from sandbox_http import raw_request, refused
from stripe_pay.sandbox import cards
from stripe_pay.sandbox.errors import ApiError
from stripe_pay.sandbox.params import validate

AUTHENTICATING = [card.name for card in cards.CARDS if card.behaviour == "authenticates"]


def authenticate(sandbox: Any, intent: Any, outcome: str = "complete") -> dict[str, Any]:
    """The customer's 3D Secure step, at the URL the intent's next action names."""
    action = intent.next_action
    url = (action.redirect_to_url.url if action.type == "redirect_to_url"
           else action.use_stripe_sdk["stripe_js"])
    status, _, body = raw_request(sandbox, "POST", url, key=None,
                                  body=json.dumps({"outcome": outcome}))
    assert status == 200, body
    return body


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": "jenny@example.com"})


def test_create_defaults(client):
    intent = client.v1.setup_intents.create()
    assert intent.id.startswith("seti_") and intent.object == "setup_intent"
    assert (intent.status, intent.usage, intent.customer, intent.payment_method) == (
        "requires_payment_method", "off_session", None, None)
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert intent.payment_method_types == ["card"]
    assert intent.automatic_payment_methods.enabled is True
    assert (intent.last_setup_error, intent.next_action, intent.cancellation_reason) == (
        None, None, None)
    assert client.v1.setup_intents.retrieve(intent.id).to_dict() == intent.to_dict()


def test_a_payment_method_then_confirm_saves_it_to_the_customer(client, sandbox, customer):
    intent = client.v1.setup_intents.create(params={
        "customer": customer.id, "payment_method": "pm_card_visa", "usage": "on_session",
        "description": "card for later", "metadata": {"step": "1"}})
    assert intent.status == "requires_confirmation"
    assert intent.payment_method.startswith("pm_") and intent.usage == "on_session"
    assert client.v1.payment_methods.retrieve(intent.payment_method).customer is None
    done = client.v1.setup_intents.confirm(intent.id)
    assert (done.status, done.payment_method) == ("succeeded", intent.payment_method)
    method = client.v1.payment_methods.retrieve(done.payment_method)
    assert method.customer == customer.id
    assert sandbox.backend.payment_methods.objects[method.id].set_up
    expanded = client.v1.setup_intents.retrieve(done.id, params={"expand": ["payment_method"]})
    assert expanded.payment_method.card.last4 == "4242"


def test_without_a_customer_the_method_is_set_up_but_not_attached(client):
    done = client.v1.setup_intents.create(params={"payment_method": "pm_card_mastercard",
                                                  "confirm": True})
    assert done.status == "succeeded"
    # one new method for the test id, used by the create and its confirmation alike
    assert [m.id for m in client.v1.payment_methods.list().data] == [done.payment_method]
    assert client.v1.payment_methods.retrieve(done.payment_method).customer is None


def test_confirm_can_bring_the_payment_method(client, customer):
    intent = client.v1.setup_intents.create(params={"customer": customer.id})
    error = refused(lambda: client.v1.setup_intents.confirm(intent.id),
                    "missing a payment method", code="setup_intent_unexpected_state",
                    param="payment_method")
    assert error.http_status == 400
    assert client.v1.setup_intents.retrieve(intent.id).status == "requires_payment_method"
    done = client.v1.setup_intents.confirm(intent.id, params={"payment_method": "pm_card_amex"})
    assert done.status == "succeeded"
    [saved] = client.v1.customers.payment_methods.list(customer.id).data
    assert (saved.id, saved.card.brand) == (done.payment_method, "amex")


@pytest.mark.parametrize("name", AUTHENTICATING)
def test_cards_that_authenticate_wait_for_the_customer(client, sandbox, customer, name):
    intent = client.v1.setup_intents.create(params={
        "customer": customer.id, "payment_method": f"pm_card_{name}", "confirm": True})
    assert intent.status == "requires_action"
    assert intent.next_action.type == "use_stripe_sdk"
    assert client.v1.payment_methods.retrieve(intent.payment_method).customer is None
    refused(lambda: client.v1.setup_intents.confirm(intent.id), "status of requires_action",
            code="setup_intent_unexpected_state")
    refused(lambda: client.v1.setup_intents.update(intent.id, params={"description": "x"}),
            "requires_action", code="setup_intent_unexpected_state")
    after = authenticate(sandbox, intent)
    assert (after["status"], after["next_action"]) == ("succeeded", None)
    assert client.v1.payment_methods.retrieve(intent.payment_method).customer == customer.id
    status, _, body = raw_request(sandbox, "POST", f"/_sandbox/authenticate/{intent.id}",
                                  key=None, body="{}")
    assert status == 400 and "succeeded" in body["error"]["message"]


def test_with_a_return_url_the_customer_is_redirected(client, sandbox, customer):
    intent = client.v1.setup_intents.create(params={
        "customer": customer.id, "payment_method": "pm_card_authenticationRequiredOnSetup",
        "confirm": True, "return_url": "https://shop.example/done"})
    action = intent.next_action
    assert action.type == "redirect_to_url"
    assert action.redirect_to_url.return_url == "https://shop.example/done"
    assert action.redirect_to_url.url == f"/_sandbox/authenticate/{intent.id}"
    failed = authenticate(sandbox, intent, "fail")
    assert (failed["status"], failed["payment_method"]) == ("requires_payment_method", None)
    assert failed["last_setup_error"]["code"] == "setup_intent_authentication_failure"
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    # the customer tries again with another card
    done = client.v1.setup_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert (done.status, done.last_setup_error) == ("succeeded", None)


def test_a_card_declined_after_authentication(client, sandbox, customer):
    intent = client.v1.setup_intents.create(params={
        "customer": customer.id, "confirm": True,
        "payment_method": "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds"})
    assert intent.status == "requires_action"
    after = authenticate(sandbox, intent)
    assert after["status"] == "requires_payment_method"
    error = after["last_setup_error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error", "card_declined", "insufficient_funds")
    assert error["payment_method"]["id"] == intent.payment_method


@pytest.mark.parametrize("name", ["visa_chargeDeclined", "chargeDeclinedExpiredCard",
                                  "visa_chargeDeclinedLostCard"])
def test_a_declined_card_fails_the_setup(client, sandbox, customer, name):
    card = cards.named(name)
    intent = client.v1.setup_intents.create(params={"customer": customer.id,
                                                    "payment_method": f"pm_card_{name}"})
    mark = sandbox.backend.changes.last_seq
    with pytest.raises(stripe.CardError) as raised:
        client.v1.setup_intents.confirm(intent.id)
    assert (raised.value.http_status, raised.value.code, raised.value.error.decline_code) == (
        402, card.code, card.decline_code)
    failed = client.v1.setup_intents.retrieve(intent.id)
    assert (failed.status, failed.payment_method) == ("requires_payment_method", None)
    # the error carries copies of the intent after the attempt and of the payment method
    assert raised.value.error.setup_intent.to_dict() == failed.to_dict()
    assert raised.value.error.payment_method.id == intent.payment_method
    last = failed.last_setup_error
    assert (last.type, last.code, last.to_dict().get("decline_code"), last.message) == (
        "card_error", card.code, card.decline_code, card.message)
    assert last.payment_method.id == intent.payment_method
    # the failed attempt is kept, and recorded as the confirm it was
    [change] = sandbox.backend.changes.since(mark)
    assert (change.action, change.id) == ("confirm", intent.id)
    assert change.previous_attributes["status"] == "requires_confirmation"
    # a good card afterwards succeeds and clears the error
    updated = client.v1.setup_intents.update(intent.id, params={"payment_method": "pm_card_visa"})
    assert updated.status == "requires_confirmation"
    done = client.v1.setup_intents.confirm(intent.id)
    assert (done.status, done.last_setup_error) == ("succeeded", None)


def test_a_declined_confirm_on_create_keeps_the_intent(client, sandbox, customer):
    with pytest.raises(stripe.CardError):
        client.v1.setup_intents.create(params={"customer": customer.id, "confirm": True,
                                               "payment_method": "pm_card_chargeDeclined"})
    [kept] = client.v1.setup_intents.list(params={"customer": customer.id}).data
    assert kept.status == "requires_payment_method"
    assert kept.last_setup_error.decline_code == "generic_decline"


def test_a_card_that_fails_on_the_customer_sets_up_fine(client, customer):
    done = client.v1.setup_intents.create(params={
        "customer": customer.id, "payment_method": "pm_card_chargeCustomerFail",
        "confirm": True})
    assert done.status == "succeeded"
    assert client.v1.payment_methods.retrieve(done.payment_method).customer == customer.id


@pytest.mark.parametrize("status", ["requires_payment_method", "requires_confirmation",
                                    "requires_action"])
def test_cancel_from_the_statuses_stripe_allows(client, status):
    params = {"requires_payment_method": {},
              "requires_confirmation": {"payment_method": "pm_card_visa"},
              "requires_action": {"payment_method": "pm_card_authenticationRequired",
                                  "confirm": True}}[status]
    intent = client.v1.setup_intents.create(params=params)
    assert intent.status == status
    canceled = client.v1.setup_intents.cancel(intent.id,
                                              params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason, canceled.next_action) == (
        "canceled", "abandoned", None)
    for call in (lambda: client.v1.setup_intents.cancel(intent.id),
                 lambda: client.v1.setup_intents.confirm(intent.id),
                 lambda: client.v1.setup_intents.update(intent.id,
                                                        params={"metadata": {"a": "1"}})):
        refused(call, "status of canceled", code="setup_intent_unexpected_state")


def test_a_succeeded_intent_cannot_be_canceled(client):
    done = client.v1.setup_intents.create(params={"payment_method": "pm_card_visa",
                                                  "confirm": True})
    refused(lambda: client.v1.setup_intents.cancel(done.id),
            "You cannot cancel this SetupIntent because it has a status of succeeded",
            "requires_payment_method, requires_confirmation, requires_action",
            code="setup_intent_unexpected_state")
    assert client.v1.setup_intents.retrieve(done.id).status == "succeeded"


def test_update_sets_fields_and_the_customer_once(client, customer):
    intent = client.v1.setup_intents.create(params={"metadata": {"a": "1"}})
    updated = client.v1.setup_intents.update(intent.id, params={
        "customer": customer.id, "description": "for the gym", "metadata": {"b": "2"}})
    assert (updated.customer, updated.description) == (customer.id, "for the gym")
    assert updated.metadata.to_dict() == {"a": "1", "b": "2"}
    other = client.v1.customers.create()
    refused(lambda: client.v1.setup_intents.update(intent.id, params={"customer": other.id}),
            "customer can't change", param="customer")
    cleared = client.v1.setup_intents.update(intent.id, params={"payment_method": "pm_card_visa"})
    assert cleared.status == "requires_confirmation"
    back = client.v1.setup_intents.update(intent.id, params={"payment_method": ""})
    assert (back.status, back.payment_method) == ("requires_payment_method", None)


def test_payment_methods_must_be_usable_by_the_intents_customer(client, customer):
    other = client.v1.customers.create()
    theirs = client.v1.payment_methods.attach("pm_card_visa", params={"customer": other.id})
    refused(lambda: client.v1.setup_intents.create(params={
        "customer": customer.id, "payment_method": theirs.id}),
        f"belongs to the Customer {other.id}", param="payment_method")
    refused(lambda: client.v1.setup_intents.create(params={"payment_method": "pm_nothing"}),
            "No such PaymentMethod: 'pm_nothing'", param="payment_method")
    refused(lambda: client.v1.setup_intents.create(params={"customer": "cus_nothing"}),
            "No such customer", param="customer")
    refused(lambda: client.v1.setup_intents.create(params={"on_behalf_of": "acct_1"}),
            "No such account", param="on_behalf_of")
    assert client.v1.setup_intents.list().data == []


@pytest.mark.parametrize("path", ["/v1/setup_intents", "/v1/setup_intents/{id}"])
def test_payment_method_types_is_no_longer_supported(client, sandbox, path):
    intent = client.v1.setup_intents.create()
    body = urllib.parse.urlencode({"payment_method_types[0]": "card"})
    status, _, answer = raw_request(sandbox, "POST", path.replace("{id}", intent.id),
                                    body=body)
    error = answer["error"]
    assert (status, error["code"], error["param"]) == (
        400, "payment_method_types_no_longer_supported", "payment_method_types")
    assert "allowed_payment_method_types" in error["message"]
    assert client.v1.setup_intents.list().data == [intent]


@pytest.mark.parametrize("operation", ["PaymentIntentCreateParams", "PaymentIntentUpdateParams",
                                       "PaymentIntentConfirmParams"])
def test_payment_intents_refuse_payment_method_types_too(operation):
    with pytest.raises(ApiError) as raised:
        validate(operation, {"payment_method_types": ["card"]})
    assert raised.value.code == "payment_method_types_no_longer_supported"
    with pytest.raises(ApiError) as raised:  # elsewhere it is merely unknown
        validate("CustomerCreateParams", {"payment_method_types": ["card"]})
    assert raised.value.code == "parameter_unknown"


def test_allowed_and_excluded_payment_method_types(client):
    allowed = client.v1.setup_intents.create(params={"allowed_payment_method_types": ["card"]})
    assert allowed.payment_method_types == ["card"]
    assert allowed.automatic_payment_methods is None
    assert allowed.allowed_payment_method_types == ["card"]
    none = client.v1.setup_intents.create(params={"allowed_payment_method_types": ["ideal"]})
    assert none.payment_method_types == []
    excluded = client.v1.setup_intents.create(params={"excluded_payment_method_types": ["card"]})
    assert excluded.payment_method_types == []
    refused(lambda: client.v1.setup_intents.create(params={
        "allowed_payment_method_types": ["card"], "excluded_payment_method_types": ["ideal"]}),
        "only specify one of these parameters", param="excluded_payment_method_types")


def test_lists_filter_by_customer_and_payment_method(client, customer):
    mine = client.v1.setup_intents.create(params={"customer": customer.id,
                                                  "payment_method": "pm_card_visa"})
    client.v1.setup_intents.create()
    newest = client.v1.setup_intents.create(params={"customer": customer.id})
    assert [i.id for i in client.v1.setup_intents.list(params={"customer": customer.id})] == [
        newest.id, mine.id]
    by_method = client.v1.setup_intents.list(params={"payment_method": mine.payment_method})
    assert [i.id for i in by_method.data] == [mine.id]
    assert len(client.v1.setup_intents.list(params={"created": {"gte": mine.created}}).data) == 3
    refused(lambda: client.v1.setup_intents.retrieve("seti_nothing"),
            "No such setupintent: 'seti_nothing'", status=404)
