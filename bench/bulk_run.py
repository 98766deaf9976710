"""Bulk: ``kbooks run create.kog --each rows.csv`` over many rows of "create a customer",
against a sandbox that answers in 50 ms and allows 25 requests a second (a test-mode Stripe
account's limit), with every default: the pace (25/s for a test key) and the concurrency
(chosen from the pace and the time steps take).

Then a plain sequential loop of ``stripe.StripeClient`` creates over the same rows, same
sandbox settings, for comparison. Figures: the achieved rate over the limit (target at least
0.9), the rows that failed (429s must be waited out, never reported), the 429s the sandbox
answered along the way, and the rate against the plain loop's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import stripe
from common import KEY, Figure, Sandbox, book_env

LATENCY_MS = 50
LIMIT = 25
AUTOMATION = "create a customer in stripe with\n  the email is the row's email\n"


def _files(directory: Path, rows: int) -> tuple[Path, Path]:
    kog = directory / "create.kog"
    kog.write_text(AUTOMATION)
    csv = directory / "rows.csv"
    csv.write_text("email\n" + "".join(f"bulk{n:05d}@example.com\n" for n in range(rows)))
    return kog, csv


def _kbooks(kog: Path, csv: Path) -> tuple[dict[str, Any], float]:
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    if exe is None:
        raise RuntimeError("the kbooks console script is not installed next to this Python")
    started = time.perf_counter()
    out = subprocess.run([exe, "run", str(kog), "--each", str(csv), "--json"],
                         capture_output=True, text=True, env=dict(os.environ), check=False)
    wall = time.perf_counter() - started
    lines = out.stdout.splitlines()
    if not lines:
        raise RuntimeError(f"kbooks run printed nothing: {out.stderr}")
    return json.loads(lines[-1]), wall


def _plain_loop(url: str, rows: int) -> tuple[float, int]:
    """Seconds for ``rows`` creates one after another, and the 429s it met (a plain loop
    has no answer to them: the SDK does not retry a 429)."""
    sdk = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=2)
    limited = 0
    started = time.perf_counter()
    for n in range(rows):
        try:
            sdk.v1.customers.create(params={"email": f"loop{n:05d}@example.com"})
        except stripe.RateLimitError:
            limited += 1
    return time.perf_counter() - started, limited


def measure(rows: int) -> dict[str, Any]:
    with Sandbox() as sandbox, book_env(sandbox.url), \
            tempfile.TemporaryDirectory(prefix="kbooks-bench-") as work:
        sandbox.faults(latency_ms=LATENCY_MS, rate_limit=LIMIT)
        kog, csv = _files(Path(work), rows)
        summary, wall = _kbooks(kog, csv)
        log = sandbox.requests()
        created = sandbox.count("customer")
        sandbox.reset()
        loop_seconds, loop_limited = _plain_loop(sandbox.url, rows)
        loop_created = sandbox.count("customer")
    return {"rows": rows, "summary": summary, "wall": wall, "created": created,
            "limited": sum(1 for e in log if e["status"] == 429),
            "loop_seconds": loop_seconds, "loop_limited": loop_limited,
            "loop_created": loop_created}


def run(quick: bool) -> list[Figure]:
    rows = 200 if quick else 1000
    found = measure(rows)
    summary = found["summary"]
    rate = rows / summary["seconds"]
    loop_rate = rows / found["loop_seconds"]
    where = f"{rows} rows, {LATENCY_MS} ms latency, limit {LIMIT}/s"
    return [
        Figure("bulk", "kbooks run --each: rows a second / limit", round(rate / LIMIT, 3),
               "x", ">= 0.9", rate / LIMIT >= 0.9,
               f"{rate:.1f} rows/s; {where}; {found['wall']:.1f} s with process start"),
        Figure("bulk", "kbooks run --each: rows failed", len(summary["failed_rows"]),
               "rows", "0", not summary["failed_rows"] and found["created"] == rows,
               f"{found['created']} customers created; {found['limited']} 429s waited out"),
        Figure("bulk", "plain sequential SDK loop: rows a second / limit",
               round(loop_rate / LIMIT, 3), "x",
               note=f"{loop_rate:.1f} rows/s; {found['loop_limited']} rows lost to 429s"),
        Figure("bulk", "kbooks run --each / plain sequential SDK loop", round(rate / loop_rate, 2),
               "x", note="rows a second, each"),
    ]
