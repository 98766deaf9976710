"""Injected faults and the control endpoints that set them: rate limits, failures, dropped
connections and latency, with the SDK's retries and idempotency keys keeping writes single."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
import stripe
from sandbox_http import make_client, raw_request


@pytest.fixture
def quick_retries(monkeypatch):
    # The SDK waits at least half a second before each retry; tests need no such patience.
    monkeypatch.setattr(stripe._http_client.HTTPClient, "INITIAL_DELAY", 0.001)
    monkeypatch.setattr(stripe._http_client.HTTPClient, "MAX_DELAY", 0.002)


def post_json(sandbox, path: str, payload) -> tuple[int, dict]:
    request = urllib.request.Request(sandbox.url + path, method="POST",
                                     data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def customers(sandbox) -> int:
    return raw_request(sandbox, "GET", "/_sandbox/objects?object=customer", key=None)[2]["count"]


def test_faults_are_off_by_default_and_set_over_http(sandbox):
    status, headers, body = raw_request(sandbox, "GET", "/_sandbox/faults", key=None)
    assert status == 200 and headers["Request-Id"].startswith("req_")
    assert body == {"latency_ms": 0, "rate_limit": None, "fail_rate": 0, "drop_rate": 0,
                    "webhook_duplicate_rate": 0, "webhook_shuffle": 0, "webhook_delay_ms": 0,
                    "seed": None}
    status, body = post_json(sandbox, "/_sandbox/faults", {"fail_rate": 0.25, "seed": 7})
    assert status == 200 and body["fail_rate"] == 0.25 and body["seed"] == 7
    assert sandbox.faults.fail_rate == 0.25


@pytest.mark.parametrize("payload, message", [
    ({"fail_rate": 1.5}, "between 0 and 1"),
    ({"drop_rate": -1}, ">= 0"),
    ({"rate_limit": 0}, "rate_limit"),
    ({"latency_ms": "slow"}, "latency_ms"),
    ({"seed": "x"}, "seed"),
    ({"explode": True}, "Unknown fault setting"),
    ([1, 2], "JSON object"),
])
def test_bad_fault_settings_are_refused(sandbox, payload, message):
    status, body = post_json(sandbox, "/_sandbox/faults", payload)
    assert status == 400 and message in body["error"]["message"]
    assert sandbox.faults.fail_rate == 0 and sandbox.faults.drop_rate == 0


def test_rate_limit_answers_429(sandbox):
    client = make_client(sandbox)
    sandbox.set_faults(rate_limit=2)
    client.v1.customers.create()
    client.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as raised:
        client.v1.customers.create()
    error = raised.value
    assert (error.http_status, error.error.code) == (429, "rate_limit")
    assert error.error.type == "invalid_request_error"
    assert customers(sandbox) == 1
    assert sandbox.requests()[-1]["fault"] == "rate_limit"
    time.sleep(1.05)
    client.v1.customers.create()
    assert customers(sandbox) == 2


def test_failures_happen_before_acting(sandbox):
    sandbox.set_faults(fail_rate=1.0)
    with pytest.raises(stripe.APIError) as raised:
        make_client(sandbox).v1.customers.create()
    assert raised.value.http_status == 500
    assert raised.value.error.type == "api_error"
    assert customers(sandbox) == 0


def test_retries_ride_out_failures_without_duplicates(sandbox, quick_retries):
    sandbox.set_faults(fail_rate=0.4, seed=3)
    client = make_client(sandbox, max_network_retries=10)
    made = [client.v1.customers.create(params={"name": f"n{i}"}).id for i in range(20)]
    assert len(set(made)) == 20 and customers(sandbox) == 20
    failed = [entry for entry in sandbox.requests() if entry["status"] == 500]
    assert failed and all(entry["fault"] == "fail" for entry in failed)


def test_dropped_post_has_acted(sandbox):
    sandbox.set_faults(drop_rate=1.0)
    client = make_client(sandbox)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.customers.create(params={"name": "lost answer"},
                                   options={"idempotency_key": "drop-1"})
    assert customers(sandbox) == 1
    entry = sandbox.requests()[-1]
    assert (entry["fault"], entry["status"]) == ("drop", 200)
    sandbox.set_faults(drop_rate=0)
    again = client.v1.customers.create(params={"name": "lost answer"},
                                       options={"idempotency_key": "drop-1"})
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.name == "lost answer" and customers(sandbox) == 1


def test_drops_only_hit_posts(sandbox):
    client = make_client(sandbox)
    customer = client.v1.customers.create()
    sandbox.set_faults(drop_rate=1.0)
    assert client.v1.customers.retrieve(customer.id).id == customer.id


def test_sdk_retries_and_idempotency_keys_prevent_doubles(sandbox, quick_retries):
    sandbox.set_faults(drop_rate=0.5, seed=11)
    client = make_client(sandbox, max_network_retries=10)
    made = [client.v1.customers.create(params={"name": f"d{i}"}).id for i in range(20)]
    assert len(set(made)) == 20
    assert customers(sandbox) == 20
    log = sandbox.requests()
    assert any(entry["fault"] == "drop" for entry in log)
    assert any(entry["replayed"] for entry in log)


def test_seed_makes_faults_repeatable(sandbox):
    def outcomes() -> list[int]:
        sandbox.reset()
        sandbox.set_faults(fail_rate=0.5, seed=42)
        return [raw_request(sandbox, "GET", "/v1/customers")[0] for _ in range(16)]

    first = outcomes()
    assert first == outcomes()
    assert set(first) == {200, 500}


def test_latency_is_added(sandbox):
    client = make_client(sandbox)
    sandbox.set_faults(latency_ms=120)
    started = time.perf_counter()
    client.v1.customers.list()
    assert time.perf_counter() - started >= 0.12


def test_controls_are_not_subject_to_faults(sandbox):
    sandbox.set_faults(fail_rate=1.0)
    status, _, body = raw_request(sandbox, "GET", "/_sandbox/faults", key=None)
    assert status == 200 and body["fail_rate"] == 1.0


def test_reset_and_counts(client, sandbox):
    client.v1.customers.create()
    product = client.v1.products.create(params={"name": "x"})
    client.v1.products.delete(product.id)
    status, _, body = raw_request(sandbox, "GET", "/_sandbox/objects", key=None)
    assert status == 200
    assert body["counts"] == {**dict.fromkeys(sandbox.backend.stores, 0), "customer": 1}
    assert {"customer", "product", "price", "invoice"} <= set(body["counts"])
    status, _, body = raw_request(sandbox, "GET", "/_sandbox/objects?object=widget", key=None)
    assert status == 400 and "Unknown object" in body["error"]["message"]
    status, _, _ = raw_request(sandbox, "POST", "/_sandbox/reset", key=None)
    assert status == 200
    assert customers(sandbox) == 0
    assert sandbox.requests() == []
    status, _, body = raw_request(sandbox, "GET", "/_sandbox/nothing", key=None)
    assert status == 404 and "Controls:" in body["error"]["message"]
