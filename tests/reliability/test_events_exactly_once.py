"""Events, exactly once: 1,000 events delivered with duplicates and out of order to a
``kbooks listen`` that is killed with ``kill -9`` three times and started again, while a
tenth of the sandbox's answers are server errors. Every event's automation completes once
(one product per customer, made by the handler with its idempotency keys) and none is
skipped; a forged or replayed delivery runs nothing.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import stripe
from reliability_support import TEST_KEY, wait_for

from kognitos_books.triggers.inbox import Inbox

EVENTS = 1000
KILLS_AT = (150, 450, 750)  # products made when the listener is killed
HANDLER = """\
when a customer is created in stripe
  create a product in stripe with
    the name is the customer's id
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ListenerProcess:
    """``kbooks listen`` as its own process, on a fixed port (so on a fixed URL)."""

    def __init__(self, file: Path, port: int, log: Path) -> None:
        self.file, self.port, self.log = file, port, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
        assert exe
        self.starts += 1
        out = open(self.log, "ab")  # noqa: SIM115 (kept open by the child)
        env = {**os.environ, "KBOOKS_STRIPE_PAY_MAX_NETWORK_RETRIES": "3"}
        self.process = subprocess.Popen(
            [exe, "listen", str(self.file), "--port", str(self.port), "--workers", "4"],
            stdout=out, stderr=subprocess.STDOUT, env=env)
        out.close()
        assert wait_for(self.serving, timeout=60), self.log.read_text()[-3000:]

    def serving(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError("the listener exited:\n" + self.log.read_text()[-3000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/health")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def product_names(client: stripe.StripeClient) -> list[str]:
    return [p.name for p in client.v1.products.list({"limit": 100}).auto_paging_iter()]


@pytest.mark.slow
def test_a_thousand_events_each_run_once_through_duplicates_shuffles_kills_and_errors(
        sandbox: Any, kbooks_home: Path, tmp_path: Path) -> None:
    sandbox.set_faults(webhook_duplicate_rate=0.2, webhook_shuffle=25, seed=15)
    file = tmp_path / "new.kb"
    file.write_text(HANDLER)
    listener = ListenerProcess(file, free_port(), tmp_path / "listen.log")
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": sandbox.url},
                                 max_network_retries=5)
    made: list[str] = []
    kills = 0
    try:
        listener.start()
        sandbox.set_faults(fail_rate=0.1)  # a tenth of every request fails, retryably
        creating = threading.Thread(target=lambda: made.extend(
            client.v1.customers.create({"email": f"e{k}@example.com"}).id
            for k in range(EVENTS)))
        creating.start()
        for at in KILLS_AT:
            assert wait_for(lambda at=at: len(product_names(client)) >= at, timeout=240)
            listener.kill()
            kills += 1
            time.sleep(0.5)  # deliveries fail meanwhile: the sandbox retries, catch-up finds
            listener.start()
        creating.join(240)
        assert len(made) == EVENTS
        sandbox.drain_webhooks(60)
        inbox = Inbox(kbooks_home)
        assert wait_for(lambda: inbox.counts().get("succeeded") == EVENTS, timeout=300), (
            inbox.counts(), listener.log.read_text()[-3000:])
    finally:
        listener.stop()
        sandbox.set_faults(fail_rate=0)
    names = collections.Counter(product_names(client))
    work = list(Inbox(kbooks_home).all_work())
    attempts = collections.Counter(w.attempts for w in work)
    deliveries = sandbox.webhook_deliveries()
    duplicates = sum(1 for d in deliveries if d.get("duplicate"))
    faults = collections.Counter(r["fault"] for r in sandbox.requests() if r["fault"])
    products_sent = sum(1 for r in sandbox.requests() if r["path"] == "/v1/products"
                        and r["method"] == "POST")
    print(f"\nevents: {EVENTS}; deliveries attempted: {len(deliveries)} ({duplicates} "
          f"duplicates); listener started {listener.starts} times, killed {kills}; work "
          f"items: {len(work)}, by attempts: {dict(sorted(attempts.items()))}; products: "
          f"{sum(names.values())} for {len(names)} customers, from {products_sent} product "
          f"requests; sandbox faults: {dict(faults)}")
    assert kills == 3
    assert set(names) == set(made), "an event's automation was skipped"
    assert max(names.values()) == 1, "an event's automation ran twice"
    assert len(work) == EVENTS and {w.state for w in work} == {"succeeded"}


def post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/stripe_pay", body=body,
                 headers={"Content-Type": "application/json", **headers})
    answer = conn.getresponse()
    found = json.loads(answer.read() or b"{}")
    conn.close()
    return answer.status, found


def event_json(url: str, event_id: str) -> bytes:
    """The event as Stripe delivers it: its JSON as ``GET /v1/events/{id}`` renders it."""
    request = urllib.request.Request(f"{url}/v1/events/{event_id}",
                                     headers={"Authorization": f"Bearer {TEST_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def test_a_forged_or_replayed_delivery_runs_nothing(sandbox: Any, kbooks_home: Path,
                                                    tmp_path: Path) -> None:
    from kognitos_books.credentials import CredentialStore

    file = tmp_path / "new.kb"
    file.write_text(HANDLER)
    listener = ListenerProcess(file, free_port(), tmp_path / "listen.log")
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": sandbox.url})
    try:
        listener.start()
        customer = client.v1.customers.create({"email": "real@example.com"})
        assert wait_for(lambda: product_names(client) == [customer.id], timeout=60)
        event = next(e for e in client.v1.events.list().data if e.type == "customer.created")
        body = event_json(sandbox.url, event.id)
        url = f"http://127.0.0.1:{listener.port}/stripe_pay"
        kept = CredentialStore(kbooks_home).endpoint("stripe_pay", "environment", url)
        assert kept is not None
        secret = kept[1].reveal()
        sign = stripe.WebhookSignature._compute_signature
        now = int(time.time())
        forged = body.replace(customer.id.encode(), b"cus_forged0000000000000000")

        def signed(at: int, key: str) -> dict[str, str]:
            return {"Stripe-Signature": f"t={at},v1={sign(f'{at}.{body.decode()}', key)}"}

        refused = {"unsigned": {}, "forged body": signed(now, secret),
                   "another secret": signed(now, "whsec_guess"),
                   "replayed an hour later": signed(now - 3600, secret)}
        for why, headers in refused.items():
            sent = forged if why == "forged body" else body
            status, answer = post(listener.port, sent, headers)
            assert status == 400, (why, answer)
            assert secret not in json.dumps(answer)
        # the genuine delivery sent again, signed afresh: recorded already, nothing new runs
        status, answer = post(listener.port, body, signed(now, secret))
        assert (status, answer["new"]) == (200, False)
        sandbox.drain_webhooks(10)
    finally:
        listener.stop()
    assert product_names(client) == [customer.id]
    assert [e.id for e in Inbox(kbooks_home).events()] == [event.id]
    assert secret not in listener.log.read_text()
