"""Fixtures for the sandbox's conformance tests: one sandbox on 127.0.0.1 (a free port) for the
whole session, emptied before each test, and the official stripe SDK pointed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from sandbox_http import make_client
from stripe_pay.sandbox import Faults, SandboxServer
from stripe_pay.sandbox.delivery import Settings

EXPECTED_FIELDS = Path(__file__).with_name("expected_fields.json")


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, with no objects, no logged requests, no faults and the default
    webhook delivery settings."""
    sandbox_server.set_faults(**Faults().to_json())
    sandbox_server.set_webhook_settings(**Settings().to_json())
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def client(sandbox: SandboxServer) -> stripe.StripeClient:
    """An SDK client on the sandbox that does not retry, so every request is seen once."""
    return make_client(sandbox)


@pytest.fixture
def price(client: stripe.StripeClient):
    """A recurring price of $30.00 a month (what the subscription tests subscribe to)."""
    return client.v1.prices.create(params={
        "currency": "usd", "unit_amount": 3000, "recurring": {"interval": "month"},
        "product_data": {"name": "Pro"}})


@pytest.fixture(scope="session")
def expected_fields() -> dict[str, list[str]]:
    """Top-level fields of Stripe's example objects, by fixture name (see the data file)."""
    return json.loads(EXPECTED_FIELDS.read_text())["objects"]
