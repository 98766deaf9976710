"""Shared pieces of the reliability tests: the keys they use, and the sandbox's control
endpoints read over HTTP, as any client (or a sandbox in another process) would be."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kognitos_books import testing

#: A well-formed test key found nowhere else, so that any trace of it is a leak.
TEST_KEY = "sk_test_51Qz7RkWp3Vx9LmN2bTy8HcJ4dFs6Gq0A1eUi8Ko"
#: The same secret part as a live key: the sandbox refuses it, Stripe would move money.
LIVE_KEY = "sk_live_" + TEST_KEY.removeprefix("sk_test_")
KEY_ENV = "KBOOKS_STRIPE_PAY_API_KEY"
BASE_ENV = "KBOOKS_STRIPE_PAY_API_BASE"
RETRIES_ENV = "KBOOKS_STRIPE_PAY_MAX_NETWORK_RETRIES"


def control(url: str, path: str, body: dict[str, Any] | None = None,
            method: str | None = None) -> Any:
    """Call a sandbox control endpoint (``/_sandbox/...``) and return its JSON."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/_sandbox/{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def logged(url: str) -> list[dict[str, Any]]:
    """The sandbox's request log, oldest first."""
    return control(url, "requests")


def counts(url: str) -> dict[str, int]:
    """Live objects in the sandbox, by kind (customer, invoice, invoiceitem, ...)."""
    return control(url, "objects")["counts"]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def files_under(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path


class SandboxProcess:
    """A sandbox in its own process (``python -m stripe_pay.sandbox``), stopped by PID."""

    def __init__(self, *args: str, log: Path | None = None) -> None:
        self.log_path = log
        self._log = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stripe_pay.sandbox", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=self._log, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not found:
            self.stop()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.url = found.group()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: the sandbox stops cleanly
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()
        if self._log is not subprocess.DEVNULL:
            self._log.close()  # type: ignore[union-attr]


def wait_for(condition: Any, timeout: float = 20.0, every: float = 0.005) -> Any:
    """Poll ``condition()`` until it is true (bounded, often); return its value."""
    return testing.wait_for(condition, timeout, every)
