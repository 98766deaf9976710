"""``kbooks listen``: automations that run when their books report events, or on schedules.

A :class:`Listener` puts the roles together for one machine:

- it checks every file's ``when`` and schedule blocks first (nothing listens if any is
  wrong) and connects each book they name;
- *receive*: registers each book's endpoint for the events the files name (found again by
  URL, never a second one; its signing secret kept in the credential store), catches up on
  what happened while it was down (the book's ``list_events`` from the inbox's cursor), then
  serves deliveries (:mod:`.receiver`), or, with ``poll``, reads the book's events every
  ``poll`` seconds instead and needs no public URL;
- *work*: worker threads that run the handlers (:mod:`.worker`), and the scheduler, which
  makes one work item per schedule slot.

The roles can run in separate processes on one machine (``--role receive`` and ``--role
work``): they share only the inbox (:class:`~.inbox.Handoff`).

Missed schedule slots: a slot that passed while nothing listened runs once when the
listener starts, if it is the latest slot of its schedule and the schedule has run before;
earlier missed slots are skipped. A slot runs once whatever the number of restarts or of
listeners: its work item is keyed by the slot's time.
"""

from __future__ import annotations

import datetime
import logging
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..model import ConfigurationError, Connection, Event, Record
from .handlers import Handler
from .inbox import Inbox, Offer
from .receiver import Receiver, Route, Serving, serve
from .worker import SCHEDULE_BOOK, Worker

if TYPE_CHECKING:
    from ..runtime import Runtime

logger = logging.getLogger("kognitos_books.triggers")

#: hosts whose address is this machine's own: a listener there needs no --url
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: events recorded per transaction during a catch-up
CATCH_UP_BATCH = 200
#: seconds between catch-ups while deliveries are served (they also recover failed ones)
CATCH_UP_EVERY = 300.0


@attrs.frozen
class Subscription:
    """What one book is asked for: the handlers of each event type."""

    book: str
    handlers: dict[str, tuple[str, ...]]

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted(self.handlers))


def subscriptions(handlers: Iterable[Handler]) -> dict[str, Subscription]:
    found: dict[str, dict[str, list[str]]] = {}
    for handler in handlers:
        if handler.trigger is not None and handler.book is not None:
            by_type = found.setdefault(handler.book, {})
            by_type.setdefault(handler.trigger.type, []).append(handler.key)
    return {book: Subscription(book, {t: tuple(keys) for t, keys in by_type.items()})
            for book, by_type in found.items()}


class Listener:
    """Listens for the events and schedules of ``files`` (name, text) with ``runtime``."""

    def __init__(self, runtime: Runtime, files: Sequence[tuple[str, str]], *,
                 url: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 poll: float | None = None, workers: int = 4, role: str = "all",
                 yes: bool = False, runtime_factory: Callable[[], Runtime] | None = None,
                 say: Callable[[str], None] = print,
                 now: Callable[[], datetime.datetime] | None = None) -> None:
        self.runtime = runtime
        self.url = url.rstrip("/") if url else None
        self.host = host
        self.port = port
        self.poll = poll
        self.workers = workers
        self.role = role
        self.yes = yes
        self.say = say
        self.now = now or (lambda: datetime.datetime.now(datetime.UTC))
        self.runtime_factory = runtime_factory or (lambda: type(runtime)(
            home=runtime.store.home, plugins=runtime.plugins,
            connection=runtime.connection_name))
        self.handlers: list[Handler] = []
        for name, text in files:
            self.handlers.extend(runtime.handlers(text, source_name=name))
        if not self.handlers:
            raise ConfigurationError(
                "nothing to listen for: the files have no when or every blocks",
                hint='start a block with, e.g.: when an invoice is paid in stripe')
        self.by_key = {h.key: h for h in self.handlers}
        self.texts = dict(files)
        self.subscriptions = subscriptions(self.handlers)
        self.inbox = Inbox(Path(runtime.store.home))
        self.stopping = threading.Event()
        self.connections: dict[str, Connection] = {}
        self.threads: list[threading.Thread] = []
        self.server: Serving | None = None
        self.receiver: Receiver | None = None

    # ------------------------------------------------------------------ starting

    def connect(self) -> None:
        for book in self.subscriptions:
            conn = self.connections[book] = self.runtime.connect(book)
            if conn.mode == "live":
                self.say(f"{book}/{conn.name} is a LIVE connection: its events are real, and "
                         + ("handlers may delete, void and pay (--yes)" if self.yes else
                            "a handler that would delete, void or pay fails unless "
                            "kbooks listen is given --yes"))

    def endpoint_url(self, book: str) -> str:
        assert self.url is not None
        return f"{self.url}/{book}"

    def register(self) -> dict[str, Route]:
        """Each book's endpoint, found or made, with its secret: the receiver's routes."""
        routes: dict[str, Route] = {}
        store = self.runtime.store
        for book, subscription in self.subscriptions.items():
            conn = self.connections[book]
            url = self.endpoint_url(book)
            endpoint = self.runtime.plugins.ensure_endpoint(conn, url, subscription.types)
            if endpoint.secret is not None:
                store.save_endpoint(book, conn.name, url, endpoint.id, endpoint.secret)
                self.say(f"registered {book}'s endpoint {url} ({endpoint.id}) for "
                         f"{len(subscription.types)} event type(s)")
            kept = store.endpoint(book, conn.name, url)
            if kept is None or kept[0] != endpoint.id:
                raise ConfigurationError(
                    f"{book} already has an endpoint for {url} ({endpoint.id}), but its "
                    "signing secret is not in the credential store, so no delivery to it "
                    "can be verified",
                    hint=f"remove it with: kbooks listen --remove-endpoint --url {self.url} "
                    "FILE, then listen again (a new one is made and its secret kept)")
            if endpoint.secret is None:
                self.say(f"{book}'s endpoint {url} ({endpoint.id}) is registered")
            path = urllib.parse.urlsplit(url).path
            routes[path] = Route(book, conn, kept[1], subscription.handlers)
        return routes

    def catch_up(self, book: str) -> int:
        """Record every event of ``book`` after the cursor (all that is kept, the first
        time); how many were new."""
        conn = self.connections[book]
        subscription = self.subscriptions[book]
        cursor = self.inbox.cursor(book, conn.name)
        after = None
        if cursor is not None:
            after = Event(cursor[0], "", cursor[1], conn.mode == "live",
                          Record(book, "", None, {}))
        new = 0
        batch: list[Offer] = []
        last: Event | None = None

        def flush() -> None:
            nonlocal new, batch
            if batch:
                new += sum(self.inbox.record(batch))
                assert last is not None
                self.inbox.set_cursor(book, conn.name, last.id, last.created)
                batch = []

        for event in self.runtime.plugins.list_events(conn, after, subscription.types):
            if event.type not in subscription.handlers:
                continue
            batch.append(Offer.of(book, conn.name, event, subscription.handlers[event.type],
                                  via="catch-up"))
            last = event
            if len(batch) >= CATCH_UP_BATCH:
                flush()
        flush()
        return new

    # ------------------------------------------------------------------ running

    def start_workers(self) -> None:
        journal = self.runtime.journal
        owner = journal.owner()
        for number in range(self.workers):
            worker = Worker(self.runtime_factory(), self.inbox, self.by_key, self.texts,
                            owner=owner, alive=journal.owner_alive, yes=self.yes,
                            on_done=self._done, on_output=self._output,
                            stopping=self.stopping)
            self._thread(f"kbooks-worker-{number}", worker.run_forever)
        if any(h.schedule is not None for h in self.handlers):
            self._thread("kbooks-scheduler", self.schedule_forever)

    def _done(self, work: Any, state: str, error: str | None) -> None:
        handler = self.by_key[work.handler]
        line = f"{state}: line {handler.line} ({handler.opener}) for {work.event}"
        self.say(line + (f": {error}" if error and state != "succeeded" else ""))

    def _output(self, work: Any, line: int, text: str) -> None:
        self.say(f"  {work.event} line {line}: {text}")

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        def run() -> None:
            try:
                target()
            except Exception:
                logger.exception("%s stopped", name)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def schedule_forever(self) -> None:
        schedules = [h for h in self.handlers if h.schedule is not None]
        for handler in schedules:
            self.first_slot(handler)
        while not self.stopping.is_set():
            now = self.now()
            nearest = min(h.schedule.next_after(now, h.zone) for h in schedules)
            if self.stopping.wait(min(max(0.0, (nearest - now).total_seconds()), 60.0)):
                return
            self.due_slots(schedules, now)

    def due_slots(self, schedules: Sequence[Handler], since: datetime.datetime) -> int:
        """Make the work of every slot from ``since`` to now; how many were new (a slot
        another listener, or this one before a restart, made already is not made again)."""
        now = self.now()
        made = 0
        for handler in schedules:
            for slot in handler.schedule.slots_between(since, now, handler.zone):
                made += self.inbox.add_work(handler.key, SCHEDULE_BOOK, "", _slot_key(slot))
        return made

    def first_slot(self, handler: Handler) -> bool:
        """The missed-slot rule at start: the latest slot before now runs if the schedule
        was listened for before that slot and that slot has not run; whether it was made."""
        now = self.now()
        started = self.inbox.schedule_started(handler.key, now.timestamp())
        latest = previous_slot(handler, now)
        made = False
        if started is not None and latest is not None and latest.timestamp() > started:
            made = self.inbox.add_work(handler.key, SCHEDULE_BOOK, "", _slot_key(latest))
            if made:
                self.say(f"running the missed slot {_slot_key(latest)} of line "
                         f"{handler.line} ({handler.opener})")
        self.say(f"line {handler.line} ({handler.opener}): next at "
                 f"{handler.schedule.next_after(now, handler.zone).isoformat()}")
        return made

    def keep_catching_up(self, every: float) -> None:
        """Every ``every`` seconds until stopped: forget what the inbox no longer needs, and
        record the events each book reported since the last catch-up (``--poll``; behind a
        receiver, the deliveries that never came)."""
        while not self.stopping.wait(every):
            self.inbox.prune()
            for book in self.subscriptions:
                try:
                    new = self.catch_up(book)
                except Exception as exc:
                    logger.warning("reading %s's events failed: %s", book, exc)
                    continue
                if new:
                    self.say(f"{book}: {new} new event(s)")

    def run(self, ready: Callable[[int], None] | None = None) -> int:
        """Listen until interrupted (or :meth:`stop`); the exit status."""
        receiving = self.role in ("all", "receive")
        working = self.role in ("all", "work")
        if receiving:
            self.connect()
        if receiving and self.subscriptions and self.poll is None:
            self.receiver = Receiver({}, self.inbox, self.runtime.plugins.verify_event)
            self.server = serve(self.receiver, self.host, self.port, ready=self._ready(ready))
            try:
                if self.url is None:
                    if self.host not in LOOPBACK:
                        raise ConfigurationError(
                            "listening for events needs the public URL the service can "
                            "deliver to", hint="give --url https://your.host/kbooks (or "
                            "--poll SECONDS to read the events instead, with no URL)")
                    # (on loopback: a service on this machine, such as the sandbox)
                    self.url = f"http://{self.host}:{self.server.port}"
                self.receiver.routes.update(self.register())
            except BaseException:
                self.server.socket.close()
                raise
        if receiving:
            for book in self.subscriptions:
                new = self.catch_up(book)
                self.say(f"{book}: caught up, {new} event(s) missed while down")
        if working:
            self.start_workers()
        if receiving and self.subscriptions:
            every = self.poll if self.poll is not None else CATCH_UP_EVERY
            self._thread("kbooks-catch-up", lambda: self.keep_catching_up(every))
        if self.server is not None:
            try:
                self.server.run()
            finally:
                self.stop()
            return 0
        if ready is not None:
            ready(0)
        try:
            while not self.stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        return 0

    def _ready(self, ready: Callable[[int], None] | None) -> Callable[[int], None]:
        def announce(port: int) -> None:
            self.port = port
            self.say(f"listening on http://{self.host}:{port} for "
                     + ", ".join(f"{book} ({len(s.types)} event type(s))"
                                 for book, s in self.subscriptions.items()))
            if ready is not None:
                ready(port)
        return announce

    def interrupt(self) -> None:
        """Ask the listener to stop: :meth:`run` then stops every part and returns. It only
        sets flags, so a signal handler may call it at any moment (before the server serves,
        too: it then ends as soon as it has started)."""
        self.stopping.set()
        if self.server is not None:
            self.server.stop()

    def stop(self) -> None:
        self.stopping.set()
        if self.server is not None:
            self.server.stop()
        for thread in self.threads:
            thread.join(timeout=30)
        if self.receiver is not None:
            self.receiver.close()

    def remove_endpoints(self) -> list[str]:
        """Delete each book's endpoint for the URL and forget its secret."""
        self.connect()
        removed = []
        for book in self.subscriptions:
            conn = self.connections[book]
            url = self.endpoint_url(book)
            if self.runtime.plugins.remove_endpoint(conn, url):
                removed.append(url)
            self.runtime.store.forget_endpoint(book, conn.name, url)
        return removed


def previous_slot(handler: Handler, now: datetime.datetime) -> datetime.datetime | None:
    """The latest slot of ``handler``'s schedule before ``now`` (within 32 days)."""
    for days in (1 / 24, 1, 32):
        slots = list(handler.schedule.slots_between(now - datetime.timedelta(days=days), now,
                                                    handler.zone))
        if slots:
            return slots[-1]
    return None


def _slot_key(slot: datetime.datetime) -> str:
    return "slot:" + slot.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
