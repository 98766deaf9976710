"""A tiny in-memory book that proves the host contract with a second book.

It keeps notes in memory, lets you add tags to a note, and declares two actions of its
own: ``pin the note`` and ``archive the note`` (destructive: a live shelf asks first).
It reports events too (``when a note is created in memo``, ``when a note is pinned``): each
change is kept on the shelf as an event, deliveries are signed with HMAC-SHA256 in a
``Memo-Signature: t=...,s=...`` header, and the shelf keeps its endpoints.
Its token looks like ``memo_test_xxxxxxxx`` (or ``memo_live_...``); ``memo_test_rejected``
is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

from kognitos_books import (
    Action,
    Book,
    BookError,
    Connection,
    Credential,
    CredentialsRejected,
    DeliveryRejected,
    Endpoint,
    Event,
    Field,
    Noun,
    Plan,
    PlannedRequest,
    Problem,
    Record,
    Secret,
    Setting,
    Trigger,
    hookimpl,
)

NOTE_FIELDS = (
    Field("title", "string", required=True),
    Field("body", "string"),
    Field("stars", "integer"),
)


class Shelf:
    """The book's 'service': notes in memory, per connection."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.notes: dict[str, dict] = {}
        self.ids = itertools.count(1)
        self.requests: list[str] = []
        self.events: list[dict] = []
        self.endpoints: dict[str, dict] = {}

    def emit(self, kind: str, note: dict) -> dict:
        event = {"id": f"mev_{len(self.events) + 1}", "type": kind, "created": int(time.time()),
                 "object": dict(note)}
        self.events.append(event)
        return event


SHELVES: dict[tuple[str, str], Shelf] = {}

TRIGGERS = (
    Trigger("note.created", "a note is created", "note", help="a note was written"),
    Trigger("note.pinned", "a note is pinned", "note", aliases=("a note is kept on top",)),
    Trigger("note.archived", "a note is archived", "note"),
)
SIGNATURE_TOLERANCE = 300


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Memo-Signature`` header for ``body``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return f"t={stamp},s={digest.hexdigest()}"


@hookimpl
def describe_book() -> Book:
    return Book(
        name="memo",
        title="Memo",
        target="memo",
        credentials=(Credential("token", "Memo token", secret=True,
                                pattern=r"memo_(test|live)_[a-z0-9]{8,}",
                                pattern_hint="starts with memo_test_ or memo_live_"),),
        settings=(Setting("shelf", "Shelf name", "main"),),
        nouns=(
            Noun("note", "notes", ("get", "create", "update", "delete"), id_prefix="note_",
                 actions=(Action("pin", help="keep the note on top"),
                          Action("archive", destructive=True, help="put the note away"))),
            Noun("tag", "tags", ("add",), parent="note", aliases=("label",)),
        ),
        version="0.1",
    )


@hookimpl
def describe_inputs(noun: str, verb: str) -> tuple[Field, ...]:
    if noun == "tag":
        return (Field("label", "string", required=True),)
    if verb == "get":
        return (Field("id"), *(Field(f.name, f.type) for f in NOTE_FIELDS))
    if verb == "create":
        return NOTE_FIELDS
    if verb == "update":
        return tuple(Field(f.name, f.type) for f in NOTE_FIELDS)
    return ()


@hookimpl
def connect(credentials, settings, verify) -> Connection:
    token = credentials["token"]
    if verify and token.reveal().endswith("rejected"):
        raise CredentialsRejected(f"Memo rejected the token {token.masked}")
    mode = "live" if token.reveal().startswith("memo_live_") else "test"
    # (one shelf per name and token, as one account of a service: every connection to it
    # sees the same notes and events)
    shelf = SHELVES.setdefault((settings["shelf"], token.reveal()), Shelf(settings["shelf"]))
    return Connection(mode=mode, client=shelf, account=settings["shelf"])


@hookimpl
def check_call(call) -> list[Problem]:
    for value in (call.id, call.target_id):
        if value and not value.startswith("note_"):
            return [Problem(f"{value} is not a note id (note ids start with note_)", field="id")]
    return []


@hookimpl
def plan_call(call, connection) -> Plan:
    method = {"get": "GET", "delete": "DELETE"}.get(call.verb, "POST")
    strategy = "memory" if connection is None else "memory (connected)"
    path = f"/notes/{call.id or ''}".rstrip("/")
    return Plan(strategy, (PlannedRequest(method, path, dict(call.fields)),))


def _record(note: dict) -> Record:
    return Record("memo", "note", note["id"], dict(note))


@hookimpl
def get(connection, call):
    shelf = connection.client
    shelf.requests.append("get")
    if call.id:
        if call.id not in shelf.notes:
            raise BookError(f"No such note: {call.id!r}", code="resource_missing", status=404)
        return _record(shelf.notes[call.id])
    wanted = {}
    if call.where is not None:
        conditions = getattr(call.where, "items", (call.where,))
        wanted = {c.field[0]: c.value for c in conditions}
    matches = [_record(n) for n in reversed(shelf.notes.values())
               if all(n.get(k) == v for k, v in wanted.items())]
    if call.many:
        return iter(matches)
    if not matches:
        raise BookError("no note matches")
    return matches[0]


@hookimpl
def create(connection, call) -> Record:
    shelf = connection.client
    shelf.requests.append("create")
    note = {"id": f"note_{next(shelf.ids)}", "object": "note", "tags": [], **call.fields}
    shelf.notes[note["id"]] = note
    shelf.emit("note.created", note)
    return _record(note)


@hookimpl
def update(connection, call) -> Record:
    note = connection.client.notes[call.id]
    note.update(call.fields)
    return _record(note)


@hookimpl
def delete(connection, call) -> Record:
    connection.client.notes.pop(call.id, None)
    return Record("memo", "note", call.id, {"id": call.id, "object": "note", "deleted": True})


@hookimpl
def act(connection, call) -> Record:
    if call.verb in ("pin", "archive"):
        note = connection.client.notes[call.id]
        note["pinned" if call.verb == "pin" else "archived"] = True
        connection.client.emit("note.pinned" if call.verb == "pin" else "note.archived", note)
        return _record(note)
    note = connection.client.notes[call.target_id]
    note["tags"].append(call.fields["label"])
    return Record("memo", "tag", None, {"note": call.target_id, "label": call.fields["label"]})


def _event(event: dict) -> Event:
    return Event(event["id"], event["type"], event["created"], False, _record(event["object"]),
                 data=event)


@hookimpl
def describe_triggers() -> tuple[Trigger, ...]:
    return TRIGGERS


@hookimpl
def verify_event(connection, headers, body, secret: Secret) -> Event:
    header = headers.get("memo-signature", "")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in parts or "s" not in parts:
        raise DeliveryRejected("the delivery has no Memo-Signature")
    if not parts["t"].isdigit() or int(parts["t"]) < time.time() - SIGNATURE_TOLERANCE:
        raise DeliveryRejected("the delivery's signature is too old")
    if not hmac.compare_digest(sign(body, secret.reveal(), int(parts["t"])), header):
        raise DeliveryRejected("the delivery's signature does not match")
    try:
        return _event(json.loads(body))
    except (ValueError, KeyError, TypeError) as exc:
        raise DeliveryRejected("the delivery is not a memo event") from exc


@hookimpl
def list_events(connection, after, types):
    events = connection.client.events
    start = 0
    if after is not None:
        start = next((i + 1 for i, e in enumerate(events) if e["id"] == after.id), 0)
    return (_event(e) for e in events[start:] if not types or e["type"] in types)


@hookimpl
def ensure_endpoint(connection, url, types) -> Endpoint:
    shelf = connection.client
    found = shelf.endpoints.get(url)
    if found is not None:
        found["types"] = tuple(types)
        return Endpoint(found["id"], url, found["types"])
    secret = f"memosec_{len(shelf.endpoints) + 1:08d}"
    shelf.endpoints[url] = {"id": f"mep_{len(shelf.endpoints) + 1}", "types": tuple(types),
                            "secret": secret}
    return Endpoint(shelf.endpoints[url]["id"], url, tuple(types), created=True,
                    secret=Secret(secret))


@hookimpl
def remove_endpoint(connection, url) -> bool:
    return connection.client.endpoints.pop(url, None) is not None


@hookimpl
def register_commands(register) -> None:
    def configure(parser):
        parser.add_argument("--shout", action="store_true")

    def run(args) -> int:
        print("MEMO!" if args.shout else "memo")
        return 0

    register("memo-hello", help="say hello from the memo book", configure=configure, run=run)
