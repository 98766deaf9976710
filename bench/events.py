"""Events: how fast deliveries are acknowledged, how soon a handler's first step follows an
event, and how fast a listener catches up on events it missed.

* acknowledged per second: signed ``customer.created`` deliveries POSTed by 8 keep-alive
  clients to the receiver (``bench/serve_receiver.py``, its own process): each verified by
  the Stripe Pay book with the SDK and recorded durably (SQLite ``synchronous=FULL``, one
  commit for the deliveries waiting together) before its 200. Side by side, in the same run,
  the same server answering 200 to every POST with nothing behind it: the server's ceiling.
  Target: at least 500 a second.
* event to first step: ``kbooks listen`` (its own process) on a sandbox (another): a
  customer is created, the sandbox delivers its event, the handler creates a product; the
  time from the create's answer to the product's request reaching the sandbox (its request
  log), one event at a time, p50 and p99.
* catch-up: a listener started after 10,000 events it never received reads them from
  ``/v1/events`` (oldest first, 100 a page) and records them: seconds and events a second.

    python3 bench/events.py [--quick]
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from common import BASE_ENV, BENCH, KEY, KEY_ENV, Figure, Sandbox, book_env

SECRET_ENV = "KBOOKS_BENCH_WEBHOOK_SECRET"
HANDLER = """\
when a customer is created in stripe
  create a product in stripe with
    the name is the customer's id
"""


def delivery(n: int) -> bytes:
    customer = {"id": f"cus_bench{n:08d}", "object": "customer", "email": f"b{n}@example.com",
                "created": int(time.time()), "livemode": False, "metadata": {}}
    return json.dumps({"id": f"evt_bench{uuid.uuid4().hex[:20]}", "object": "event",
                       "type": "customer.created", "created": int(time.time()),
                       "livemode": False, "api_version": "2026-10-28.endive",
                       "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                       "data": {"object": customer}}).encode()


def acks_per_second(bare: bool, count: int, clients: int = 8) -> float:
    import stripe

    secret = "whsec_bench" + uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="kbooks-bench-") as home:
        env = {**os.environ, KEY_ENV: KEY, "KBOOKS_HOME": home, SECRET_ENV: secret}
        env.pop(BASE_ENV, None)
        command = [sys.executable, str(BENCH / "serve_receiver.py"), SECRET_ENV]
        server = subprocess.Popen(command + (["--bare"] if bare else []), env=env,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            port = int(re.search(r"listening on (\d+)", server.stdout.readline()).group(1))
            bodies = [delivery(n) for n in range(count)]
            now = int(time.time())
            signed = [(body, f"t={now},v1=" + stripe.WebhookSignature._compute_signature(
                f"{now}.{body.decode()}", secret)) for body in bodies]
            failures: list[int] = []

            def send(part: list[tuple[bytes, str]]) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                for body, signature in part:
                    conn.request("POST", "/stripe_pay", body=body, headers={
                        "Content-Type": "application/json", "Stripe-Signature": signature})
                    answer = conn.getresponse()
                    answer.read()
                    if answer.status != 200:
                        failures.append(answer.status)
                conn.close()

            send(signed[:20])  # (warm: imports, the first commit)
            work = signed[20:]
            threads = [threading.Thread(target=send, args=(work[k::clients],))
                       for k in range(clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
            if failures:
                raise RuntimeError(f"{len(failures)} deliveries refused: {failures[:5]}")
            if not bare:
                import sqlite3

                db = sqlite3.connect(Path(home) / "events.sqlite")
                recorded = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
                db.close()
                assert recorded == count, (recorded, count)
            return len(work) / seconds
        finally:
            server.terminate()
            server.wait(10)


def latencies(count: int) -> list[float]:
    """Seconds from a customer's create answered to its handler's first request arriving."""
    import stripe

    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe
    with Sandbox() as sandbox, book_env(sandbox.url) as home:
        file = Path(home) / "new.kb"
        file.write_text(HANDLER)
        listener = subprocess.Popen([exe, "listen", str(file), "--port", "0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=dict(os.environ))
        try:
            assert listener.stdout is not None
            for line in listener.stdout:
                if line.startswith("listening on"):
                    break
            client = stripe.StripeClient(KEY, base_addresses={"api": sandbox.url})
            created: dict[str, float] = {}
            for n in range(count + 5):
                customer = client.v1.customers.create({"email": f"l{n}@example.com"})
                created[customer.id] = time.time()
                time.sleep(0.03)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                arrived = {entry["params"].get("name"): entry["time"]
                           for entry in sandbox.requests()
                           if entry["method"] == "POST" and entry["path"] == "/v1/products"}
                if set(created) <= set(arrived):
                    break
                time.sleep(0.2)
            # (the first few include the listener's warm-up: left out)
            return [arrived[cid] - at for cid, at in list(created.items())[5:]]
        finally:
            listener.terminate()
            listener.wait(30)


def catch_up_seconds(count: int) -> float:
    from kognitos_books import Runtime
    from kognitos_books.triggers.listener import Listener

    with Sandbox(customers=count, events=True) as sandbox, book_env(sandbox.url):
        rt = Runtime()
        listener = Listener(rt, [("new.kb", HANDLER)], poll=3600, role="receive")
        listener.connect()
        started = time.perf_counter()
        new = listener.catch_up("stripe_pay")
        seconds = time.perf_counter() - started
        assert new == count, (new, count)
        return seconds


def run(quick: bool) -> list[Figure]:
    count = 2000 if quick else 10000
    figures: list[Figure] = []
    bare = acks_per_second(True, count)
    full = acks_per_second(False, count)
    figures.append(Figure("events", "deliveries acknowledged a second, verified and durable",
                          round(full), "/s", ">= 500", full >= 500,
                          f"{count:,} signed deliveries, 8 clients; the same server with "
                          f"nothing behind it: {bare:,.0f}/s ({full / bare:.2f}x)"))
    found = sorted(latencies(40 if quick else 200))
    p50 = statistics.median(found)
    p99 = found[min(len(found) - 1, int(round(0.99 * (len(found) - 1))))]
    figures.append(Figure("events", "event to first step, p50", round(p50 * 1000, 1), "ms",
                          note=f"{len(found)} events one at a time, loopback; p99 "
                          f"{p99 * 1000:.1f} ms"))
    figures.append(Figure("events", "event to first step, p99", round(p99 * 1000, 1), "ms",
                          note="create answered -> the handler's request at the sandbox"))
    missed = 2000 if quick else 10000
    seconds = catch_up_seconds(missed)
    figures.append(Figure("events", f"catch-up of {missed:,} missed events",
                          round(seconds, 2), "s", note=f"{missed / seconds:,.0f} events/s, "
                          "read from /v1/events and recorded"))
    return figures


def main() -> None:
    from run import table

    print(table(run("--quick" in sys.argv[1:])))


if __name__ == "__main__":
    main()
