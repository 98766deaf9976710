"""Fixtures for the Stripe Pay book: an in-process sandbox, a runtime connected to it, and
the sandbox's request log (read over HTTP, as any client would)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from stripe_flows import BASE_ENV, KEY_ENV, TEST_KEY

from kognitos_books import Runtime


@attrs.frozen
class RequestLog:
    """The sandbox's request log, through its control endpoint ``/_sandbox/requests``."""

    url: str

    def _send(self, method: str) -> Any:
        request = urllib.request.Request(f"{self.url}/_sandbox/requests", method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def entries(self) -> list[dict[str, Any]]:
        return self._send("GET")

    def clear(self) -> None:
        self._send("DELETE")

    def lines(self) -> list[tuple[str, str]]:
        """Each request as (method, path), oldest first."""
        return [(e["method"], e["path"]) for e in self.entries()]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    from stripe_pay.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture
def stripe_env(sandbox: Any, kbooks_home: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A clean sandbox, and the environment that points the book at it."""
    sandbox.reset()
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    monkeypatch.setenv(BASE_ENV, sandbox.url)
    return sandbox


@pytest.fixture
def new_runtime(stripe_env: Any) -> Callable[[], Runtime]:
    """Make runtimes on the sandbox; each has its own connection (its own writes)."""
    return Runtime


@pytest.fixture
def rt(new_runtime: Callable[[], Runtime]) -> Runtime:
    return new_runtime()


@pytest.fixture
def log(stripe_env: Any) -> RequestLog:
    return RequestLog(stripe_env.url)


@pytest.fixture
def connected(rt: Runtime, log: RequestLog) -> Runtime:
    """A runtime already connected (its verifying request done), with an empty log."""
    rt.connect("stripe_pay")
    log.clear()
    return rt
