"""Payment intents through the SDK: every status Stripe's test cards reach, each transition
between them, the charge each attempt makes, declines as Stripe answers them, lists and
search."""

from __future__ import annotations

import urllib.parse

import pytest
import stripe
from sandbox_http import raw_request
from sandbox_payments import USD, authenticate, card_of, declined, intent, paid, refused


def test_a_new_intent_waits_for_a_payment_method(client):
    created = intent(client, description="Tea", metadata={"order": "7"})
    assert created.id.startswith("pi_") and created.client_secret.startswith(
        f"{created.id}_secret_")
    assert (created.status, created.capture_method, created.confirmation_method) == (
        "requires_payment_method", "automatic_async", "automatic")
    assert created.automatic_payment_methods.enabled is True
    assert created.payment_method_types == ["card"]
    assert (created.latest_charge, created.amount_received, created.next_action) == (
        None, 0, None)
    assert (created.description, created.metadata.to_dict()) == ("Tea", {"order": "7"})
    with_method = intent(client, payment_method="pm_card_visa")
    assert with_method.status == "requires_confirmation"
    assert card_of(client, with_method.payment_method).last4 == "4242"
    assert client.v1.payment_intents.retrieve(created.id).to_dict() == created.to_dict()


@pytest.mark.parametrize(("amount", "currency", "code"), [
    (49, "usd", "amount_too_small"), (50, "usd", None), (29, "gbp", "amount_too_small"),
    (50, "jpy", None), (100_000_000, "usd", "amount_too_large"), (99_999_999, "usd", None),
])
def test_amounts_stripe_accepts(client, amount, currency, code):
    params = {"amount": amount, "currency": currency}
    if code is None:
        assert client.v1.payment_intents.create(params=params).amount == amount
    else:
        error = refused(lambda: client.v1.payment_intents.create(params=params), code=code,
                        param="amount", text="Amount must be")
        if currency == "usd" and code == "amount_too_small":
            assert error.user_message == "Amount must be at least $0.50 usd"


@pytest.mark.parametrize("path", ["/v1/payment_intents", "/v1/payment_intents/{id}",
                                  "/v1/payment_intents/{id}/confirm"])
def test_payment_method_types_is_retired(client, sandbox, path):
    target = intent(client)
    body = urllib.parse.urlencode({"amount": 2000, "currency": "usd",
                                   "payment_method_types[0]": "card"}
                                  if "{id}" not in path else {"payment_method_types[0]": "card"})
    status, _, answer = raw_request(sandbox, "POST", path.replace("{id}", target.id),
                                    body=body)
    assert status == 400
    assert answer["error"]["code"] == "payment_method_types_no_longer_supported"
    assert answer["error"]["param"] == "payment_method_types"
    assert "allowed_payment_method_types" in answer["error"]["message"]
    # ... and the SDK raises it as an invalid request
    refused(lambda: client.v1.payment_intents.create(params={
        "amount": 2000, "currency": "usd", "payment_method_types": ["card"]}),  # type: ignore
        code="payment_method_types_no_longer_supported")


def test_confirming_charges_the_card(client):
    created = intent(client, payment_method="pm_card_visa", description="Tea")
    confirmed = client.v1.payment_intents.confirm(created.id)
    assert (confirmed.status, confirmed.amount_received) == ("succeeded", 2000)
    charge = client.v1.charges.retrieve(confirmed.latest_charge)
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert (charge.amount, charge.amount_captured, charge.payment_intent) == (
        2000, 2000, created.id)
    assert (charge.description, charge.outcome.type) == ("Tea", "authorized")
    assert charge.payment_method_details.card.last4 == "4242"
    assert charge.balance_transaction.startswith("txn_")
    refused(lambda: client.v1.payment_intents.confirm(created.id),
            code="payment_intent_unexpected_state", text="status of succeeded")


def test_confirming_needs_a_payment_method(client):
    created = intent(client)
    refused(lambda: client.v1.payment_intents.confirm(created.id),
            code="payment_intent_unexpected_state", param="payment_method")
    refused(lambda: client.v1.payment_intents.confirm(created.id, params={
        "payment_method": "pm_card_nothing"}), code="resource_missing", param="payment_method")
    assert client.v1.payment_intents.confirm(created.id, params={
        "payment_method": "pm_card_mastercard"}).status == "succeeded"


def test_confirm_options_need_confirm_true(client):
    for name, value in (("off_session", True), ("error_on_requires_action", True),
                        ("return_url", "https://shop.example/done")):
        refused(lambda given={name: value}: intent(client, payment_method="pm_card_visa",
                                                   **given),
                param=name, text="confirm=true")


def test_manual_capture_holds_then_captures_part(client):
    held = paid(client, capture_method="manual", amount=1000)
    assert (held.status, held.amount_capturable, held.amount_received) == (
        "requires_capture", 1000, 0)
    charge = client.v1.charges.retrieve(held.latest_charge)
    assert (charge.status, charge.paid, charge.captured, charge.balance_transaction) == (
        "succeeded", True, False, None)
    assert charge.payment_method_details.card.capture_before > charge.created
    refused(lambda: client.v1.payment_intents.capture(held.id, params={
        "amount_to_capture": 1001}), code="amount_too_large", param="amount_to_capture")
    captured = client.v1.payment_intents.capture(held.id, params={"amount_to_capture": 600})
    assert (captured.status, captured.amount_received, captured.amount_capturable) == (
        "succeeded", 600, 0)
    charge = client.v1.charges.retrieve(held.latest_charge)
    assert (charge.captured, charge.amount_captured, charge.amount_refunded,
            charge.refunded) == (True, 600, 400, False)
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.amount, txn.type, txn.source) == (600, "charge", charge.id)
    refused(lambda: client.v1.payment_intents.capture(held.id),
            code="payment_intent_unexpected_state", text="requires_capture")


def test_capture_only_from_requires_capture(client):
    for target in (intent(client), paid(client)):
        refused(lambda target_id=target.id: client.v1.payment_intents.capture(target_id),
                code="payment_intent_unexpected_state")
    held = paid(client, capture_method="manual")
    refused(lambda: client.v1.payment_intents.capture(held.id, params={
        "final_capture": False}), param="final_capture")
    assert client.v1.payment_intents.capture(held.id).amount_received == 2000


def test_cancel_from_each_status_that_allows_it(client, sandbox):
    waiting = intent(client)
    canceled = client.v1.payment_intents.cancel(waiting.id, params={
        "cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert canceled.canceled_at is not None
    confirmable = intent(client, payment_method="pm_card_visa")
    assert client.v1.payment_intents.cancel(confirmable.id).status == "canceled"
    acting = paid(client, "pm_card_authenticationRequired")
    assert acting.status == "requires_action"
    after = client.v1.payment_intents.cancel(acting.id)
    assert (after.status, after.next_action) == ("canceled", None)
    # From requires_capture the authorization is released: counted as refunded, no money moved.
    held = paid(client, capture_method="manual")
    txns = len(client.v1.balance_transactions.list().data)
    assert client.v1.payment_intents.cancel(held.id).amount_capturable == 0
    charge = client.v1.charges.retrieve(held.latest_charge)
    assert (charge.amount_refunded, charge.refunded, charge.captured) == (2000, True, False)
    assert len(client.v1.balance_transactions.list().data) == txns
    # Once canceled, nothing more happens to it.
    refused(lambda: client.v1.payment_intents.confirm(waiting.id, params={
        "payment_method": "pm_card_visa"}), code="payment_intent_unexpected_state")
    refused(lambda: client.v1.payment_intents.cancel(waiting.id),
            code="payment_intent_unexpected_state", text="status of canceled")
    refused(lambda: client.v1.payment_intents.cancel(paid(client).id),
            code="payment_intent_unexpected_state", text="status of succeeded")


@pytest.mark.parametrize(("card", "code", "decline_code", "message"), [
    ("pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    ("pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."),
    ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card",
     "Your card has been declined."),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", None, "Your card has expired."),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", None,
     "Your card's security code is incorrect."),
    ("pm_card_chargeDeclinedProcessingError", "processing_error", None,
     "An error occurred while processing your card. Try again in a little bit."),
    ("pm_card_chargeCustomerFail", "card_declined", "generic_decline",
     "Your card was declined."),
])
def test_a_decline_is_a_card_error_and_the_intent_wants_a_new_method(client, card, code,
                                                                     decline_code, message):
    created = intent(client, payment_method=card)
    error = declined(lambda: client.v1.payment_intents.confirm(created.id))
    assert (error.code, error.error.decline_code, error.user_message) == (
        code, decline_code, message)
    assert error.error.type == "card_error"
    assert error.error.payment_intent["id"] == created.id
    assert error.error.payment_intent["status"] == "requires_payment_method"
    after = client.v1.payment_intents.retrieve(created.id)
    assert (after.status, after.payment_method) == ("requires_payment_method", None)
    assert after.latest_charge == error.error.charge
    failure = after.last_payment_error
    assert (failure.code, failure.decline_code, failure.charge, failure.type) == (
        code, decline_code, after.latest_charge, "card_error")
    charge = client.v1.charges.retrieve(after.latest_charge)
    assert (charge.status, charge.paid, charge.captured, charge.balance_transaction) == (
        "failed", False, False, None)
    assert (charge.failure_code, charge.failure_message) == (code, message)
    assert (charge.outcome.type, charge.outcome.network_status) == (
        "issuer_declined", "declined_by_network")


def test_a_declined_create_and_confirm_keeps_the_intent_and_its_charge(client):
    error = declined(lambda: paid(client, "pm_card_chargeDeclined"))
    kept = client.v1.payment_intents.retrieve(error.error.payment_intent["id"])
    assert kept.status == "requires_payment_method"
    retried = client.v1.payment_intents.confirm(kept.id, params={
        "payment_method": "pm_card_visa"})
    assert (retried.status, retried.last_payment_error) == ("succeeded", None)
    attempts = client.v1.charges.list(params={"payment_intent": kept.id}).data
    assert [c.status for c in attempts] == ["succeeded", "failed"]
    assert retried.latest_charge == attempts[0].id


def test_an_idempotent_retry_of_a_decline_replays_it(client):
    def attempt() -> stripe.CardError:
        return declined(lambda: client.v1.payment_intents.create(
            params={"amount": 900, **USD, "payment_method": "pm_card_chargeDeclined",
                    "confirm": True}, options={"idempotency_key": "declined-once"}))

    first, second = attempt(), attempt()
    assert first.error.charge == second.error.charge
    assert len(client.v1.payment_intents.list().data) == 1


def test_authentication_waits_for_the_customer(client, sandbox):
    created = intent(client, payment_method="pm_card_threeDSecure2Required")
    acting = client.v1.payment_intents.confirm(created.id)
    assert (acting.status, acting.latest_charge) == ("requires_action", None)
    assert acting.next_action.type == "use_stripe_sdk"
    page = acting.next_action.use_stripe_sdk["stripe_js"]
    assert page == f"/_sandbox/authenticate/{created.id}"
    done = authenticate(sandbox, created.id)
    assert (done["status"], done["next_action"]) == ("succeeded", None)
    charge = client.v1.charges.retrieve(done["latest_charge"])
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"
    assert [c.action for c in sandbox.backend.changes.since(0)
            if c.id == created.id][-1] == "authenticate"


def test_a_return_url_redirects_to_the_authentication_page(client, sandbox):
    acting = paid(client, "pm_card_authenticationRequired",
                  return_url="https://shop.example/done")
    assert acting.next_action.type == "redirect_to_url"
    assert acting.next_action.redirect_to_url.return_url == "https://shop.example/done"
    assert acting.next_action.redirect_to_url.url == f"/_sandbox/authenticate/{acting.id}"


def test_failed_authentication_wants_a_new_method(client, sandbox):
    acting = paid(client, "pm_card_authenticationRequired")
    failed = authenticate(sandbox, acting.id, "fail")
    assert (failed["status"], failed["payment_method"]) == ("requires_payment_method", None)
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    assert failed["latest_charge"] is None
    status, _, body = raw_request(sandbox, "POST", f"/_sandbox/authenticate/{acting.id}",
                                  key=None, body="")
    assert status == 400 and "requires_action" in body["error"]["message"]


def test_authenticated_then_declined(client, sandbox):
    acting = paid(client, "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds")
    assert acting.status == "requires_action"
    after = authenticate(sandbox, acting.id)
    assert after["status"] == "requires_payment_method"
    assert (after["last_payment_error"]["code"],
            after["last_payment_error"]["decline_code"]) == ("card_declined",
                                                             "insufficient_funds")
    assert client.v1.charges.retrieve(after["latest_charge"]).status == "failed"


def test_manual_confirmation_confirms_again_after_authentication(client, sandbox):
    acting = paid(client, "pm_card_authenticationRequired", confirmation_method="manual")
    assert authenticate(sandbox, acting.id)["status"] == "requires_confirmation"
    assert client.v1.payment_intents.confirm(acting.id).status == "succeeded"


@pytest.mark.parametrize("option", ["off_session", "error_on_requires_action"])
def test_off_session_authentication_fails_the_attempt(client, option):
    error = declined(lambda: paid(client, "pm_card_authenticationRequired", **{option: True}))
    assert (error.code, error.error.decline_code) == ("authentication_required",
                                                      "authentication_required")
    after = client.v1.payment_intents.retrieve(error.error.payment_intent["id"])
    assert (after.status, after.next_action) == ("requires_payment_method", None)
    assert client.v1.charges.retrieve(after.latest_charge).failure_code == (
        "authentication_required")


def test_cards_allowed_or_not(client):
    cardless = intent(client, allowed_payment_method_types=["us_bank_account"])
    assert (cardless.payment_method_types, cardless.automatic_payment_methods) == (
        ["us_bank_account"], None)
    refused(lambda: client.v1.payment_intents.confirm(cardless.id, params={
        "payment_method": "pm_card_visa"}), code="payment_intent_invalid_parameter",
        param="payment_method")
    refused(lambda: intent(client, allowed_payment_method_types=["card"],
                           automatic_payment_methods={"enabled": True}),
            param="automatic_payment_methods")
    refused(lambda: paid(client, statement_descriptor="TEA SHOP"),
            param="statement_descriptor", text="statement_descriptor_suffix")


def test_update_before_and_after_confirmation(client):
    created = intent(client, payment_method="pm_card_chargeDeclined")
    declined(lambda: client.v1.payment_intents.confirm(created.id))
    updated = client.v1.payment_intents.update(created.id, params={
        "amount": 2500, "payment_method": "pm_card_visa", "metadata": {"try": "2"},
        "setup_future_usage": "off_session"})
    assert (updated.status, updated.amount) == ("requires_confirmation", 2500)
    assert card_of(client, updated.payment_method).last4 == "4242"
    assert (updated.last_payment_error, updated.setup_future_usage) == (None, "off_session")
    done = client.v1.payment_intents.confirm(created.id)
    assert done.amount_received == 2500
    refused(lambda: client.v1.payment_intents.update(created.id, params={"amount": 10}),
            code="payment_intent_unexpected_state", param="amount")
    described = client.v1.payment_intents.update(created.id, params={
        "description": "Tea", "metadata": {"try": ""}})
    assert (described.description, described.metadata.to_dict()) == ("Tea", {})


def test_list_by_customer_and_created_and_search(client, sandbox):
    ann = client.v1.customers.create(params={"email": "ann@example.com"})
    bob = client.v1.customers.create(params={"email": "bob@example.com"})
    first = paid(client, customer=ann.id, metadata={"order": "1"})
    second = intent(client, amount=5000, customer=bob.id, currency="eur")
    third = paid(client, amount=700, customer=ann.id)
    listed = client.v1.payment_intents.list(params={"customer": ann.id})
    assert [p.id for p in listed.data] == [third.id, first.id]
    assert [p.id for p in client.v1.payment_intents.list(params={
        "created": {"gte": second.created}, "limit": 2}).data] == [third.id, second.id]
    refused(lambda: client.v1.payment_intents.list(params={"customer_account": "acct_1"}),
            code="resource_missing", param="customer_account")

    def found(query: str) -> list[str]:
        return [p.id for p in client.v1.payment_intents.search(params={"query": query}).data]

    assert found(f"customer:'{ann.id}' AND amount>1000") == [first.id]
    assert found("status:'succeeded'") == [third.id, first.id]
    assert found("currency:'eur'") == [second.id]
    assert found("metadata['order']:'1'") == [first.id]
    assert found("status~'requires'") == [second.id]
    refused(lambda: found("description:'x'"), param="query")


def test_every_rendered_intent_is_the_sdk_class(client):
    from sandbox_shapes import undeclared_fields

    rendered = [intent(client).to_dict(), paid(client).to_dict(),
                paid(client, "pm_card_authenticationRequired").to_dict()]
    with pytest.raises(stripe.CardError) as raised:
        paid(client, "pm_card_chargeDeclined")
    in_error = raised.value.error.payment_intent
    assert isinstance(in_error, stripe.PaymentIntent)
    rendered.append(in_error.to_dict())
    for one in rendered:
        assert undeclared_fields(one, stripe.PaymentIntent) == []


def test_setup_future_usage_saves_the_method_to_the_customer(client):
    ann = client.v1.customers.create()
    saved = paid(client, customer=ann.id, setup_future_usage="off_session")
    method = client.v1.payment_methods.retrieve(saved.payment_method)
    assert method.customer == ann.id
    again = paid(client, saved.payment_method, customer=ann.id, off_session=True)
    assert (again.status, again.payment_method) == ("succeeded", saved.payment_method)
    refused(lambda: paid(client, saved.payment_method), param="payment_method",
            text=f"belongs to the Customer {ann.id}")


def test_a_test_id_makes_one_payment_method_per_payment(client, sandbox):
    payment = paid(client, "pm_card_mastercard")
    (method,) = sandbox.backend.stores["payment_method"].objects.values()
    assert payment.payment_method == method.id
    assert card_of(client, method.id).brand == "mastercard"


def test_a_method_used_without_a_customer_is_spent(client):
    first = paid(client)
    refused(lambda: paid(client, first.payment_method), param="payment_method",
            text="may not be used again")


def test_a_decline_shows_the_payment_method_it_declined(client):
    error = declined(lambda: paid(client, "pm_card_chargeDeclined"))
    method = error.error.payment_method
    assert isinstance(method, stripe.PaymentMethod) and method.id.startswith("pm_")
    failure = client.v1.payment_intents.retrieve(
        error.error.payment_intent["id"]).last_payment_error
    assert failure.payment_method.id == method.id
    assert failure.payment_method.card.last4 == "0002"


def test_customers_cards_pay_for_the_customer_only(client):
    ann = client.v1.customers.create(params={"source": "tok_amex"})
    charge_id = paid(client, ann.default_source, customer=ann.id).latest_charge
    assert client.v1.charges.retrieve(charge_id).payment_method_details.card.brand == "amex"
    refused(lambda: paid(client, ann.default_source), param="payment_method")


def test_a_card_set_up_for_later_pays_without_authentication(client, sandbox):
    ann = client.v1.customers.create()
    setup = client.v1.setup_intents.create(params={
        "customer": ann.id, "payment_method": "pm_card_authenticationRequiredOnSetup",
        "confirm": True})
    assert setup.status == "requires_action"
    assert authenticate(sandbox, setup.id)["status"] == "succeeded"
    later = paid(client, setup.payment_method, customer=ann.id, off_session=True)
    assert later.status == "succeeded"
    fresh = paid(client, "pm_card_authenticationRequiredOnSetup")
    assert fresh.status == "requires_action"
