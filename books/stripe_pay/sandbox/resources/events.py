"""Events: every recorded change becomes the Stripe Events it emits, listed and retrieved at
``/v1/events``.

Events hang on the change log (``changes.py``), the one road every change takes: when an
operation's changes are recorded, each becomes the events ``event_types.EMITS`` says, with the
object as it was after the change (``data.object``), the previous values of what changed on
``*.updated`` events (``data.previous_attributes``) and the request that made it
(``request.id`` null for what the sandbox did on its own: a test clock's work, a
``/_sandbox`` control). No handler emits an event itself. Within an operation, the events of
the objects it created come first (a payment intent before the invoice it pays), then the
rest, in the order of their changes; what the sandbox did on its own comes after what the
request did.

The latest :data:`EVENTS_MAX` events are kept (and at most :data:`EVENTS_MAX_BYTES` of their
objects); older ones are forgotten first, as Stripe forgets events after 30 days.
"""

from __future__ import annotations

import collections
import json
from typing import Any, ClassVar

import attrs

from ..backend import BackendCore, Equals, Filter, Matches, OneOf, Within, route
from ..changes import Change
from ..errors import bad_parameter
from ..event_types import BY_KIND, matches
from ..pages import list_page
from ..shapes import Derived, Shape
from ..store import Store, narrowest

EVENTS_MAX = 10_000
EVENTS_MAX_BYTES = 32 * 1024 * 1024
#: Stripe's limit on the ``types`` of a list.
MAX_TYPES = 20
_CONNECT_ONLY = "Connect only: the account or context an event of a connected account is from"


@attrs.define(eq=False)
class Event:
    """One event of one recorded change; ``pending`` holds the endpoints it is for that have
    not answered 2xx."""

    id: str
    seq: int
    type: str
    api_version: str
    change: Change = attrs.field(repr=False)
    pending: set[str] = attrs.field(factory=set)
    deleted: bool = False

    OBJECT: ClassVar[str] = "event"

    @property
    def created(self) -> int:
        return self.change.time


def _event_fields(event: Event, backend: Any) -> dict[str, Any]:
    change = event.change
    data: dict[str, Any] = {"object": json.loads(change.object_json)}
    if event.type.endswith(".updated") and change.previous_json is not None:
        data["previous_attributes"] = json.loads(change.previous_json)
    return {"data": data, "pending_webhooks": len(event.pending),
            "request": {"id": change.request_id, "idempotency_key": change.idempotency_key}}


EVENT = Shape(
    "event", "Event",
    own=("api_version", "created", "type"),
    fixed={"livemode": False},
    derived=(Derived(("data", "pending_webhooks", "request"), _event_fields),),
    absent={"account": _CONNECT_ONLY, "context": _CONNECT_ONLY},
)


class EventLog:
    """The latest events: at most ``max_count`` of them and ``max_bytes`` of their objects,
    in a store that pages them newest first (indexed by ``type``)."""

    def __init__(self, max_count: int = EVENTS_MAX, max_bytes: int = EVENTS_MAX_BYTES) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.store: Store[Event] = Store("event", ("type",))
        self._order: collections.deque[Event] = collections.deque()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._order)

    def add(self, event: Event) -> None:
        self.store.objects[event.id] = event
        self.store.index(event)
        self._order.append(event)
        self._bytes += event.change.size
        while self._order and (len(self._order) > self.max_count
                               or self._bytes > self.max_bytes):
            self._forget(self._order.popleft())

    def get(self, event_id: str) -> Event | None:
        return self.store.objects.get(event_id)

    def _forget(self, event: Event) -> None:
        self._bytes -= event.change.size
        del self.store.objects[event.id]
        event.deleted = True
        self.store.index(event)


def _delivered(event: Event, wanted: bool) -> bool:
    return (not event.pending) == wanted


def _of_type(event: Event, pattern: str) -> bool:
    return matches(pattern, event.type)


#: The list filters of ``GET /v1/events`` (``type`` is one of the first two: exact or a group).
EXACT_TYPE = Equals("type")
TYPE_GROUP = Matches("type", test=_of_type)
FILTERS: tuple[Filter, ...] = (OneOf("types", attribute="type"), Within("created"),
                               Matches("delivery_success", test=_delivered))


class Events(BackendCore):
    """The events family: what the change log's changes emit, and ``/v1/events``."""

    SHAPES = (EVENT,)
    events: EventLog

    def _start_family(self) -> None:
        self.events = EventLog()
        self.changes.listen(self._emit)

    def _reset_family(self) -> None:
        self.events = EventLog(self.events.max_count, self.events.max_bytes)

    def _emit(self, changes: list[Change]) -> None:
        """Make the events of one operation's changes, keep them and tell
        :meth:`events_emitted`."""
        from stripe._api_version import _ApiVersion

        made: list[tuple[tuple[bool, bool, int, int], Event]] = []
        for index, change in enumerate(changes):
            row = BY_KIND[change.kind]
            # (only a row's rules read the object: the others need not parse it)
            types = row.emitted(change.action, change.object if row.when else {},
                                change.previous_attributes)
            for position, event_type in enumerate(types):
                event = Event(id=self.new_id("evt_"), seq=0, type=event_type,
                              api_version=_ApiVersion.CURRENT, change=change)
                order = (change.request_id is None and any(one.request_id for one in changes),
                         change.action != "create", index, position)
                made.append((order, event))
        emitted = [event for _, event in sorted(made, key=lambda pair: pair[0])]
        for event in emitted:
            event.seq = self._next_seq()
            self.events.add(event)
        if emitted:
            self.events_emitted(emitted)

    def events_emitted(self, events: list[Event]) -> None:
        """Told of each operation's events, in order, once kept (the webhooks family sends
        them to the endpoints that want them)."""

    @route("GET", "/v1/events/{id}", "EventRetrieveParams", kind="event", name="retrieve")
    def retrieve_event(self, event_id: str, params: dict[str, Any]) -> Event:
        return self.events.store.get(event_id)

    @route("GET", "/v1/events", "EventListParams", kind="event", name="list")
    def list_events(self, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, narrowed by ``type`` (a name or a ``*`` group) or ``types`` (up to
        20 names), ``created`` and ``delivery_success``."""
        if "type" in params and "types" in params:
            raise bad_parameter("You may only specify one of these parameters: type, types.",
                                param="types")
        if len(params.get("types", ())) > MAX_TYPES:
            raise bad_parameter(f"You can pass at most {MAX_TYPES} types.", param="types")
        filters = list(FILTERS)
        if "type" in params:
            filters.append(TYPE_GROUP if "*" in params["type"] else EXACT_TYPE)
        given = [(found, params[found.param]) for found in filters if found.param in params]
        store = self.events.store
        tests = [found.predicate(value) for found, value in given]
        selection = narrowest(store, (found.narrow(store, value) for found, value in given))

        def test(event: Event) -> bool:
            return all(one(event) for one in tests)

        return list_page(self, store, selection, test if tests else None, params, "/v1/events")
