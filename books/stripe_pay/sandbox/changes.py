"""The record of every state change: what changed, how, and which request changed it.

Every change to a stored object passes through :meth:`~.backend.BackendCore.change`, inside
an operation (each handler runs as one). When the outermost operation ends, each object it
touched becomes one :class:`Change`: its kind and id, what happened (``create``, ``update``,
``delete`` or the action's verb, such as ``finalize``), the object as it is after (as it was,
for a delete), the previous values of the fields that changed (for anything but a create or a
delete), and the request id and idempotency key of the request that made it. An operation that
fails changes nothing, unless its error says the changes stand (a declined payment still counts
its attempt).

The :class:`ChangeLog` keeps the latest changes, bounded in count and in bytes, and tells
listeners (:meth:`ChangeLog.listen`) about each operation's changes, together, as they are
recorded: Stripe Events hang on it (``resources/events.py``).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterator
from typing import Any

import attrs

CHANGE_LOG_MAX = 10_000
CHANGE_LOG_MAX_BYTES = 32 * 1024 * 1024


def snapshot(rendered: dict[str, Any]) -> bytes:
    """A rendering frozen as compact JSON (nothing of it is shared with live objects)."""
    return json.dumps(rendered, ensure_ascii=False, separators=(",", ":")).encode()


def previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The top-level fields whose values differ, with their values before (Stripe's
    ``previous_attributes``)."""
    return {name: before.get(name) for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)}


@attrs.frozen
class Change:
    """One object's change by one operation."""

    seq: int
    time: int
    action: str
    kind: str
    id: str
    object_json: bytes = attrs.field(repr=False)
    previous_json: bytes | None = attrs.field(repr=False)
    request_id: str | None
    idempotency_key: str | None

    @property
    def object(self) -> dict[str, Any]:
        """The object after the change (for a delete: as it was when deleted)."""
        found: dict[str, Any] = json.loads(self.object_json)
        return found

    @property
    def previous_attributes(self) -> dict[str, Any] | None:
        """The previous values of the fields that changed; None for a create or a delete."""
        return None if self.previous_json is None else json.loads(self.previous_json)

    @property
    def size(self) -> int:
        return len(self.object_json) + len(self.previous_json or b"")

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "action": self.action, "object": self.kind,
                "id": self.id, "data": {"object": self.object,
                                        "previous_attributes": self.previous_attributes},
                "request_id": self.request_id, "idempotency_key": self.idempotency_key}


class ChangeLog:
    """The latest changes, oldest first: at most ``max_count`` of them and ``max_bytes`` of
    their objects; older ones are forgotten first."""

    def __init__(self, max_count: int = CHANGE_LOG_MAX, max_bytes: int = CHANGE_LOG_MAX_BYTES
                 ) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self._changes: collections.deque[Change] = collections.deque()
        self._bytes = 0
        self._seq = 0
        self._listeners: list[Callable[[list[Change]], None]] = []

    def __iter__(self) -> Iterator[Change]:
        return iter(list(self._changes))

    def __len__(self) -> int:
        return len(self._changes)

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest change ever recorded (0 if none)."""
        return self._seq

    def listen(self, listener: Callable[[list[Change]], None]) -> None:
        """Call ``listener(changes)`` with the changes of every operation recorded from now
        on, all of one operation at once, in the order recorded."""
        self._listeners.append(listener)

    def record(self, **fields: Any) -> Change:
        """Record one change (an operation of its own)."""
        (change,) = self.record_all([fields])
        return change

    def record_all(self, entries: list[dict[str, Any]]) -> list[Change]:
        """Record the changes of one operation (each entry a :class:`Change`'s fields but
        ``seq``), then tell the listeners."""
        recorded = []
        for fields in entries:
            self._seq += 1
            change = Change(seq=self._seq, **fields)
            recorded.append(change)
            self._changes.append(change)
            self._bytes += change.size
        while self._changes and (len(self._changes) > self.max_count
                                 or self._bytes > self.max_bytes):
            self._bytes -= self._changes.popleft().size
        if recorded:
            for listener in self._listeners:
                listener(recorded)
        return recorded

    def since(self, seq: int = 0, kind: str | None = None) -> list[Change]:
        """The kept changes after ``seq``, oldest first, only of ``kind`` if given."""
        return [change for change in self._changes
                if change.seq > seq and (kind is None or change.kind == kind)]

    def clear(self) -> int:
        """Forget every kept change (sequence numbers go on); returns how many there were."""
        cleared = len(self._changes)
        self._changes.clear()
        self._bytes = 0
        return cleared
