"""What the benchmarks share: a sandbox in its own process, its controls, figures, timing.

The sandbox runs in a subprocess (``bench/serve_sandbox.py``), so its work is not charged to
the process being measured, as Stripe's would not be; the benchmarks drive it over HTTP
through its control endpoints (``/_sandbox/...``) and read its request log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: A well-formed test key; the sandbox takes any.
KEY = "sk_test_benchbenchbench0001"
KEY_ENV = "KBOOKS_STRIPE_PAY_API_KEY"
BASE_ENV = "KBOOKS_STRIPE_PAY_API_BASE"


@attrs.frozen
class Figure:
    """One measured figure: what, the value, its unit, the target and whether it is met.

    ``target`` is text for people (``<= 1.10``); ``met`` is None when there is no target.
    """

    bench: str
    name: str
    value: float
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


class Sandbox:
    """A Stripe sandbox in a subprocess, and its control endpoints.

    ``customers`` seeds that many customers straight into its backend before it serves
    (``events``: with their events recorded).
    """

    def __init__(self, *, customers: int = 0, events: bool = False) -> None:
        self.customers = customers
        self.events = events
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Sandbox:
        command = [sys.executable, str(BENCH / "serve_sandbox.py")]
        if self.customers:
            command += ["--customers", str(self.customers)]
        if self.events:
            command.append("--events")
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        match = re.search(r"listening on (\S+)", line)
        if match is None:
            self.__exit__()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.url = match.group(1)
        return self

    def __exit__(self, *exc_info: object) -> None:
        process = self._process
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._process = None

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, method=method, data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def faults(self, **changes: Any) -> dict[str, Any]:
        """Set faults (``latency_ms``, ``rate_limit``, ...); None clears ``rate_limit``."""
        return self._control("POST", "/_sandbox/faults", changes)

    def clear_faults(self) -> None:
        self.faults(latency_ms=0, rate_limit=None, fail_rate=0, drop_rate=0)

    def reset(self) -> None:
        """Forget every object and logged request (seeded customers too)."""
        self._control("POST", "/_sandbox/reset", {})

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first (the last 10,000 requests)."""
        return self._control("GET", "/_sandbox/requests")

    def clear_log(self) -> None:
        self._control("DELETE", "/_sandbox/requests")

    def count(self, kind: str) -> int:
        return self._control("GET", f"/_sandbox/objects?object={kind}")["count"]


@contextlib.contextmanager
def book_env(url: str) -> Iterator[Path]:
    """A private kbooks home and the environment that points the Stripe Pay book at
    ``url``; both undone afterwards."""
    saved = {name: os.environ.get(name) for name in (KEY_ENV, BASE_ENV, "KBOOKS_HOME")}
    with tempfile.TemporaryDirectory(prefix="kbooks-bench-") as home:
        os.environ.update({KEY_ENV: KEY, BASE_ENV: url, "KBOOKS_HOME": home})
        try:
            yield Path(home)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def timed(action: Callable[[], Any]) -> float:
    """Seconds ``action`` takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def process_seconds(command: Sequence[str], runs: int, env: dict[str, str] | None = None
                    ) -> list[float]:
    """Wall time of each of ``runs`` runs of ``command`` (it must succeed)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - started)
    return times
