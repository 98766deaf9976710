"""429s are waited out below the SDK, so a rate limit slows a call down instead of failing
it: with Retry-After when the service sends one, a jittered backoff otherwise, and never
when the service says not to retry."""

from __future__ import annotations

import json

import pytest
import stripe
from conftest import KEY
from stripe_pay import objects
from stripe_pay.client import RateLimitPatience, StripeSession

from kognitos_books import BookError, Secret

LIMITED = (429, {"error": {"type": "invalid_request_error", "code": "rate_limit",
                           "message": "Request rate limit exceeded."}}, {})
CREATED = (200, {"id": "cus_1", "object": "customer", "email": "a@example.com"}, {})


class Scripted(stripe.HTTPClient):
    """Answers each request with the next (status, body, headers)."""

    name = "scripted"

    def __init__(self, *answers: tuple[int, dict, dict]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.asked = 0

    def request(self, method, url, headers, post_data=None):
        self.asked += 1
        status, body, extra = self.answers.pop(0)
        return json.dumps(body), status, {"request-id": f"req_{self.asked}", **extra}

    def close(self):
        pass


def patient(*answers, retries: int = 10) -> tuple[StripeSession, Scripted, list[float]]:
    http = Scripted(*answers)
    waits: list[float] = []
    session = StripeSession(Secret(KEY), "https://api.stripe.com", max_network_retries=0,
                            http_client=RateLimitPatience(http, retries, sleep=waits.append))
    return session, http, waits


def test_429s_are_waited_out_with_a_growing_jittered_backoff():
    session, http, waits = patient(LIMITED, LIMITED, LIMITED, CREATED)
    record = session.record(objects.find("customer"),
                            session.send(objects.find("customer"), "create",
                                         params={"email": "a@example.com"}))
    assert record.id == "cus_1" and http.asked == 4
    assert len(waits) == 3
    for attempt, waited in enumerate(waits):
        ceiling = min(0.5 * 2 ** attempt, 5.0)
        assert ceiling / 2 <= waited <= ceiling


def test_retry_after_is_honoured_and_should_retry_false_is_obeyed():
    session, _, waits = patient((*LIMITED[:2], {"Retry-After": "2"}), CREATED)
    session.send(objects.find("customer"), "create", params={})
    assert waits == [2.0]
    session, http, waits = patient((*LIMITED[:2], {"Stripe-Should-Retry": "false"}))
    with pytest.raises(BookError) as info:
        session.send(objects.find("customer"), "create", params={})
    assert info.value.status == 429 and http.asked == 1 and waits == []


def test_a_limit_that_lasts_past_every_retry_is_reported():
    session, http, waits = patient(*[LIMITED] * 4, retries=3)
    with pytest.raises(BookError) as info:
        session.send(objects.find("customer"), "list", params={})
    assert info.value.status == 429 and "rate limiting" in info.value.hint
    assert http.asked == 4 and len(waits) == 3


def test_the_default_session_waits_out_429s_but_none_when_retries_are_off():
    assert isinstance(StripeSession(Secret(KEY)).sdk._requestor._client, RateLimitPatience)
    off = StripeSession(Secret(KEY), max_network_retries=0)
    assert not isinstance(off.sdk._requestor._client, RateLimitPatience)
