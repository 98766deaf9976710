"""The inbox: every event received, durably, and the work it makes, handed to the workers.

One SQLite file, ``events.sqlite``, in the kbooks home (mode 0600, WAL, ``synchronous=FULL``:
an event acknowledged survives a crash of the process and of the machine). Three tables:

- ``events``: each event once per book and connection (a delivery seen twice, a delivery
  and the same event found by a catch-up: one row), with its JSON as the book decoded it;
- ``work``: one row per event (or schedule slot) and handler, made in the same transaction
  as the event: ``pending`` -> ``running`` (claimed by a worker process, recorded as its
  owner) -> ``succeeded`` or ``failed``; a retryable failure goes back to ``pending`` with a
  later ``due`` time. Its primary key is what makes each handler run once per event;
- ``schedules``: when each schedule handler was first listened for (slots before that
  never run);
- (events and their work are forgotten :data:`KEEP_SECONDS` after they ended: see
  :meth:`Inbox.prune`, which the listener calls as it catches up)
- ``cursors``: per book and connection, the newest event a catch-up has walked to, so the
  next catch-up starts there (deliveries never move it: an event delivered out of order
  does not hide an older one that was not).

:class:`Handoff` is the small interface between the role that receives events and the
role that runs them; :class:`Inbox` is its embedded implementation, shared by the processes
of one machine. Writes from many threads are committed together (one transaction and one
sync for every event waiting), so recording stays fast while each is durable before it is
acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from ..credentials import ensure_private_dir
from ..model import Event

INBOX_NAME = "events.sqlite"
#: seconds an event is kept after it was received, once all its work has ended: longer than
#: any service redelivers (Stripe retries for 3 days and lists 30 days of events)
KEEP_SECONDS = 35 * 24 * 3600
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    book TEXT NOT NULL, connection TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
    created INTEGER NOT NULL, received REAL NOT NULL, via TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (book, connection, id));
CREATE TABLE IF NOT EXISTS work (
    handler TEXT NOT NULL, book TEXT NOT NULL, connection TEXT NOT NULL, event TEXT NOT NULL,
    state TEXT NOT NULL, owner TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL, run_id TEXT, error TEXT, updated REAL NOT NULL,
    PRIMARY KEY (handler, book, connection, event));
CREATE INDEX IF NOT EXISTS work_due ON work (state, due);
CREATE TABLE IF NOT EXISTS schedules (
    handler TEXT PRIMARY KEY, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (
    book TEXT NOT NULL, connection TEXT NOT NULL, event TEXT NOT NULL,
    created INTEGER NOT NULL, PRIMARY KEY (book, connection));
"""


@attrs.frozen
class Received:
    """An event as the inbox keeps it."""

    book: str
    connection: str
    id: str
    type: str
    created: int
    received: float
    via: str
    body: str = attrs.field(repr=False)

    @property
    def data(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found


@attrs.frozen
class Work:
    """One handler to run for one event (or one schedule slot: ``event`` is its key)."""

    handler: str
    book: str
    connection: str
    event: str
    state: str
    attempts: int
    due: float
    run_id: str | None = None
    error: str | None = None
    owner: str | None = None
    updated: float = 0.0


@attrs.frozen
class Offer:
    """An event to record, and the handlers that are to run for it."""

    book: str
    connection: str
    id: str
    type: str
    created: int
    body: str = attrs.field(repr=False)
    handlers: tuple[str, ...] = ()
    via: str = "delivery"

    @classmethod
    def of(cls, book: str, connection: str, event: Event, handlers: tuple[str, ...],
           via: str = "delivery") -> Offer:
        """``event`` of ``book``'s ``connection`` to record, with what its handlers will need
        of it."""
        body = {"id": event.id, "type": event.type, "created": event.created,
                "livemode": event.livemode, "noun": event.record.noun,
                "record_id": event.record.id, "object": dict(event.record.data),
                "previous": dict(event.previous) if event.previous is not None else None}
        return cls(book, connection, event.id, event.type, event.created,
                   json.dumps(body), handlers, via)


class Handoff(Protocol):
    """What the receiving role and the running role share; the inbox is one, a queue
    between machines could be another."""

    def record(self, offers: Sequence[Offer]) -> list[bool]:
        """Keep each event and its work durably; for each, whether it was new."""

    def claim(self, owner: str, alive: Callable[[str], bool], *, event: str | None = None
              ) -> Work | None:
        """The next work due (of ``event`` only, if given), now held by ``owner`` (work
        held by an owner that is no longer ``alive`` is taken over), or None."""

    def event(self, book: str, connection: str, event_id: str) -> Received | None:
        """The event recorded as ``event_id``, to run its handlers with."""

    def finish(self, work: Work, state: str, *, error: str | None = None,
               retry_at: float | None = None, run_id: str | None = None) -> None:
        """Record how ``work`` ended; with ``retry_at`` it is due again then."""

    def wait(self, timeout: float) -> None:
        """Block until new work may be there, or ``timeout`` seconds."""


class Inbox:
    """The embedded :class:`Handoff`: a SQLite file shared by the processes of a home."""

    def __init__(self, home: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.home = Path(home)
        self.path = self.home / INBOX_NAME
        self.clock = clock
        self._local = threading.local()
        self._arrived = threading.Condition()
        self._waiting: list[tuple[Sequence[Offer], list[Any]]] = []
        self._writing = False
        ensure_private_dir(self.home)
        with self._db() as db:
            db.executescript(SCHEMA)

    def __repr__(self) -> str:
        return f"Inbox({str(self.path)!r})"

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            fresh = not self.path.exists()
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                 check_same_thread=False)
            if fresh:
                self.path.chmod(0o600)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ------------------------------------------------------------------ recording

    def record(self, offers: Sequence[Offer]) -> list[bool]:
        """Keep ``offers`` durably; for each, whether the event was new. Threads recording
        at once share one transaction: the first to come writes every batch waiting."""
        slot: list[Any] = []
        with self._arrived:
            self._waiting.append((offers, slot))
            while not slot:
                if not self._writing:
                    self._writing = True
                    batches, self._waiting = self._waiting, []
                    break
                self._arrived.wait()
            else:
                if isinstance(slot[0], BaseException):
                    raise slot[0]
                found: list[bool] = slot[0]
                return found
        try:
            answers = self._write([offers for offers, _ in batches])
        except BaseException as exc:
            answers = [exc] * len(batches)  # type: ignore[list-item]
        with self._arrived:
            self._writing = False
            for (_, waiting), answer in zip(batches, answers, strict=True):
                waiting.append(answer)
            self._arrived.notify_all()
        if isinstance(slot[0], BaseException):
            raise slot[0]
        mine: list[bool] = slot[0]
        return mine

    def _write(self, batches: list[Sequence[Offer]]) -> list[list[bool]]:
        db = self._db()
        now = self.clock()
        answers: list[list[bool]] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            for offers in batches:
                new = []
                for offer in offers:
                    cursor = db.execute(
                        "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (offer.book, offer.connection, offer.id, offer.type, offer.created,
                         now, offer.via, offer.body))
                    new.append(cursor.rowcount == 1)
                    db.executemany(
                        "INSERT OR IGNORE INTO work (handler, book, connection, event, state,"
                        " due, updated) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                        [(handler, offer.book, offer.connection, offer.id, now, now)
                         for handler in offer.handlers])
                answers.append(new)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._wake()
        return answers

    def add_work(self, handler: str, book: str, connection: str, event: str,
                 *, due: float | None = None) -> bool:
        """Make the work for ``handler`` on ``event`` (a schedule slot), unless it exists;
        whether it was new."""
        now = self.clock()
        cursor = self._db().execute(
            "INSERT OR IGNORE INTO work (handler, book, connection, event, state, due, "
            "updated) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            (handler, book, connection, event, now if due is None else due, now))
        self._wake()
        return cursor.rowcount == 1

    def _wake(self) -> None:
        with self._arrived:
            self._arrived.notify_all()

    # ------------------------------------------------------------------ running

    def claim(self, owner: str, alive: Callable[[str], bool], *, event: str | None = None
              ) -> Work | None:
        db = self._db()
        now = self.clock()
        stale = [row for row in db.execute(
            "SELECT DISTINCT owner FROM work WHERE state = 'running' AND owner != ?",
            (owner,)) if not alive(row[0])]
        for (gone,) in stale:
            db.execute("UPDATE work SET state = 'pending', owner = NULL, updated = ? "
                       "WHERE state = 'running' AND owner = ?", (now, gone))
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT * FROM work WHERE state = 'pending' AND due <= ? "
                + ("AND event = ? " if event is not None else "") + "ORDER BY due LIMIT 1",
                (now,) if event is None else (now, event)).fetchone()
            if row is None:
                db.execute("COMMIT")
                return None
            work = _work(row)
            db.execute("UPDATE work SET state = 'running', owner = ?, attempts = attempts + 1,"
                       " updated = ? WHERE handler = ? AND book = ? AND connection = ? "
                       "AND event = ?", (owner, now, work.handler, work.book,
                                         work.connection, work.event))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return attrs.evolve(work, state="running", owner=owner, attempts=work.attempts + 1)

    def finish(self, work: Work, state: str, *, error: str | None = None,
               retry_at: float | None = None, run_id: str | None = None) -> None:
        self._db().execute(
            "UPDATE work SET state = ?, owner = NULL, due = ?, error = ?, "
            "run_id = COALESCE(?, run_id), updated = ? WHERE handler = ? AND book = ? "
            "AND connection = ? AND event = ?",
            ("pending" if retry_at is not None else state,
             retry_at if retry_at is not None else work.due, error, run_id, self.clock(),
             work.handler, work.book, work.connection, work.event))
        if retry_at is not None:
            self._wake()

    def replay(self, handler: str, book: str, connection: str, event: str, run_id: str
               ) -> None:
        """Run ``handler`` for ``event`` again, on purpose, as the new run ``run_id`` (so
        with new idempotency keys): its work is due now."""
        now = self.clock()
        self._db().execute(
            "INSERT INTO work (handler, book, connection, event, state, due, updated, run_id)"
            " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO UPDATE SET "
            "state = 'pending', owner = NULL, due = excluded.due, attempts = 0, error = NULL,"
            " run_id = excluded.run_id, updated = excluded.updated",
            (handler, book, connection, event, now, now, run_id))
        self._wake()

    def wait(self, timeout: float) -> None:
        with self._arrived:
            self._arrived.wait(timeout)

    # ------------------------------------------------------------------ reading

    def event(self, book: str, connection: str, event_id: str) -> Received | None:
        row = self._db().execute("SELECT * FROM events WHERE book = ? AND connection = ? "
                                 "AND id = ?", (book, connection, event_id)).fetchone()
        return None if row is None else Received(*row)

    def find_event(self, event_id: str) -> Received | None:
        """The event ``event_id`` of any book or connection."""
        row = self._db().execute("SELECT * FROM events WHERE id = ? ORDER BY received DESC",
                                 (event_id,)).fetchone()
        return None if row is None else Received(*row)

    def events(self, limit: int = 20) -> list[Received]:
        """The latest events received, newest first."""
        return [Received(*row) for row in self._db().execute(
            "SELECT * FROM events ORDER BY received DESC, created DESC LIMIT ?", (limit,))]

    def work_for(self, event_ids: Iterable[str]) -> dict[str, list[Work]]:
        """The work of each of ``event_ids``, by event id."""
        ids = list(event_ids)
        found: dict[str, list[Work]] = {event_id: [] for event_id in ids}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ",".join("?" * len(part))
            for row in self._db().execute(
                    f"SELECT * FROM work WHERE event IN ({marks}) ORDER BY handler", part):
                found[row[3]].append(_work(row))
        return found

    def counts(self) -> dict[str, int]:
        """How many work items are in each state."""
        return dict(self._db().execute("SELECT state, COUNT(*) FROM work GROUP BY state"))

    def all_work(self) -> Iterator[Work]:
        for row in self._db().execute("SELECT * FROM work ORDER BY updated"):
            yield _work(row)

    def schedule_started(self, handler: str, now: float) -> float | None:
        """When the schedule ``handler`` was first listened for; ``now`` is recorded as that
        time if it never was (and None returned)."""
        db = self._db()
        if db.execute("INSERT OR IGNORE INTO schedules VALUES (?, ?)", (handler, now)
                      ).rowcount == 1:
            return None
        row = db.execute("SELECT started FROM schedules WHERE handler = ?", (handler,)
                         ).fetchone()
        return float(row[0])

    def prune(self, keep: float = KEEP_SECONDS) -> int:
        """Forget the events received more than ``keep`` seconds ago whose work has all
        ended, with that work (schedule slots too); how many events were forgotten."""
        cutoff = self.clock() - keep
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            gone = db.execute(
                "DELETE FROM events WHERE received < ? AND NOT EXISTS (SELECT 1 FROM work "
                "WHERE work.event = events.id AND work.book = events.book AND "
                "work.connection = events.connection AND work.state IN ('pending', "
                "'running'))", (cutoff,)).rowcount
            db.execute("DELETE FROM work WHERE updated < ? AND state IN ('succeeded', "
                       "'failed') AND NOT EXISTS (SELECT 1 FROM events WHERE events.id = "
                       "work.event AND events.book = work.book AND events.connection = "
                       "work.connection)", (cutoff,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(gone)

    # ------------------------------------------------------------------ cursors

    def cursor(self, book: str, connection: str) -> tuple[str, int] | None:
        """The newest event a catch-up walked to: its id and time."""
        row = self._db().execute("SELECT event, created FROM cursors WHERE book = ? AND "
                                 "connection = ?", (book, connection)).fetchone()
        return None if row is None else (row[0], row[1])

    def set_cursor(self, book: str, connection: str, event_id: str, created: int) -> None:
        self._db().execute("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?)",
                           (book, connection, event_id, created))


def _work(row: Sequence[Any]) -> Work:
    (handler, book, connection, event, state, owner, attempts, due, run_id, error,
     updated) = row
    return Work(handler, book, connection, event, state, attempts, due, run_id, error,
                owner, updated)
