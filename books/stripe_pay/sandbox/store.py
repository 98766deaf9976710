"""A store of one kind of object, and the indexes its lists and searches read.

Objects are kept by id, deleted ones as tombstones (a deleted customer still answers its stub;
a cursor on a deleted object keeps its place). Live objects are kept in creation order as a
sorted list of creation sequence numbers, so a page starts at its cursor by bisection; each
indexed field maps a value (case-folded) to the sorted sequence numbers of the objects holding
it, and ``metadata`` maps each key and value likewise. While ``created`` never decreases in
creation order (always, unless a test moves the clock back), a ``created`` range is a range of
sequence numbers too.

The indexes narrow the candidates; every candidate is still tested against the whole
condition, so they can only make a page faster, never different. A page costs the page, plus
the candidates it has to pass over. They follow committed changes: the backend calls
:meth:`Store.index` for each object an operation changed, when it ends.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .errors import no_such


class Model(Protocol):
    """What a store needs of an object."""

    id: str
    seq: int
    deleted: bool


M = TypeVar("M", bound=Model)

_Key = tuple[str, Any]


def index_key(value: Any) -> Any:
    """How a value is indexed: text case-folded (search compares so; lists re-check exactly)."""
    return value.casefold() if isinstance(value, str) else value


@attrs.frozen
class Selection:
    """Candidates for a page: ascending sequence numbers, within ``low``..``high`` (inclusive,
    None for unbounded)."""

    seqs: Sequence[int]
    low: int | None = None
    high: int | None = None

    def span(self) -> tuple[int, int]:
        """The slice of ``seqs`` within the bounds."""
        start = 0 if self.low is None else bisect.bisect_left(self.seqs, self.low)
        end = len(self.seqs) if self.high is None else bisect.bisect_right(self.seqs, self.high)
        return start, max(start, end)

    def bounded(self, low: int | None, high: int | None) -> Selection:
        """These candidates within further bounds."""
        if low is not None and self.low is not None:
            low = max(low, self.low)
        if high is not None and self.high is not None:
            high = min(high, self.high)
        return Selection(self.seqs, self.low if low is None else low,
                         self.high if high is None else high)


NOTHING = Selection(())


class Store(Generic[M]):
    """Objects of one kind by id; live ones in creation order and in per-field indexes.

    ``fields`` are the attributes to index; ``metadata`` indexes ``metadata`` entries.
    """

    def __init__(self, kind: str, fields: Iterable[str] = (), *, metadata: bool = False) -> None:
        self.kind = kind
        self.objects: dict[str, M] = {}
        self.fields = frozenset(fields)
        self.metadata = metadata
        self._live: list[int] = []
        self._created: list[int] = []
        self._monotone = True
        self._by_seq: dict[int, M] = {}
        self._index: dict[_Key, list[int]] = {}
        self._keys: dict[int, frozenset[_Key]] = {}

    # Reading

    def get(self, object_id: str, *, param: str = "id", deleted_ok: bool = False) -> M:
        """The live object, or Stripe's ``No such <kind>`` error naming ``param``."""
        found = self.objects.get(object_id)
        if found is None or (found.deleted and not deleted_ok):
            raise no_such(self.kind, object_id, param=param)
        return found

    def position(self, object_id: str) -> int | None:
        """The creation sequence of any object with this id, deleted or not."""
        found = self.objects.get(object_id)
        return None if found is None else found.seq

    def live_count(self) -> int:
        return len(self._live)

    def every(self) -> Selection:
        return Selection(self._live)

    def with_value(self, field: str, value: Any) -> Selection | None:
        """Objects whose ``field`` is (case-insensitively) ``value``; None if not indexed."""
        if field not in self.fields:
            return None
        return Selection(self._index.get((field, index_key(value)), ()))

    def with_any(self, field: str, values: Iterable[Any]) -> Selection | None:
        """Objects whose ``field`` is one of ``values``; None if not indexed."""
        if field not in self.fields:
            return None
        lists = [self._index.get((field, key), []) for key in {index_key(v) for v in values}]
        return Selection(list(heapq.merge(*lists)))

    def with_metadata(self, key: str, value: str) -> Selection | None:
        """Objects whose ``metadata[key]`` is (case-insensitively) ``value``."""
        if not self.metadata:
            return None
        return Selection(self._index.get(("metadata", (key, index_key(value))), ()))

    def created_bounds(self, condition: Any) -> Selection | None:
        """The sequence bounds of a ``created`` condition (an exact time or ``gt``/``gte``/
        ``lt``/``lte``), over every live object; None while ``created`` is not in creation
        order (then only testing each candidate tells)."""
        if not self._monotone:
            return None
        bounds = {"gte": condition, "lte": condition} if isinstance(condition, int | float) \
            else condition
        created = self._created
        start, end = 0, len(created)
        if "gt" in bounds:
            start = max(start, bisect.bisect_right(created, bounds["gt"]))
        if "gte" in bounds:
            start = max(start, bisect.bisect_left(created, bounds["gte"]))
        if "lt" in bounds:
            end = min(end, bisect.bisect_left(created, bounds["lt"]))
        if "lte" in bounds:
            end = min(end, bisect.bisect_right(created, bounds["lte"]))
        if start >= end:
            return NOTHING
        return Selection(self._live, self._live[start], self._live[end - 1])

    def page(self, selection: Selection, test: Callable[[M], bool] | None, *, limit: int,
             below: int | None = None, above: int | None = None) -> tuple[list[M], bool]:
        """Up to ``limit`` candidates passing ``test``, newest first, and whether there are
        more: those created before sequence ``below``, or the ones nearest after ``above``."""
        seqs, by_seq = selection.seqs, self._by_seq
        start, end = selection.span()
        found: list[M] = []
        if above is None:
            if below is not None:
                end = min(end, bisect.bisect_left(seqs, below, start, end))
            indices: Iterable[int] = range(end - 1, start - 1, -1)
        else:
            start = max(start, bisect.bisect_right(seqs, above, start, end))
            indices = range(start, end)
        for position in indices:
            obj = by_seq.get(seqs[position])
            if obj is not None and (test is None or test(obj)):
                found.append(obj)
                if len(found) > limit:
                    break
        more = len(found) > limit
        found = found[:limit]
        return (found if above is None else found[::-1]), more

    def objects_in(self, selection: Selection) -> list[M]:
        """The candidates, oldest first."""
        start, end = selection.span()
        by_seq = self._by_seq
        return [by_seq[seq] for seq in selection.seqs[start:end] if seq in by_seq]

    def count(self, selection: Selection, test: Callable[[M], bool] | None) -> int:
        start, end = selection.span()
        by_seq = self._by_seq
        return sum(1 for seq in selection.seqs[start:end]
                   if (obj := by_seq.get(seq)) is not None and (test is None or test(obj)))

    def check(self) -> list[str]:
        """Where the order and indexes disagree with the objects (none, unless a change went
        around :meth:`index`): for tests."""
        by_seq = {obj.seq: obj for obj in self.objects.values() if not obj.deleted}
        live = sorted(by_seq)
        problems = [] if live == self._live else [f"{self.kind}: live order is {self._live}, "
                                                  f"the live objects are {live}"]
        expected: dict[_Key, list[int]] = {}
        for seq in live:
            for key in self._keys_of(by_seq[seq]):
                expected.setdefault(key, []).append(seq)
        for key in sorted(set(expected) | set(self._index), key=repr):
            if expected.get(key) != self._index.get(key):
                problems.append(f"{self.kind}: index {key!r} holds {self._index.get(key)}, "
                                f"should hold {expected.get(key)}")
        return problems

    # Keeping the indexes

    def index(self, obj: M) -> None:
        """Bring the order and indexes up to date with ``obj`` after a committed change."""
        seq = obj.seq
        if obj.deleted or self.objects.get(obj.id) is not obj:
            if seq in self._by_seq:
                self._unlist(seq)
                self._reindex(seq, frozenset())
            return
        if seq not in self._by_seq:
            self._list(obj)
        self._reindex(seq, self._keys_of(obj))

    def _keys_of(self, obj: M) -> frozenset[_Key]:
        keys = {(field, index_key(getattr(obj, field))) for field in self.fields}
        if self.metadata:
            metadata: dict[str, str] = getattr(obj, "metadata", {})
            keys.update(("metadata", (key, index_key(value))) for key, value in metadata.items())
        return frozenset(keys)

    def _reindex(self, seq: int, keys: frozenset[_Key]) -> None:
        old = self._keys.get(seq, frozenset())
        for key in old - keys:
            seqs = self._index[key]
            del seqs[bisect.bisect_left(seqs, seq)]
            if not seqs:
                del self._index[key]
        for key in keys - old:
            seqs = self._index.setdefault(key, [])
            if not seqs or seqs[-1] < seq:
                seqs.append(seq)
            else:
                bisect.insort(seqs, seq)
        if keys:
            self._keys[seq] = keys
        else:
            self._keys.pop(seq, None)

    def _list(self, obj: M) -> None:
        seq, created = obj.seq, getattr(obj, "created", 0)
        self._by_seq[seq] = obj
        at = len(self._live)
        if self._live and self._live[-1] > seq:
            at = bisect.bisect_left(self._live, seq)
        self._live.insert(at, seq)
        self._created.insert(at, created)
        if (at > 0 and self._created[at - 1] > created) or (
                at + 1 < len(self._created) and self._created[at + 1] < created):
            self._monotone = False

    def _unlist(self, seq: int) -> None:
        del self._by_seq[seq]
        at = bisect.bisect_left(self._live, seq)
        del self._live[at]
        del self._created[at]


def narrowest(store: Store[Any], selections: Iterable[Selection | None]) -> Selection:
    """The fewest candidates: the smallest of ``selections`` (None: that condition has no
    index), within the bounds of all of them; every live object if none narrows."""
    found = [selection for selection in selections if selection is not None]
    if not found:
        return store.every()

    def size(selection: Selection) -> int:
        start, end = selection.span()
        return end - start

    best = min(found, key=size)
    for other in found:
        best = best.bounded(other.low, other.high)
    return best
