"""Idempotency keys: replays, conflicts, scope per API key, and what is (not) stored."""

from __future__ import annotations

import pytest
import stripe
from sandbox_http import make_client, raw_request


def count(sandbox, kind: str) -> int:
    status, _, body = raw_request(sandbox, "GET", f"/_sandbox/objects?object={kind}", key=None)
    assert status == 200
    return body["count"]


def test_repeated_key_replays_the_first_response(client, sandbox):
    first = client.v1.customers.create(params={"email": "once@example.com"},
                                       options={"idempotency_key": "create-once"})
    again = client.v1.customers.create(params={"email": "once@example.com"},
                                       options={"idempotency_key": "create-once"})
    assert again.id == first.id
    assert again.to_dict() == first.to_dict()
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert again.last_response.request_id != first.last_response.request_id
    assert count(sandbox, "customer") == 1
    log = sandbox.requests()
    assert [(e["replayed"], e["idempotency_key"]) for e in log] == [
        (False, "create-once"), (True, "create-once")]


def test_same_key_with_other_parameters_is_an_idempotency_error(client, sandbox):
    client.v1.customers.create(params={"email": "a@example.com"},
                               options={"idempotency_key": "k1"})
    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.customers.create(params={"email": "b@example.com"},
                                   options={"idempotency_key": "k1"})
    error = raised.value
    assert error.http_status == 400
    assert error.error.type == "idempotency_error"
    assert error.user_message.startswith(
        "Keys for idempotent requests can only be used with the same parameters they were first "
        "used with.")
    with pytest.raises(stripe.IdempotencyError):
        client.v1.products.create(params={"name": "x"}, options={"idempotency_key": "k1"})
    assert count(sandbox, "customer") == 1 and count(sandbox, "product") == 0


def test_keys_are_scoped_per_api_key(sandbox):
    mine = make_client(sandbox, key="sk_test_first_account_key")
    theirs = make_client(sandbox, key="sk_test_second_account_key")
    a = mine.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "shared"})
    b = theirs.v1.customers.create(params={"name": "A"}, options={"idempotency_key": "shared"})
    assert a.id != b.id
    assert "Idempotent-Replayed" not in b.last_response.headers


def test_errors_from_the_endpoint_are_replayed(client, customer_draft):
    invoice_id = customer_draft
    with pytest.raises(stripe.InvalidRequestError) as first:
        client.v1.invoices.void_invoice(invoice_id, options={"idempotency_key": "void-1"})
    client.v1.invoices.finalize_invoice(invoice_id)
    # Voiding would now succeed, but the key answers what it answered the first time.
    with pytest.raises(stripe.InvalidRequestError) as replay:
        client.v1.invoices.void_invoice(invoice_id, options={"idempotency_key": "void-1"})
    assert replay.value.user_message == first.value.user_message
    assert replay.value.headers["Idempotent-Replayed"] == "true"
    assert client.v1.invoices.retrieve(invoice_id).status == "open"
    assert client.v1.invoices.void_invoice(invoice_id).status == "void"


@pytest.fixture
def customer_draft(client) -> str:
    customer = client.v1.customers.create()
    invoice = client.v1.invoices.create(params={"customer": customer.id})
    client.v1.invoice_items.create(params={"customer": customer.id, "amount": 100,
                                           "currency": "usd", "invoice": invoice.id})
    return invoice.id


def test_parameter_errors_are_not_stored(client, sandbox):
    status, _, body = raw_request(sandbox, "POST", "/v1/customers", body="nickname=x",
                                  headers={"Idempotency-Key": "fix-me"})
    assert status == 400 and body["error"]["code"] == "parameter_unknown"
    status, headers, body = raw_request(sandbox, "POST", "/v1/customers", body="name=x",
                                        headers={"Idempotency-Key": "fix-me"})
    assert status == 200 and body["name"] == "x"
    assert "Idempotent-Replayed" not in headers


def test_replay_keeps_the_status(sandbox):
    for attempt in range(2):
        status, headers, body = raw_request(sandbox, "POST", "/v1/customers/cus_nothere",
                                            body="name=x", headers={"Idempotency-Key": "missing"})
        assert status == 404 and body["error"]["code"] == "resource_missing"
        assert ("Idempotent-Replayed" in headers) == (attempt == 1)


def test_get_requests_ignore_idempotency_keys(client, sandbox):
    customer = client.v1.customers.create()
    for _ in range(2):
        status, headers, _ = raw_request(sandbox, "GET", f"/v1/customers/{customer.id}",
                                         headers={"Idempotency-Key": "read"})
        assert status == 200 and "Idempotent-Replayed" not in headers


def test_keys_expire_after_a_day():
    from stripe_pay.sandbox import SandboxServer

    now = [1_700_000_000.0]
    with SandboxServer(clock=lambda: now[0]) as sandbox:
        client = make_client(sandbox)
        first = client.v1.customers.create(options={"idempotency_key": "daily"})
        now[0] += 23 * 3600
        assert client.v1.customers.create(options={"idempotency_key": "daily"}).id == first.id
        now[0] += 2 * 3600
        assert client.v1.customers.create(options={"idempotency_key": "daily"}).id != first.id


def test_overlong_key_is_refused(sandbox):
    status, _, body = raw_request(sandbox, "POST", "/v1/customers", body="name=x",
                                  headers={"Idempotency-Key": "k" * 256})
    assert status == 400 and "at most 255" in body["error"]["message"]


def test_kept_answers_are_bounded_in_bytes():
    from stripe_pay.sandbox import SandboxServer

    budget = 5_000
    with SandboxServer(idempotency_max_bytes=budget) as sandbox:
        client = make_client(sandbox)
        params = {"description": "x" * 600}
        ids = [client.v1.customers.create(params=params, options={"idempotency_key": f"k{i}"}).id
               for i in range(10)]
        kept = sandbox.app.idempotency
        assert 0 < len(kept) < 10 and kept.bytes <= budget
        # The newest answers still replay; the oldest were forgotten, so their retry runs again.
        assert client.v1.customers.create(params=params,
                                          options={"idempotency_key": "k9"}).id == ids[9]
        assert client.v1.customers.create(params=params,
                                          options={"idempotency_key": "k0"}).id != ids[0]
        assert kept.bytes <= budget
        # An answer larger than the whole budget is not kept at all.
        big = {"description": "y" * 5_000}
        once = client.v1.customers.create(params=big, options={"idempotency_key": "big"}).id
        assert client.v1.customers.create(params=big,
                                          options={"idempotency_key": "big"}).id != once
        assert kept.bytes <= budget


def test_the_idempotency_store_expires_and_counts_its_bytes():
    from stripe_pay.sandbox.idempotency import IdempotencyStore, Stored

    now = [1_000.0]
    store = IdempotencyStore(lambda: now[0], ttl=60, max_bytes=10_000)
    store.put(("a", "1"), Stored(("POST", "/v1/x", (("n", "1"),)), 200, b"{}" * 100, "req_1",
                                 now[0]))
    size = store.bytes
    assert size > 200
    now[0] += 30
    store.put(("a", "2"), Stored(("POST", "/v1/x", ()), 200, b"{}", "req_2", now[0]))
    assert store.get(("a", "1")) is not None
    now[0] += 31
    assert store.get(("a", "1")) is None and store.get(("a", "2")) is not None
    assert len(store) == 1 and store.bytes < size
    store.clear()
    assert (len(store), store.bytes) == (0, 0)
