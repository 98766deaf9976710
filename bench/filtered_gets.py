"""Gets with conditions over 10,000 customers: requests and time of each way the book can
find records.

The sandbox is seeded with 10,000 customers straight into its backend (no HTTP), named
``Customer 00000`` onwards, emails ``customer00000@example.com`` onwards. Each get runs as
English through ``Runtime.run`` (every record of a plural get is read); requests are counted
in the sandbox's request log, and the time is the median over repeats.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from common import Figure, Sandbox, book_env

CUSTOMERS = 10_000
PAGE = 100

#: (label, automation, matches, fewest requests, strategy)
GETS: tuple[tuple[str, str, int, int, str], ...] = (
    ("exact email (list filter)",
     'get a customer from stripe whose email is "customer05000@example.com"', 1, 1,
     "list filter"),
    ("name contains (search)",
     'get all customers from stripe whose name contains "Customer 0500"', 10, 1, "search"),
    ("name starts with (client-side filter)",
     'get all customers from stripe whose name starts with "Customer 0000"', 10,
     math.ceil(CUSTOMERS / PAGE), "client-side filter"),
)


def measure(repeats: int, slow_repeats: int) -> list[dict[str, Any]]:
    from kognitos_books import Runtime
    from kognitos_books.automation import LazyRecords

    found = []
    with Sandbox(customers=CUSTOMERS) as sandbox, book_env(sandbox.url):
        rt = Runtime()
        for label, text, matches, fewest, strategy in GETS:
            times, counts, sizes = [], [], []
            for _ in range(repeats if fewest == 1 else slow_repeats):
                before = len(sandbox.requests())
                started = time.perf_counter()
                result = rt.run(text + "\n", journal=False)
                value = result.steps[0].result
                # a plural get is lazy: reading every record is part of the get
                sizes.append(len(value) if isinstance(value, LazyRecords) else
                             int(value is not None))
                times.append(time.perf_counter() - started)
                counts.append(len(sandbox.requests()) - before)
                if len(sandbox.requests()) > 9_000:
                    sandbox.clear_log()  # the log keeps 10,000; each count needs its own
            found.append({"label": label, "matches": matches, "found": sizes[-1],
                          "fewest": fewest, "requests": counts[-1], "strategy": strategy,
                          "seconds": statistics.median(times), "repeats": len(times)})
    return found


def run(quick: bool) -> list[Figure]:
    figures = []
    for row in measure(5 if quick else 30, 1 if quick else 5):
        ok = row["requests"] == row["fewest"] and row["found"] == row["matches"]
        figures.append(Figure("filters", f"{row['label']}: requests", row["requests"],
                              "requests", f"= {row['fewest']}", ok,
                              f"{row['found']} of {CUSTOMERS:,} customers found"))
        figures.append(Figure("filters", f"{row['label']}: time",
                              round(row["seconds"] * 1000, 1), "ms",
                              note=f"median of {row['repeats']}"))
    return figures
