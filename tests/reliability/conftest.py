"""Fixtures for the reliability tests: one in-process Stripe sandbox for the session, emptied
and fault-free before each test, the environment that points the Stripe Pay book at it, and
the ``kbooks`` console script run as a real process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_support import BASE_ENV, KEY_ENV, TEST_KEY

from kognitos_books import Runtime


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    from stripe_pay.sandbox import SandboxServer

    with SandboxServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Any, kbooks_home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The session's sandbox with no objects, no logged requests and no faults; the book
    reaches it through the environment, with :data:`TEST_KEY`."""
    sandbox_server.set_faults(latency_ms=0, rate_limit=None, fail_rate=0, drop_rate=0,
                              webhook_duplicate_rate=0, webhook_shuffle=0, webhook_delay_ms=0,
                              seed=None)
    sandbox_server.reset()
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    monkeypatch.setenv(BASE_ENV, sandbox_server.url)
    monkeypatch.delenv("KBOOKS_STRIPE_PAY_MAX_NETWORK_RETRIES", raising=False)
    return sandbox_server


@pytest.fixture
def rt(sandbox: Any, kbooks_home: Path) -> Runtime:
    return Runtime(home=kbooks_home)


@pytest.fixture
def kbooks(kbooks_home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``kbooks`` console script as its own process (environment: this
    test's, plus ``env``)."""
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe, "the kbooks console script is not installed next to this Python"

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], input=input, capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, timeout=timeout)

    return run
