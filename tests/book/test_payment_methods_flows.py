"""Payment methods and setup intents in English, run by the host against the in-process
sandbox over real HTTP: what the automations say is what Stripe's test mode does."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from kognitos_books import Runtime
from kognitos_books.language import LanguageError

SAVE_A_CARD = '''\
create a customer in stripe with
  the email is "jenny@example.com"
create a payment method in stripe with
  the type is "card"
  the card's token is "tok_visa"
attach the payment method to the customer
update the customer with
  the invoice_settings's default_payment_method is the payment method's id
create an invoice in stripe with
  the customer is the customer's id
  the currency is "eur"
add a item to the invoice with
  the amount is 2500
  the currency is "eur"
  the customer is the customer's id
pay the invoice
get all payment methods for the customer
'''


def run(rt: Runtime, text: str) -> Any:
    return rt.run(text, journal=False)


def sdk(sandbox: Any) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_flows", base_addresses={"api": sandbox.url},
                               max_network_retries=0)


def test_save_a_card_make_it_the_default_and_pay_with_it(rt, stripe_env):
    result = run(rt, SAVE_A_CARD)
    assert result.ok, [(s.line, s.error) for s in result.failures]
    customer, method, attached, updated, _, _, paid, listed = result.results()
    assert method.id.startswith("pm_") and method["customer"] is None
    assert (method["card"]["brand"], method["card"]["last4"]) == ("visa", "4242")
    assert (attached.id, attached["customer"]) == (method.id, customer.id)
    assert updated["invoice_settings"]["default_payment_method"] == method.id
    assert (paid["status"], paid["amount_paid"], paid["currency"]) == ("paid", 2500, "eur")
    assert [m.id for m in listed] == [method.id]
    stored = sdk(stripe_env).v1.payment_methods.retrieve(method.id)
    assert stored.customer == customer.id


def test_a_detached_card_is_gone_for_good(rt, stripe_env):
    saved = run(rt, SAVE_A_CARD.split("create an invoice")[0])
    assert saved.ok
    customer, method, *_ = saved.results()
    result = run(rt, "detach the payment method\nattach the payment method to the customer\n")
    detached, refused = result.steps
    assert detached.state == "succeeded" and detached.result["customer"] is None
    assert refused.state == "failed"
    assert "detached from a Customer, and may not be used again" in refused.error
    client = sdk(stripe_env)
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    # the customer's default went with it
    default = client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method
    assert default is None


def test_a_card_that_declines_cannot_be_saved(rt, stripe_env):
    result = run(rt, '''\
create a customer in stripe with
  the email is "lee@example.com"
  the source is "tok_mastercard"
create a payment method in stripe with
  the type is "card"
  the card's token is "tok_chargeDeclinedInsufficientFunds"
attach the payment method to the customer
''')
    customer, method, _ = [step.result for step in result.steps]
    [failure] = result.failures
    assert (failure.line, failure.error_code) == (7, "card_declined")
    assert "insufficient funds" in failure.error
    assert customer["default_source"].startswith("card_")
    client = sdk(stripe_env)
    assert client.v1.payment_methods.retrieve(method.id).customer is None
    [card] = client.v1.customers.payment_sources.list(customer.id).data
    assert (card.id, card.brand, card.last4) == (customer["default_source"], "MasterCard",
                                                  "4444")


def test_a_setup_intent_saves_a_card_for_later(rt, stripe_env):
    result = run(rt, '''\
create a customer in stripe with
  the email is "sam@example.com"
create a setup intent in stripe with
  the customer is the customer's id
  the payment method is "pm_card_visa"
confirm the setup intent
get a payment method from stripe whose id is the setup intent's payment_method
get all setup intents for the customer
''')
    assert result.ok, [(s.line, s.error) for s in result.failures]
    customer, created, confirmed, method, listed = result.results()
    assert (created["status"], created["usage"]) == ("requires_confirmation", "off_session")
    assert confirmed["status"] == "succeeded"
    assert (method.id, method["customer"]) == (confirmed["payment_method"], customer.id)
    assert [intent.id for intent in listed] == [created.id]


def test_a_card_that_authenticates_waits_and_can_be_canceled(rt, stripe_env):
    result = run(rt, '''\
create a customer in stripe with
  the email is "kim@example.com"
create a setup intent in stripe with
  the customer is the customer's id
confirm the setup intent with the payment method is "pm_card_authenticationRequired"
cancel the setup intent
confirm the setup intent
''')
    customer, created, waiting, canceled, again = result.steps
    assert created.result["status"] == "requires_payment_method"
    assert waiting.result["status"] == "requires_action"
    assert waiting.result["next_action"]["type"] == "use_stripe_sdk"
    assert canceled.result["status"] == "canceled"
    assert again.state == "failed" and again.error_code == "setup_intent_unexpected_state"
    assert "status of canceled" in again.error
    listed = sdk(stripe_env).v1.customers.payment_methods.list(customer.result.id)
    assert listed.data == []


def test_what_stripe_needs_is_asked_for_before_anything_runs(rt, log):
    for text, missing in (("attach the payment method", "customer"),
                          ('create a payment method in stripe with\n'
                           '  the card\'s token is "tok_visa"', "type")):
        with pytest.raises(LanguageError) as raised:
            rt.check(text, given=("payment method",))
        assert f'missing required input "{missing}"' in str(raised.value)
    assert log.lines() == []
