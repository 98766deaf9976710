"""What every resource family of the sandbox shares: stores, ids, the clock, rendering.

:class:`BackendCore` is the base of every family (``resources/*.py``); the families are mixins
composed into :class:`~.resources.Backend`, moto's ec2 layout. Each family declares

- ``STORES``: its stores, attribute name -> Stripe object name (``{"customers": "customer"}``);
- ``EXPANDABLE``: per object name, which fields ``expand[]`` may replace by the object they name;
- ``_reset_family()`` (optional): forget any state of its own beyond its stores.

The backend is not thread-safe on its own: the server holds :attr:`BackendCore.lock` around
each request, which also makes every request atomic.
"""

from __future__ import annotations

import itertools
import random
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs

from .errors import bad_parameter, no_such

ID_ALPHABET = string.ascii_letters + string.digits
MAX_EXPAND_DEPTH = 4


class Model(Protocol):
    """What the backend needs of a stored object."""

    OBJECT: ClassVar[str]
    id: str
    seq: int
    deleted: bool

    def render(self, backend: Any) -> dict[str, Any]: ...


M = TypeVar("M", bound=Model)


@attrs.define(eq=False)
class Store(Generic[M]):
    """Objects of one kind by id, in creation order; deleted ones stay as tombstones.

    Tombstones let a deleted customer still answer its deleted stub, and let list cursors and
    search pages that point at a deleted object keep their place.
    """

    kind: str
    objects: dict[str, M] = attrs.field(factory=dict)

    def get(self, object_id: str, *, param: str = "id", deleted_ok: bool = False) -> M:
        """The live object, or Stripe's ``No such <kind>`` error naming ``param``."""
        found = self.objects.get(object_id)
        if found is None or (found.deleted and not deleted_ok):
            raise no_such(self.kind, object_id, param=param)
        return found

    def newest_first(self) -> Iterator[M]:
        """Live objects, newest first; equal ``created`` seconds keep creation order."""
        return (obj for obj in reversed(self.objects.values()) if not obj.deleted)

    def live_count(self) -> int:
        return sum(1 for obj in self.objects.values() if not obj.deleted)


class BackendCore:
    """Every object of one sandbox, and what all families share.

    ``clock`` returns the current Unix time (injectable so tests can control ``created``).
    """

    STORES: ClassVar[dict[str, str]] = {}
    EXPANDABLE: ClassVar[dict[str, dict[str, str | None]]] = {}

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self._clock = clock
        self._random = random.Random()
        self._expandable: dict[str, dict[str, str | None]] = {}
        for family in self._families():
            self._expandable.update(family.__dict__.get("EXPANDABLE", {}))
        self.reset()

    @classmethod
    def _families(cls) -> list[type[BackendCore]]:
        """The family classes composed into this backend, in method resolution order."""
        return [klass for klass in cls.__mro__
                if isinstance(klass, type) and issubclass(klass, BackendCore)]

    def reset(self) -> None:
        """Forget every object."""
        self._stores: dict[str, Store[Any]] = {}
        for family in self._families():
            for attribute, kind in family.__dict__.get("STORES", {}).items():
                store: Store[Any] = Store(kind)
                setattr(self, attribute, store)
                self._stores[kind] = store
            reset_family = family.__dict__.get("_reset_family")
            if reset_family is not None:
                reset_family(self)
        self._sequence = itertools.count(1)

    @property
    def stores(self) -> dict[str, Store[Any]]:
        """The stores by Stripe object name."""
        return dict(self._stores)

    def now(self) -> int:
        return int(self._clock())

    def new_id(self, prefix: str, length: int = 24) -> str:
        return prefix + "".join(self._random.choices(ID_ALPHABET, k=length))

    def _next_seq(self) -> int:
        return next(self._sequence)

    def find(self, kind: str, object_id: str) -> Model | None:
        """Any object of ``kind`` with this id, deleted or not."""
        return self._stores[kind].objects.get(object_id)

    # Rendering

    def render(self, obj: Model, expand: Iterable[str] = (), *, within: str = ""
               ) -> dict[str, Any]:
        """The object as Stripe returns it, with ``expand[]`` paths replaced by objects.

        ``within`` is the prefix the caller stripped from the paths (``data.`` in a list), so
        errors quote the path as the request wrote it.
        """
        rendered = obj.render(self)
        for path in expand:
            self.expand(rendered, obj.OBJECT, path, within=within)
        return rendered

    def expand(self, rendered: dict[str, Any], kind: str, path: str, *, within: str = "") -> None:
        """Replace the id at ``path`` (dotted, relative to an object of ``kind``) by its object.

        Raises Stripe's error for a path that is not expandable.
        """
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise bad_parameter(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property.",
                param="expand")
        self._expand(rendered, kind, parts, within + path)

    def _expand(self, rendered: dict[str, Any], kind: str, parts: list[str], path: str) -> None:
        if rendered.get("deleted"):
            return
        table = self._expandable.get(kind, {})
        for size in range(len(parts), 0, -1):
            field = ".".join(parts[:size])
            if field in table:
                break
        else:
            raise bad_parameter(f"This property cannot be expanded ({path}).", param="expand")
        target = table[field]
        holder: Any = rendered
        for part in parts[: size - 1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            return
        leaf = parts[size - 1]
        value = holder.get(leaf)
        if isinstance(value, str) and target is not None:
            found = self.find(target, value)
            if found is not None:
                holder[leaf] = value = found.render(self)
        rest = parts[size:]
        if rest and isinstance(value, dict) and target is not None:
            self._expand(value, target, rest, path)
