"""Sequential throughput of the Stripe sandbox through the official stripe SDK.

Creates and then retrieves customers one request at a time, the way a script or a test drives
Stripe, and prints requests per second. The sandbox runs either in this process (sharing the
interpreter with the SDK) or in a subprocess started with ``python -m stripe_pay.sandbox``::

    python bench/sandbox_throughput.py                      # both placements, 1000 requests each
    python bench/sandbox_throughput.py --mode subprocess --requests 3000
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import stripe
from stripe_pay.sandbox import SandboxServer


@contextlib.contextmanager
def in_process() -> Iterator[str]:
    with SandboxServer() as sandbox:
        yield sandbox.url


@contextlib.contextmanager
def in_subprocess() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_pay.sandbox", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.search(r"listening on (\S+)", line)
        if match is None:
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def rate(count: int, operation: Callable[[int], object], rounds: int) -> tuple[float, float]:
    """Median and best requests per second over ``rounds`` runs of ``count`` requests."""
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        for index in range(count):
            operation(index)
        results.append(count / (time.perf_counter() - started))
    return statistics.median(results), max(results)


def measure(url: str, count: int, rounds: int) -> dict[str, tuple[float, float]]:
    client = stripe.StripeClient("sk_test_benchmark", base_addresses={"api": url})
    customers = client.v1.customers
    warm = [customers.create(params={"email": f"warm{i}@example.com"}).id for i in range(50)]
    for customer_id in warm:
        customers.retrieve(customer_id)
    return {
        "create": rate(count, lambda i: customers.create(
            params={"email": f"bench{i}@example.com", "metadata": {"n": str(i)}}), rounds),
        "retrieve": rate(count, lambda i: customers.retrieve(warm[i % len(warm)]), rounds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("in-process", "subprocess", "both"), default="both")
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per operation")
    args = parser.parse_args(argv)
    placements = {"in-process": in_process, "subprocess": in_subprocess}
    chosen = list(placements) if args.mode == "both" else [args.mode]
    print(f"stripe {stripe.VERSION}, Python {sys.version.split()[0]}; sequential requests, "
          f"{args.requests} per round, {args.rounds} rounds (median / best requests per second)")
    for name in chosen:
        with placements[name]() as url:
            results = measure(url, args.requests, args.rounds)
        for operation, (median, best) in results.items():
            print(f"  {name:<11} {operation:<9} {median:8.0f} / {best:6.0f} req/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
