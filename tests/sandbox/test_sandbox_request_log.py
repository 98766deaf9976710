"""The request log at /_sandbox/requests: what it records, and that it never holds a key."""

from __future__ import annotations

import json

import pytest
import stripe
from sandbox_http import TEST_KEY, make_client, raw_request

LOG_FIELDS = {"request_id", "time", "method", "path", "params", "status", "idempotency_key",
              "replayed", "fault", "duration_ms"}


def test_log_records_each_request(client, sandbox):
    customer = client.v1.customers.create(params={"email": "log@example.com",
                                                  "metadata": {"plan": "gold"}},
                                          options={"idempotency_key": "log-1"})
    client.v1.customers.list(params={"limit": 3, "expand": ["data.test_clock"]})
    status, _, entries = raw_request(sandbox, "GET", "/_sandbox/requests", key=None)
    assert status == 200 and len(entries) == 2
    created, listed = entries
    assert set(created) == LOG_FIELDS
    assert (created["method"], created["path"], created["status"]) == ("POST", "/v1/customers",
                                                                       200)
    assert created["params"] == {"email": "log@example.com", "metadata": {"plan": "gold"}}
    assert created["idempotency_key"] == "log-1" and created["replayed"] is False
    assert created["request_id"] == customer.last_response.request_id
    assert created["time"] <= listed["time"]
    assert listed["params"] == {"limit": "3", "expand": ["data.test_clock"]}
    assert listed["idempotency_key"] is None
    assert isinstance(listed["duration_ms"], float)


def test_log_never_holds_an_api_key(sandbox):
    secret = "sk_test_" + "Z" * 30 + "7777"
    client = make_client(sandbox, key=secret)
    client.v1.customers.create(params={"description": f"pasted {secret} by mistake"})
    with pytest.raises(stripe.AuthenticationError):
        make_client(sandbox, key="sk_live_" + "Y" * 30).v1.customers.list()
    raw_request(sandbox, "GET", "/v1/customers", key=TEST_KEY)
    text = json.dumps(raw_request(sandbox, "GET", "/_sandbox/requests", key=None)[2])
    assert secret not in text and TEST_KEY not in text
    assert "Y" * 30 not in text
    assert "authorization" not in text.lower() and "Bearer" not in text
    assert "sk_test_****7777" in text


def test_log_shows_failed_requests(sandbox):
    raw_request(sandbox, "GET", "/v1/customers", key=None)
    raw_request(sandbox, "GET", "/v1/nothing")
    statuses = [(entry["path"], entry["status"]) for entry in sandbox.requests()]
    assert statuses == [("/v1/customers", 401), ("/v1/nothing", 404)]


def test_log_can_be_cleared(client, sandbox):
    client.v1.customers.create()
    status, _, body = raw_request(sandbox, "DELETE", "/_sandbox/requests", key=None)
    assert (status, body) == (200, {"cleared": 1})
    assert raw_request(sandbox, "GET", "/_sandbox/requests", key=None)[2] == []
    assert raw_request(sandbox, "GET", "/_sandbox/requests/req_nothing", key=None)[0] == 404
