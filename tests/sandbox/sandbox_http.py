"""Ways to talk to a sandbox in tests: the SDK, or plain HTTP to see raw statuses and headers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
import stripe

TEST_KEY = "sk_test_sandboxconformance1234"


def make_client(sandbox: Any, key: str = TEST_KEY, **options: Any) -> stripe.StripeClient:
    """An SDK client on ``sandbox``; it does not retry unless ``max_network_retries`` is given."""
    options.setdefault("max_network_retries", 0)
    return stripe.StripeClient(key, base_addresses={"api": sandbox.url}, **options)


def raw_request(sandbox: Any, method: str, path: str, *, key: str | None = TEST_KEY,
                body: str | None = None, headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], Any]:
    """Status, headers and JSON body of a request made without the SDK."""
    request = urllib.request.Request(sandbox.url + path, method=method,
                                     data=body.encode() if body is not None else None)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def refused(call: Any, *fragments: str, status: int = 400, code: str | None = None,
            param: str | None = None) -> stripe.InvalidRequestError:
    """The error ``call()`` raises through the SDK: a refusal with this status whose message
    holds every fragment (and this code and param, when given)."""
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    error = raised.value
    assert error.http_status == status
    for fragment in fragments:
        assert fragment in error.user_message, error.user_message
    if code is not None:
        assert error.code == code
    if param is not None:
        assert error.param == param
    return error
