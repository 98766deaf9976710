"""The end-to-end flows replayed from vcrpy cassettes, with no server running.

By default each flow replays ``cassettes/stripe_pay_<flow>.yaml`` (``record_mode="none"``:
a request missing from the cassette fails the test, nothing reaches a network).

Re-recording (see docs/STRIPE_PAY.md):

* ``KBOOKS_RECORD=1`` records against a fresh in-process sandbox;
* ``KBOOKS_RECORD=1 STRIPE_TEST_KEY=sk_test_...`` records against Stripe's test mode (use
  an account with no other data: the flows list everything).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from stripe_flows import BASE_ENV, FLOWS, KEY_ENV, TEST_KEY, Env

from kognitos_books import Runtime
from kognitos_books.testing import find_secrets, scrubbing_vcr

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
RECORDING = os.environ.get("KBOOKS_RECORD") == "1"
REAL_KEY = os.environ.get("STRIPE_TEST_KEY")
#: Nothing listens here: replays never reach the network (vcr matches regardless of host).
REPLAY_BASE = "http://127.0.0.1:12111"


def cassette(name: str) -> Path:
    return CASSETTES / f"stripe_pay_{name}.yaml"


@pytest.fixture
def target(kbooks_home, monkeypatch) -> Iterator[tuple[str, str]]:
    """Where requests go: a fresh sandbox or Stripe when recording, nowhere when replaying."""
    if not RECORDING:
        yield REPLAY_BASE, TEST_KEY
    elif REAL_KEY:
        yield "https://api.stripe.com", REAL_KEY
    else:
        from stripe_pay.sandbox import SandboxServer

        with SandboxServer() as server:
            yield server.url, TEST_KEY


@pytest.mark.parametrize("name", FLOWS)
def test_replay(name, target, monkeypatch):
    base, key = target
    monkeypatch.setenv(BASE_ENV, base)
    monkeypatch.setenv(KEY_ENV, key)
    path = cassette(name)
    if RECORDING:
        path.unlink(missing_ok=True)
    elif not path.exists():
        pytest.fail(f"{path.name} is missing; record it with KBOOKS_RECORD=1")
    vcr = scrubbing_vcr(CASSETTES, record_mode="all" if RECORDING else "none")
    with vcr.use_cassette(path.name) as recorded:
        FLOWS[name](Env(Runtime, search_lag=60.0 if REAL_KEY else 0.0))
    if not RECORDING:
        assert recorded.all_played, f"{path.name} has requests the flow no longer sends"


def test_every_flow_has_a_cassette():
    assert {p.name for p in CASSETTES.glob("stripe_pay_*.yaml")} == {
        cassette(name).name for name in FLOWS}


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.name)
def test_cassettes_hold_no_secret(path):
    text = path.read_text(encoding="utf-8")
    assert find_secrets(text) == []
    assert not re.search(r"(?im)^\s*-?\s*authorization\s*:", text)
    assert "Bearer" not in text
    assert TEST_KEY[8:] not in text
