"""Webhook deliveries: every event an endpoint wants is POSTed to it signed, as the SDK's
``Webhook.construct_event`` accepts, with the event as ``GET /v1/events/{id}`` renders it;
retried after a failure (a 5xx, a redirect, a timeout) a bounded number of times, never
after the endpoint is disabled or deleted; duplicated, shuffled and delayed by the faults;
waited for by the drain control. A receiver on 127.0.0.1, started by each test, answers."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import stripe
from sandbox_http import raw_request
from sandbox_payments import intent

DEADLINE = 10.0


@attrs.define
class Received:
    body: bytes
    headers: dict[str, str]
    at: float


class Receiver:
    """A webhook receiver: answers each POST with the next of ``answers`` (200 when none is
    left; ``"hang"`` waits until released, past the sandbox's timeout) and keeps what it got."""

    def __init__(self) -> None:
        self.answers: list[int | str] = []
        self.got: list[Received] = []
        self.condition = threading.Condition()
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.condition:
                    answer = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.got.append(Received(body, dict(self.headers), time.monotonic()))
                    receiver.condition.notify_all()
                if answer == "hang":
                    receiver.release.wait(DEADLINE)
                    answer = 200
                self.send_response(int(answer))
                if 300 <= int(answer) < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int) -> list[Received]:
        """What it got, once it has got at least ``count`` POSTs (within the deadline)."""
        deadline = time.monotonic() + DEADLINE
        with self.condition:
            while len(self.got) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"got {len(self.got)} deliveries, waited for {count}"
                self.condition.wait(left)
            return list(self.got)

    def events(self, secret: str) -> list[stripe.Event]:
        """Every delivery, verified and decoded by the SDK."""
        return [stripe.Webhook.construct_event(one.body.decode(),
                                               one.headers["Stripe-Signature"], secret)
                for one in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    yield found
    found.release.set()
    found.server.shutdown()
    found.server.server_close()
    found.thread.join(DEADLINE)


@pytest.fixture
def quick(sandbox):
    """Retries after 50 ms, then 100 ms."""
    sandbox.set_webhook_settings(retry_delays=[0.05, 0.1])
    return sandbox


def endpoint(client: stripe.StripeClient, receiver: Receiver, *events: str
             ) -> stripe.WebhookEndpoint:
    return client.v1.webhook_endpoints.create(params={
        "url": receiver.url, "enabled_events": list(events) or ["*"]})


def drain(sandbox: Any) -> None:
    assert sandbox.drain_webhooks(DEADLINE)


def test_each_wanted_event_is_delivered_signed_as_it_is_retrieved(client, sandbox, receiver):
    hook = endpoint(client, receiver, "customer.created", "customer.deleted")
    customer = client.v1.customers.create(params={"email": "a@b.co"})
    client.v1.customers.update(customer.id, params={"name": "Not wanted"})
    client.v1.customers.delete(customer.id)
    drain(sandbox)
    assert [event.type for event in receiver.events(hook.secret)] == [
        "customer.created", "customer.deleted"]
    first = receiver.got[0]
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    stamp, signature = first.headers["Stripe-Signature"].split(",")
    assert stamp.startswith("t=") and signature.startswith("v1=") and len(signature) == 67
    assert abs(int(stamp[2:]) - time.time()) < 60
    delivered = json.loads(first.body)
    status, _, retrieved = raw_request(sandbox, "GET", f"/v1/events/{delivered['id']}")
    assert status == 200
    # as rendered when sent: this endpoint had not answered yet
    assert (delivered["pending_webhooks"], retrieved["pending_webhooks"]) == (1, 0)
    assert {**delivered, "pending_webhooks": 0} == retrieved
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(first.body.decode(), first.headers["Stripe-Signature"],
                                       "whsec_wrong")
    log = sandbox.webhook_deliveries()
    assert [(one["attempt"], one["status"], one["delivered"]) for one in log] == [
        (1, 200, True), (1, 200, True)]
    assert hook.secret not in json.dumps(log)
    assert client.v1.events.list(params={"delivery_success": False}).data == []


def test_every_endpoint_that_wants_an_event_gets_it(client, sandbox, receiver):
    every = endpoint(client, receiver)
    invoices = endpoint(client, receiver, "invoice.created")
    customer = client.v1.customers.create()
    client.v1.invoices.create(params={"customer": customer.id})
    drain(sandbox)
    by_endpoint = {one["endpoint"]: [] for one in sandbox.webhook_deliveries()}
    for one in sandbox.webhook_deliveries():
        by_endpoint[one["endpoint"]].append(one["type"])
    assert by_endpoint == {every.id: ["customer.created", "invoice.created"],
                           invoices.id: ["invoice.created"]}
    for received in receiver.got:  # each signed with its own endpoint's secret
        try:
            stripe.Webhook.construct_event(received.body.decode(),
                                           received.headers["Stripe-Signature"], every.secret)
        except stripe.SignatureVerificationError:
            stripe.Webhook.construct_event(received.body.decode(),
                                           received.headers["Stripe-Signature"],
                                           invoices.secret)


@pytest.mark.parametrize("failure", [500, 302, 404])
def test_a_failed_delivery_is_retried_until_it_succeeds(client, quick, receiver, failure):
    hook = endpoint(client, receiver)
    receiver.answers = [failure, 200]
    client.v1.products.create(params={"name": "Tea"})
    drain(quick)
    assert len(receiver.events(hook.secret)) == 2  # both attempts signed
    log = quick.webhook_deliveries()
    assert [(one["attempt"], one["status"], one["delivered"]) for one in log] == [
        (1, failure, False), (2, 200, True)]
    (event,) = client.v1.events.list().data
    assert event.pending_webhooks == 0


def test_retries_are_bounded_and_the_event_stays_undelivered(client, quick, receiver):
    endpoint(client, receiver)
    receiver.answers = [500, 500, 500, 500]
    client.v1.products.create(params={"name": "Tea"})
    drain(quick)
    assert [one["attempt"] for one in quick.webhook_deliveries()] == [1, 2, 3]
    assert len(receiver.got) == 3
    (event,) = client.v1.events.list().data
    assert event.pending_webhooks == 1
    assert [one.id for one in client.v1.events.list(
        params={"delivery_success": False}).data] == [event.id]
    assert client.v1.events.list(params={"delivery_success": True}).data == []


def test_a_delivery_that_times_out_is_retried(client, quick, receiver):
    hook = endpoint(client, receiver)
    quick.set_webhook_settings(timeout=0.2)
    receiver.answers = ["hang"]
    client.v1.products.create(params={"name": "Tea"})
    drain(quick)
    first, second = quick.webhook_deliveries()
    assert (first["status"], first["delivered"]) == (None, False)
    assert "timed out" in first["error"]
    assert (second["attempt"], second["status"]) == (2, 200)
    assert [event.type for event in receiver.events(hook.secret)] == ["product.created"] * 2


@pytest.mark.parametrize("stop", ["disable", "delete"])
def test_disabling_or_deleting_an_endpoint_stops_its_retries(client, sandbox, receiver, stop):
    sandbox.set_webhook_settings(retry_delays=[0.3])
    hook = endpoint(client, receiver)
    receiver.answers = [500]
    client.v1.products.create(params={"name": "Tea"})
    receiver.wait_for(1)
    if stop == "disable":
        client.v1.webhook_endpoints.update(hook.id, params={"disabled": True})
    else:
        client.v1.webhook_endpoints.delete(hook.id)
    drain(sandbox)
    assert len(receiver.got) == 1 and len(sandbox.webhook_deliveries()) == 1
    client.v1.products.create(params={"name": "Coffee"})  # nor is anything new sent
    drain(sandbox)
    assert len(receiver.got) == 1


def test_events_made_while_an_endpoint_is_disabled_are_never_sent(client, sandbox, receiver):
    hook = endpoint(client, receiver)
    client.v1.webhook_endpoints.update(hook.id, params={"disabled": True})
    client.v1.products.create(params={"name": "Tea"})
    client.v1.webhook_endpoints.update(hook.id, params={"disabled": False})
    client.v1.products.create(params={"name": "Coffee"})
    drain(sandbox)
    assert [event.data.object.name for event in receiver.events(hook.secret)] == ["Coffee"]


def test_the_duplicate_fault_delivers_events_twice(client, sandbox, receiver):
    hook = endpoint(client, receiver)
    sandbox.set_faults(webhook_duplicate_rate=1.0, seed=5)
    client.v1.products.create(params={"name": "Tea"})
    client.v1.products.create(params={"name": "Coffee"})
    drain(sandbox)
    events = receiver.events(hook.secret)
    assert sorted(event.data.object.name for event in events) == [
        "Coffee", "Coffee", "Tea", "Tea"]
    assert len({event.id for event in events}) == 2
    assert sorted(one["duplicate"] for one in sandbox.webhook_deliveries()) == [
        False, False, True, True]


def test_the_shuffle_fault_delivers_in_a_seeded_random_order(client, sandbox, receiver):
    def run(seed: int) -> list[str]:
        sandbox.reset()
        receiver.got.clear()
        hook = endpoint(client, receiver)
        sandbox.set_faults(webhook_shuffle=6, seed=seed)
        for number in range(6):
            client.v1.products.create(params={"name": f"P{number}"})
        receiver.wait_for(6)
        drain(sandbox)
        return [event.data.object.name for event in receiver.events(hook.secret)]

    first = run(3)
    assert sorted(first) == [f"P{number}" for number in range(6)]
    assert first != sorted(first)
    assert run(3) == first  # the same seed, the same order


def test_a_drain_sends_what_the_shuffle_fault_still_holds(client, sandbox, receiver):
    hook = endpoint(client, receiver)
    sandbox.set_faults(webhook_shuffle=50, seed=1)
    client.v1.products.create(params={"name": "Tea"})
    client.v1.products.create(params={"name": "Coffee"})
    assert sandbox.backend.deliveries.outstanding() == 2 and receiver.got == []
    status, _, body = raw_request(sandbox, "POST", "/_sandbox/webhooks/drain", key=None)
    assert (status, body) == (200, {"drained": True, "outstanding": 0})
    assert sorted(event.data.object.name for event in receiver.events(hook.secret)) == [
        "Coffee", "Tea"]


def test_the_delay_fault_holds_each_delivery_back(client, sandbox, receiver):
    endpoint(client, receiver)
    sandbox.set_faults(webhook_delay_ms=300)
    made = time.monotonic()
    client.v1.products.create(params={"name": "Tea"})
    (received,) = receiver.wait_for(1)
    assert received.at - made >= 0.3


def test_the_controls_over_http(client, sandbox, receiver):
    endpoint(client, receiver)
    paid = intent(client, payment_method="pm_card_visa", confirm=True)
    drain(sandbox)
    event = client.v1.events.list(params={"type": "payment_intent.succeeded"}).data[0]
    status, _, log = raw_request(sandbox, "GET",
                                 f"/_sandbox/webhooks/deliveries?event={event.id}", key=None)
    assert status == 200 and [one["type"] for one in log] == ["payment_intent.succeeded"]
    assert json.loads(receiver.got[[json.loads(one.body)["id"] for one in receiver.got].index(
        event.id)].body)["data"]["object"]["id"] == paid.id
    status, _, settings = raw_request(sandbox, "GET", "/_sandbox/webhooks/settings", key=None)
    assert (status, settings) == (200, {"retry_delays": [1.0, 2.0, 4.0], "timeout": 5.0})
    for bad in ('{"retry_delays": [-1]}', '{"timeout": 0}', '{"retries": 3}', "[1]"):
        status, _, answer = raw_request(sandbox, "POST", "/_sandbox/webhooks/settings",
                                        key=None, body=bad)
        assert status == 400 and answer["error"]["message"], bad
    status, _, answer = raw_request(sandbox, "POST", "/_sandbox/webhooks/settings", key=None,
                                    body='{"retry_delays": [0.5]}')
    assert (status, answer["retry_delays"]) == (200, [0.5])
    assert raw_request(sandbox, "GET", "/_sandbox/webhooks/nothing", key=None)[0] == 404


def test_a_drain_that_cannot_finish_says_so(client, sandbox, receiver):
    endpoint(client, receiver)
    receiver.answers = ["hang"]
    client.v1.products.create(params={"name": "Tea"})
    receiver.wait_for(1)
    status, _, body = raw_request(sandbox, "POST", "/_sandbox/webhooks/drain", key=None,
                                  body='{"timeout": 0.05}')
    assert (status, body) == (504, {"drained": False, "outstanding": 1})
    receiver.release.set()
    drain(sandbox)


def test_reset_forgets_every_delivery(client, sandbox, receiver):
    sandbox.set_webhook_settings(retry_delays=[30])
    endpoint(client, receiver)
    receiver.answers = [500]
    client.v1.products.create(params={"name": "Tea"})
    receiver.wait_for(1)
    sandbox.reset()
    # the attempt being sent finishes unrecorded, and its retry (due in 30 s) is gone
    drain(sandbox)
    assert sandbox.backend.deliveries.outstanding() == 0
    assert sandbox.webhook_deliveries() == [] and len(receiver.got) == 1


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stripe_pay.sandbox", "--port", "0",
                             "--quiet", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_the_cli_sets_the_delivery_faults_and_retries():
    process = _cli("--webhook-retries", "0.5,3", "--webhook-shuffle", "2",
                   "--webhook-duplicate-rate", "0.25", "--webhook-delay-ms", "40")
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line

        def control(path: str) -> dict:
            with urllib.request.urlopen(url.group() + path, timeout=DEADLINE) as answer:
                return json.load(answer)

        faults = control("/_sandbox/faults")
        assert (faults["webhook_shuffle"], faults["webhook_duplicate_rate"],
                faults["webhook_delay_ms"]) == (2, 0.25, 40)
        assert control("/_sandbox/webhooks/settings")["retry_delays"] == [0.5, 3.0]
        process.terminate()
        assert process.wait(timeout=DEADLINE) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(("flags", "says"), [
    (("--webhook-retries", "soon"), "--webhook-retries"),
    (("--webhook-duplicate-rate", "2"), "webhook_duplicate_rate"),
    (("--webhook-shuffle", "-1"), "webhook_shuffle"),
])
def test_the_cli_refuses_bad_delivery_settings(flags, says):
    process = _cli(*flags)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2 and says in stderr
