"""Loops: what the host adds to each iteration, how memory grows with the list, and how
checking scales with an automation's length.

* host overhead: ``for each customer in stripe`` / ``update the customer ...`` over N
  customers, against a plain SDK loop (every page listed, each customer updated) sending
  the same requests, interleaved; the figure is the extra time per iteration over the
  plain loop's time per request: at most 5%.
* memory: the peak of Python's allocations (tracemalloc) while a loop reads 1k, 10k and
  100k customers page by page, each run in its own process: bounded, at most 150 MB at 100k.
* checking: parsing and checking an automation of 1,000 and 10,000 lines, per line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from common import BENCH, Figure, Sandbox, book_env, median

UPDATE = 'for each customer in stripe\n  update the customer with the description is "{n}"\n'
READ = ('for each customer in stripe\n  if the customer\'s email ends with "@nowhere.test"\n'
        '    say "{the customer\'s email}"\n')


def plain_loop(url: str, n: int) -> float:
    import stripe
    from common import KEY

    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=2)
    started = time.perf_counter()
    for customer in client.v1.customers.list({"limit": 100}).auto_paging_iter():
        client.v1.customers.update(customer.id, {"description": f"plain {n}"},
                                   {"idempotency_key": f"plain-{n}-{customer.id}"})
    return time.perf_counter() - started


def host_loop(n: int) -> float:
    from kognitos_books import Runtime

    rt = Runtime()
    started = time.perf_counter()
    result = rt.run(UPDATE.replace("{n}", str(n)))
    elapsed = time.perf_counter() - started
    assert result.ok, result.failures[:1]
    return elapsed


def memory(count: int) -> dict[str, float]:
    """Run the reading loop over ``count`` seeded customers in a child process."""
    with Sandbox(customers=count) as sandbox, book_env(sandbox.url):
        out = subprocess.run([sys.executable, str(BENCH / "loops.py"), "--child"],
                             env=dict(os.environ), capture_output=True, text=True,
                             timeout=900, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def child() -> None:
    import tracemalloc

    from kognitos_books import Runtime

    rt = Runtime()
    rt.check(READ)  # (the books loaded and described before measuring)
    tracemalloc.start()
    started = time.perf_counter()
    result = rt.run(READ, journal=False)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    assert result.ok
    print(json.dumps({"peak_mb": peak / 2**20, "seconds": seconds}))


def checking(lines: int) -> float:
    from kognitos_books import Runtime

    text = "".join(f'get a customer from stripe whose email is "c{i}@example.com"\n'
                   for i in range(lines))
    rt = Runtime()
    started = time.perf_counter()
    rt.check(text)
    return (time.perf_counter() - started) / lines


def run(quick: bool) -> list[Figure]:
    n = 300 if quick else 2000
    rounds = 2 if quick else 3
    figures: list[Figure] = []
    with Sandbox(customers=n) as sandbox, book_env(sandbox.url):
        host, plain = [], []
        for i in range(rounds):
            plain.append(plain_loop(sandbox.url, i))
            host.append(host_loop(i))
    per_request = median(plain) / n
    extra = (median(host) - median(plain)) / n
    ratio = extra / per_request
    figures.append(Figure("loops", f"host overhead per iteration / a request ({n:,} records)",
                          round(ratio, 3), "x", "<= 0.05", ratio <= 0.05,
                          f"{extra * 1e6:+.0f} us on {per_request * 1e3:.2f} ms; median of "
                          f"{rounds} interleaved runs"))
    sizes = (1000, 10000) if quick else (1000, 10000, 100000)
    for count in sizes:
        found = memory(count)
        last = count == sizes[-1] and count == 100000
        figures.append(Figure("loops", f"peak memory reading {count:,} records in a loop",
                              round(found["peak_mb"], 1), "MB",
                              "<= 150" if last else "", found["peak_mb"] <= 150 if last
                              else None, f"{found['seconds']:.1f} s, tracemalloc peak"))
    with book_env("http://127.0.0.1:9"):  # (checking sends nothing)
        per_line = {lines: checking(lines) for lines in (1000, 10000)}
    for lines, seconds in per_line.items():
        figures.append(Figure("loops", f"parse and check, {lines:,} lines",
                              round(seconds * 1e6, 1), "us a line",
                              note="stays flat as the automation grows"))
    return figures


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
