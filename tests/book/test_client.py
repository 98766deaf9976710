"""The client's answers to what the sandbox does not do: restricted keys, keys quoted back
in messages, rate limits. A scripted HTTP client plays Stripe."""

from __future__ import annotations

import json

import pytest
import stripe
from stripe_pay import objects
from stripe_pay.client import StripeSession

from kognitos_books import BookError, CredentialsRejected, Secret

KEY = "rk_live_51Hzyxwvutsrqponm9876"


class Scripted(stripe.HTTPClient):
    """Answers each request with the next (status, body) and remembers what was asked."""

    name = "scripted"

    def __init__(self, *answers: tuple[int, dict]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.asked: list[tuple[str, str, dict]] = []

    def request(self, method, url, headers, post_data=None):
        self.asked.append((method, url, dict(headers)))
        status, body = self.answers.pop(0)
        # requests hands the SDK case-insensitive headers; a plain dict needs the SDK's case.
        return json.dumps(body), status, {"request-id": "req_scripted"}

    def close(self):
        pass


def session(*answers):
    http = Scripted(*answers)
    return StripeSession(Secret(KEY), "https://api.stripe.com", max_network_retries=0,
                         http_client=http), http


def error(status, message, **extra):
    return status, {"error": {"message": message, "type": "invalid_request_error", **extra}}


def test_a_restricted_key_without_customer_access_still_connects():
    client, http = session(error(403, "The provided key 'rk_live_...9876' does not have the "
                                      "required permissions for this endpoint."))
    client.verify()
    assert client.mode == "live"
    [(method, url, headers)] = http.asked
    assert (method, url) == ("get", "https://api.stripe.com/v1/customers?limit=1")
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Stripe-Version"] == stripe.api_version


def test_a_key_quoted_back_is_masked():
    client, _ = session(error(401, f"Invalid API Key provided: {KEY}"))
    with pytest.raises(CredentialsRejected) as info:
        client.verify()
    assert info.value.message == "Stripe rejected the API key rk_live_…9876"
    client, _ = session(error(400, f"Odd: {KEY} and sk_test_abcdefghijklmnop1111",
                              code="parameter_invalid", param="x"))
    with pytest.raises(BookError) as info:
        client.verify()
    assert info.value.message == "Odd: rk_live_…9876 and sk_test_…1111"
    assert (info.value.code, info.value.param, info.value.status, info.value.request_id) == (
        "parameter_invalid", "x", 400, "req_scripted")


def test_refusals_get_hints():
    client, _ = session(error(429, "Too many requests", code="rate_limit"))
    with pytest.raises(BookError) as info:
        client.verify()
    assert "rate limiting" in info.value.hint
    client, _ = session(error(403, "no permission"))
    with pytest.raises(BookError) as info:
        client.send(objects.find("customer"), "list")
    assert "restricted" in info.value.hint
