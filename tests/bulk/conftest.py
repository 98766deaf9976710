"""Fixtures for bulk runs of the Stripe Pay book: one sandbox for the session (reset and
its faults cleared for each test), the environment that points the book at it, and short
backoffs so that waiting out a 429 costs milliseconds, not seconds."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

KEY = "sk_test_bulkbulkbulk0001"
KEY_ENV = "KBOOKS_STRIPE_PAY_API_KEY"
BASE_ENV = "KBOOKS_STRIPE_PAY_API_BASE"
NO_FAULTS = {"latency_ms": 0, "rate_limit": None, "fail_rate": 0, "drop_rate": 0}


@pytest.fixture(scope="session")
def bulk_sandbox() -> Iterator[Any]:
    from stripe_pay.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(bulk_sandbox: Any, kbooks_home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A clean sandbox without faults, and the book's environment pointing at it."""
    bulk_sandbox.set_faults(**NO_FAULTS)
    bulk_sandbox.reset()
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv(BASE_ENV, bulk_sandbox.url)
    yield bulk_sandbox
    bulk_sandbox.set_faults(**NO_FAULTS)


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoffs of a few milliseconds: the tests check that 429s are waited out, not how
    long the waits are."""
    from stripe_pay import client

    # As many more retries as the waits are shorter: the same patience, in time.
    monkeypatch.setattr(client, "RATE_LIMIT_FIRST_DELAY", 0.02)
    monkeypatch.setattr(client, "RATE_LIMIT_MAX_DELAY", 0.2)
    monkeypatch.setattr(client, "RATE_LIMIT_RETRIES", 100)


def statuses(sandbox: Any) -> collections.Counter[int]:
    """How many ``/v1`` requests the sandbox answered with each status."""
    return collections.Counter(entry["status"] for entry in sandbox.requests())


def emails(sandbox: Any) -> list[str | None]:
    """The email of every live customer in the sandbox, read from its backend (no request),
    oldest first."""
    with sandbox.backend.lock:
        return [c.email for c in sandbox.backend.customers.objects.values() if not c.deleted]
