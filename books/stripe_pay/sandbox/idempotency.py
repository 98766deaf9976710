"""Answers kept for idempotent requests: replayed for 24 hours, within a budget of bytes.

A POST with an ``Idempotency-Key`` keeps its answer under (API key hash, idempotency key) so
that a retry gets the same answer, as on Stripe. Keys expire after ``ttl`` seconds; and the
answers kept take at most ``max_bytes`` (their bodies and what identifies their requests), the
oldest forgotten first, so a long run with many keys holds a bounded amount of memory. A
forgotten key's retry runs afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
IDEMPOTENCY_MAX_BYTES = 64 * 1024 * 1024
#: What an entry costs beyond its bytes: its key, tuple and dict slot, roughly.
ENTRY_OVERHEAD = 256

Scope = tuple[str, str]


@attrs.define
class Stored:
    """A kept answer and what identifies the request that got it."""

    fingerprint: tuple[Any, ...]
    status: int
    body: bytes
    request_id: str
    stored_at: float
    size: int = 0


def _size(scope: Scope, stored: Stored) -> int:
    method, path, pairs = stored.fingerprint
    return (ENTRY_OVERHEAD + len(stored.body) + len(stored.request_id) + len(method) + len(path)
            + sum(len(name) + len(value) for name, value in pairs)
            + len(scope[0]) + len(scope[1]))


class IdempotencyStore:
    """Kept answers by scope, oldest first, within ``ttl`` seconds and ``max_bytes``."""

    def __init__(self, clock: Callable[[], float], *, ttl: float = IDEMPOTENCY_TTL_SECONDS,
                 max_bytes: int = IDEMPOTENCY_MAX_BYTES) -> None:
        self._clock = clock
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._kept: dict[Scope, Stored] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, scope: Scope) -> Stored | None:
        """The answer kept for ``scope``, if it has not expired (expired ones are dropped)."""
        limit = self._clock() - self.ttl
        # Dicts keep insertion order, so the oldest answers are at the front.
        while self._kept:
            oldest_scope, oldest = next(iter(self._kept.items()))
            if oldest.stored_at > limit:
                break
            self._drop(oldest_scope)
        return self._kept.get(scope)

    def put(self, scope: Scope, stored: Stored) -> None:
        """Keep an answer, forgetting the oldest ones while over ``max_bytes`` (one larger
        than the whole budget is not kept)."""
        if scope in self._kept:
            self._drop(scope)
        stored.size = _size(scope, stored)
        self._kept[scope] = stored
        self.bytes += stored.size
        while self._kept and self.bytes > self.max_bytes:
            self._drop(next(iter(self._kept)))

    def clear(self) -> None:
        self._kept.clear()
        self.bytes = 0

    def _drop(self, scope: Scope) -> None:
        self.bytes -= self._kept.pop(scope).size
