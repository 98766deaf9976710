"""Sending events to webhook endpoints, as Stripe does: signed POSTs from a background thread,
retried with backoff until the endpoint answers 2xx.

Each delivery (:class:`Job`: an event for an endpoint) is POSTed with the event's JSON exactly
as ``GET /v1/events/{id}`` renders it at that moment, ``Content-Type: application/json;
charset=utf-8`` and ``Stripe-Signature: t=<unix time>,v1=<hex>``, the HMAC-SHA256 of
``"<t>.<body>"`` keyed with the endpoint's whole ``whsec_`` secret, made afresh for every
attempt. Only a 2xx counts: any other status (a redirect too), a connection error or a
timeout is a failure, retried after each delay of :attr:`Settings.retry_delays` in turn
(then given up). What to send is asked of the backend (``target``) just before each attempt,
under its lock, so an endpoint disabled or deleted meanwhile gets nothing more; nothing is
sent while the lock is held.

Faults, off by default and seeded with the sandbox's fault seed: ``duplicate_rate`` (that
fraction of delivered events is delivered again), ``shuffle`` (hold deliveries until that
many wait, or a drain asks for them, then send them in a random order) and ``delay_ms``
(each delivery waits that long before its first attempt). Delivery is at least once and in
no promised order, as Stripe's.

:meth:`Deliveries.drain` waits until nothing is waiting, held or being sent; the log of
attempts (:meth:`Deliveries.log`) keeps the last :data:`LOG_MAX`. Neither ever holds a
secret or a signature.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import heapq
import hmac
import http.client
import itertools
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import attrs

LOG_MAX = 10_000
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@attrs.frozen
class Job:
    """One event to send to one endpoint: its ``attempt`` number, and whether it is a
    duplicate of a delivery already made (the duplicate fault)."""

    event: str
    endpoint: str
    attempt: int = 1
    duplicate: bool = False


@attrs.frozen
class Target:
    """What an attempt sends, and where."""

    url: str
    secret: str = attrs.field(repr=False)
    type: str
    body: bytes = attrs.field(repr=False)


@attrs.define
class Settings:
    """How deliveries are made: the delays (seconds) before each retry, and how long an
    endpoint has to answer. Stripe retries for days; the default is compressed for local
    use: 1 s, 2 s and 4 s (4 attempts)."""

    retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    timeout: float = 5.0

    def to_json(self) -> dict[str, Any]:
        return {"retry_delays": list(self.retry_delays), "timeout": self.timeout}

    def updated(self, changes: dict[str, Any]) -> Settings:
        """A copy with ``changes`` applied; raises ``ValueError`` saying what is wrong."""
        unknown = sorted(set(changes) - {"retry_delays", "timeout"})
        if unknown:
            raise ValueError(f"Unknown webhook setting(s): {', '.join(unknown)}. Known: "
                             "retry_delays, timeout.")
        delays = changes.get("retry_delays", self.retry_delays)
        if not isinstance(delays, list | tuple) or not all(_number(one) and one >= 0
                                                             for one in delays):
            raise ValueError(f"retry_delays must be a list of seconds >= 0, not {delays!r}.")
        timeout = changes.get("timeout", self.timeout)
        if not _number(timeout) or timeout <= 0:
            raise ValueError(f"timeout must be a number of seconds > 0, not {timeout!r}.")
        return Settings(tuple(float(one) for one in delays), float(timeout))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@attrs.define
class DeliveryFaults:
    """The delivery faults (see the module's docstring)."""

    duplicate_rate: float = 0.0
    shuffle: int = 0
    delay_ms: float = 0.0


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """``Stripe-Signature`` for ``body`` signed at ``timestamp`` with ``secret``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Deliveries:
    """The deliveries of one sandbox: waiting (by when they are due), held (the shuffle
    fault), being sent, and the log of attempts. ``target(job)`` gives what to send (None:
    drop the job); ``delivered(job)`` is told of each 2xx. The sending thread starts with the
    first delivery; :meth:`stop` ends it."""

    def __init__(self, target: Callable[[Job], Target | None],
                 delivered: Callable[[Job], None]) -> None:
        self._target = target
        self._delivered = delivered
        self.settings = Settings()
        self.faults = DeliveryFaults()
        self._rng = random.Random()
        self._condition = threading.Condition()
        self._waiting: list[tuple[float, int, Job]] = []
        self._held: list[Job] = []
        self._release = False
        self._busy = 0
        self._order = itertools.count()
        self._generation = 0
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=LOG_MAX)
        self._thread: threading.Thread | None = None
        self._stopping = False

    # Settings

    def configure(self, settings: Settings | None = None, faults: DeliveryFaults | None = None,
                  seed: int | None = None, *, reseed: bool = False) -> None:
        """Change the settings or faults; ``reseed`` seeds the fault choices with ``seed``."""
        with self._condition:
            if settings is not None:
                self.settings = settings
            if faults is not None:
                self.faults = faults
            if reseed:
                self._rng = random.Random(seed)
            self._condition.notify_all()

    # What the backend and the controls call

    def send(self, jobs: list[Job]) -> None:
        """Send these deliveries (after the delay fault, if set)."""
        with self._condition:
            due = time.monotonic() + self.faults.delay_ms / 1000
            for job in jobs:
                heapq.heappush(self._waiting, (due, next(self._order), job))
            self._start()
            self._condition.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is waiting, held or being sent (held deliveries are released
        now), at most ``timeout`` seconds; whether it got there."""
        deadline = time.monotonic() + timeout
        with self._condition:
            self._release = True
            self._condition.notify_all()
            try:
                while self._waiting or self._held or self._busy:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._condition.wait(left)
                return True
            finally:
                self._release = False

    def outstanding(self) -> int:
        """How many deliveries are waiting, held or being sent."""
        with self._condition:
            return len(self._waiting) + len(self._held) + self._busy

    def log(self, event: str | None = None) -> list[dict[str, Any]]:
        """The attempts made, oldest first (only those of ``event`` if given)."""
        with self._condition:
            return [dict(entry) for entry in self._log
                    if event is None or entry["event"] == event]

    def reset(self) -> None:
        """Forget every delivery and the log (an attempt being sent finishes unrecorded)."""
        with self._condition:
            self._generation += 1
            self._waiting.clear()
            self._held.clear()
            self._log.clear()
            self._condition.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        """End the sending thread (what waits is not sent)."""
        with self._condition:
            self._stopping = True
            thread, self._thread = self._thread, None
            self._condition.notify_all()
        if thread is not None:
            thread.join(timeout)
        with self._condition:
            self._stopping = False

    # The sending thread

    def _start(self) -> None:
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(target=self._run, name="stripe-sandbox-webhooks",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                batch = self._next_batch()
                if batch is None:
                    return
                generation = self._generation
                self._busy += len(batch)
            for job in batch:
                try:
                    self._attempt(job, generation)
                finally:
                    with self._condition:
                        self._busy -= 1
                        self._condition.notify_all()

    def _next_batch(self) -> list[Job] | None:
        """(Holding the condition.) The deliveries to send now, waiting until there are
        some; None when stopping."""
        while not self._stopping:
            now = time.monotonic()
            due = []
            while self._waiting and self._waiting[0][0] <= now:
                due.append(heapq.heappop(self._waiting)[2])
            if self.faults.shuffle <= 0:
                self._held, due = [], self._held + due
            else:
                self._held.extend(due)
                due = []
                if self._held and (len(self._held) >= self.faults.shuffle or self._release):
                    due, self._held = self._held, []
                    self._rng.shuffle(due)
            if due:
                return due
            wait = self._waiting[0][0] - now if self._waiting else None
            self._condition.wait(wait)
        return None

    def _attempt(self, job: Job, generation: int) -> None:
        target = self._target(job)
        if target is None:
            return
        timestamp = int(time.time())
        started = time.perf_counter()
        status, error = _post(target, timestamp, self.settings.timeout)
        ok = status is not None and 200 <= status < 300
        entry = {"event": job.event, "type": target.type, "endpoint": job.endpoint,
                 "url": target.url, "attempt": job.attempt, "duplicate": job.duplicate,
                 "status": status, "error": error, "delivered": ok, "time": timestamp,
                 "duration_ms": round((time.perf_counter() - started) * 1000, 3)}
        with self._condition:
            if generation != self._generation:
                return  # the sandbox was reset meanwhile
            self._log.append(entry)
            again = None
            rate = self.faults.duplicate_rate
            if ok and not job.duplicate and rate > 0 and self._rng.random() < rate:
                again = (0.0, attrs.evolve(job, duplicate=True))
            elif not ok and not job.duplicate and job.attempt <= len(self.settings.retry_delays):
                again = (self.settings.retry_delays[job.attempt - 1],
                         attrs.evolve(job, attempt=job.attempt + 1))
            if again is not None:
                heapq.heappush(self._waiting, (time.monotonic() + again[0], next(self._order),
                                               again[1]))
        if ok:
            self._delivered(job)


def _post(target: Target, timestamp: int, timeout: float) -> tuple[int | None, str | None]:
    """POST the event; the status answered, or the error met instead."""
    parts = urllib.parse.urlsplit(target.url)
    connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json; charset=utf-8",
               "Stripe-Signature": signature_header(target.secret, target.body, timestamp),
               "User-Agent": USER_AGENT, "Accept": "*/*; q=0.5, application/xml",
               "Cache-Control": "no-cache"}
    try:
        connection.request("POST", path, body=target.body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, None
    except (OSError, http.client.HTTPException) as failure:
        return None, f"{type(failure).__name__}: {failure}"
    finally:
        with contextlib.suppress(OSError):
            connection.close()
