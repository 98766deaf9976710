"""What the payments tests share: payment intents made and paid through the SDK, the
customer's answer to 3D Secure, and how refusals are checked."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import stripe

USD = {"currency": "usd"}


def intent(client: stripe.StripeClient, amount: int = 2000, **params: Any
           ) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(params={"amount": amount, **USD, **params})


def paid(client: stripe.StripeClient, card: str = "pm_card_visa", **params: Any
         ) -> stripe.PaymentIntent:
    return intent(client, payment_method=card, confirm=True, **params)


def authenticate(sandbox: Any, intent_id: str, outcome: str = "complete") -> dict[str, Any]:
    """The customer's answer to the 3D Secure step, through the sandbox's control."""
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/authenticate/{intent_id}", method="POST",
        data=json.dumps({"outcome": outcome}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def settle(sandbox: Any, intent_id: str) -> dict[str, Any]:
    """The bank settling a processing debit, through the sandbox's control."""
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/settle/{intent_id}",
                                     method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def card_of(client: stripe.StripeClient, method_id: str) -> stripe.PaymentMethod.Card:
    """The card of the payment method a payment shows (a test id made it, as on Stripe)."""
    assert method_id.startswith("pm_") and not method_id.startswith("pm_card_"), method_id
    card = client.v1.payment_methods.retrieve(method_id).card
    assert card is not None
    return card


def declined(call: Any) -> stripe.CardError:
    with pytest.raises(stripe.CardError) as raised:
        call()
    assert raised.value.http_status == 402
    return raised.value


def refused(call: Any, *, code: str | None = None, param: str | None = None,
            text: str = "") -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    error = raised.value
    assert (error.http_status, error.code) == (400, code), error.user_message
    if param is not None:
        assert error.param == param
    assert text in (error.user_message or ""), error.user_message
    return error
