"""What the book's English tests share: the requests a call would send, and an automation run
against the sandbox whose every step must succeed."""

from __future__ import annotations

from typing import Any

from stripe_pay.book import plan_call

from kognitos_books import Call, Record, Runtime


def plan(verb: str, noun: str, **kw: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """The requests the book plans for one call, offline: method, path and parameters."""
    found = plan_call(call=Call(book="stripe_pay", verb=verb, noun=noun,
                                idempotency_key="k1", **kw), connection=None)
    return [(r.method, r.path, dict(r.params)) for r in found.requests]


def run(rt: Runtime, text: str) -> list[Any]:
    """Run ``text``; every step must succeed. Its results, lists made lists."""
    result = rt.run(text, journal=False)
    assert result.ok, [(step.line, step.error) for step in result.failures]
    return [found if isinstance(found, Record) else list(found) for found in result.results()]
