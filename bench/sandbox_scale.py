"""How the sandbox's pages cost as its data grows: list pages, filtered lists and searches at
1,000, 10,000 and 50,000 customers.

Each size gets its own sandbox in a subprocess (``bench/serve_sandbox.py``), seeded straight
into its backend with customers ``Customer 00000`` onwards (emails ``customer00000@example.com``,
``metadata[n]``). The pages are asked for over one keep-alive HTTP connection, without the SDK,
so the figure is the sandbox's own work plus a loopback round trip; each is the median (p50)
of its repeats, and the ratio of the largest size to the smallest is measured in the same run.

    python bench/sandbox_scale.py              # all sizes, full repeats
    python bench/sandbox_scale.py --quick      # fewer repeats

The cost of a page should follow the page and the matching work, not the data: a search for
one customer by email or a list page deep in the data costs what it costs at 1,000. The
exception is a substring search that matches few customers: finding them is a scan.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from common import KEY, Figure, Sandbox

SIZES = (1_000, 10_000, 50_000)
#: A page cost at the largest size within this factor of the smallest counts as flat.
FLAT = 2.0


class Client:
    """GETs over one keep-alive connection to a sandbox, with the bench key."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        token = base64.b64encode(f"{KEY}:".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        query = urllib.parse.urlencode(params, doseq=True)
        self.connection.request("GET", f"{path}?{query}", headers=self.headers)
        response = self.connection.getresponse()
        body = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"GET {path}?{query}: {response.status} {body}")
        return body

    def close(self) -> None:
        self.connection.close()


def p50_ms(action: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def walk(client: Client) -> tuple[float, float, int]:
    """Every customer, 100 a page, following ``starting_after``: p50 per page, total seconds,
    pages."""
    times, after, pages = [], None, 0
    started = time.perf_counter()
    while True:
        params: dict[str, Any] = {"limit": 100}
        if after:
            params["starting_after"] = after
        begun = time.perf_counter()
        page = client.get("/v1/customers", **params)
        times.append(time.perf_counter() - begun)
        pages += 1
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    return statistics.median(times) * 1000, time.perf_counter() - started, pages


def measure(size: int, repeats: int) -> dict[str, float]:
    """p50 milliseconds of each kind of page at ``size`` customers."""
    found: dict[str, float] = {}
    with Sandbox(customers=size) as sandbox:
        client = Client(sandbox.url)
        try:
            middle = client.get("/v1/customers/search",
                                query=f"email:'customer{size // 2:05d}@example.com'")
            middle_id = middle["data"][0]["id"]
            rare = f"Customer {size // 2:05d}"[:-1]  # ten customers: a substring scan
            cases: dict[str, Callable[[], Any]] = {
                "list: first page of 100": lambda: client.get("/v1/customers", limit=100),
                "list: page of 100 in the middle": lambda: client.get(
                    "/v1/customers", limit=100, starting_after=middle_id),
                "list: page of 100 before the middle": lambda: client.get(
                    "/v1/customers", limit=100, ending_before=middle_id),
                "filtered list: email (one match)": lambda: client.get(
                    "/v1/customers", email=f"customer{size // 3:05d}@example.com"),
                "filtered list: created, all match": lambda: client.get(
                    "/v1/customers", limit=100, **{"created[gte]": 0}),
                "search: email (one match)": lambda: client.get(
                    "/v1/customers/search",
                    query=f"email:'customer{size // 3:05d}@example.com'"),
                "search: metadata (one match)": lambda: client.get(
                    "/v1/customers/search", query=f"metadata['n']:'{size // 4}'"),
                "search: name substring, all match": lambda: client.get(
                    "/v1/customers/search", query="name~'Customer'", limit=100),
                "search: name substring, ten match (a scan)": lambda: client.get(
                    "/v1/customers/search", query=f"name~'{rare}'"),
            }
            for name, action in cases.items():
                action()  # warm
                found[name] = p50_ms(action, repeats)
            per_page, total, pages = walk(client)
            found["walk every page of 100: per page"] = per_page
            found["walk every page of 100: total"] = total * 1000
            found["pages"] = pages
        finally:
            client.close()
    return found


def run(quick: bool) -> list[Figure]:
    repeats = 5 if quick else 25
    results = {size: measure(size, repeats) for size in SIZES}
    small, large = SIZES[0], SIZES[-1]
    figures = []
    for name in results[small]:
        if name == "pages":
            continue
        for size in SIZES:
            pages = int(results[size]["pages"])
            note = (f"{pages} pages" if "total" in name else
                    f"p50 of the walk's {pages} pages" if "walk" in name else f"p50 of {repeats}")
            figures.append(Figure("scale", f"{name} @ {size:,}", round(results[size][name], 2),
                                  "ms", note=note))
        ratio = results[large][name] / results[small][name]
        flat = "scan" not in name and "total" not in name
        figures.append(Figure(
            "scale", f"{name}: {large:,} / {small:,}", round(ratio, 2), "x",
            f"<= {FLAT:g}" if flat else "", (ratio <= FLAT) if flat else None,
            "the page's cost should not follow the data" if flat else
            ("grows with the data (every page is walked)" if "total" in name else
             "the matching work: a scan of every customer")))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    for figure in run(args.quick):
        met = "" if figure.met is None else ("  met" if figure.met else "  NOT MET")
        target = f"  (target {figure.target})" if figure.target else ""
        print(f"{figure.name:<62} {figure.value:>10g} {figure.unit}{target}{met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
