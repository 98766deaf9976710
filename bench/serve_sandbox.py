"""Serve a Stripe sandbox for the benchmarks, optionally seeded with customers.

    python bench/serve_sandbox.py [--customers N [--events]]

Prints ``listening on URL`` once it serves and runs until interrupted (SIGINT or SIGTERM).
Seeded customers go straight into the backend (no HTTP): ten thousand take well under a
second this way, against several seconds of requests.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from stripe_pay.sandbox import SandboxServer


def seed_customers(server: SandboxServer, count: int, events: bool = False) -> None:
    """``count`` customers, ``customer00000@example.com`` onwards, each named after its
    number and with ``metadata[n]``; as if created one after another. With ``events``, each
    is created as a request would, as one operation: its ``customer.created`` is recorded."""
    backend = server.backend
    with backend.lock:
        for n in range(count):
            with backend.operation() if events else contextlib.nullcontext():
                backend.create_customer({"email": f"customer{n:05d}@example.com",
                                         "name": f"Customer {n:05d}",
                                         "metadata": {"n": str(n)}})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=0, help="customers to seed")
    parser.add_argument("--events", action="store_true",
                        help="record the seeded customers' events, as requests would")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for name in (signal.SIGINT, signal.SIGTERM):
        signal.signal(name, lambda *_: stop.set())
    with SandboxServer(host="127.0.0.1", port=0) as server:
        if args.customers:
            seed_customers(server, args.customers, args.events)
        print(f"listening on {server.url}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
