"""The running role: take work from the hand-off and run its handler, exactly once.

Each work item (a handler and an event, or a schedule slot) runs as one journaled run whose
id is derived from the handler's key, the book, the connection and the event id. So the
run's steps carry idempotency keys that are the same however often the item is taken: a
worker that dies mid-run leaves the item held by a dead owner; the next worker takes it over
and *resumes* that run (what took effect is not sent again, what was in flight is sent with
its old key); an item whose run already succeeded is only marked done.

A run that fails in a way its book calls passing (network, rate limit, server error, after
the step's own retries) is tried again later, with backoff, up to :data:`MAX_ATTEMPTS`; a
refusal (a 4xx, a failed check) is recorded as failed at once, shown by ``kbooks events``,
and run again only on purpose (``kbooks events replay``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..model import KbooksError, Record
from .handlers import EVENT, SCHEDULE, Handler
from .inbox import Handoff, Received, Work

if TYPE_CHECKING:
    from ..runtime import Runtime

logger = logging.getLogger("kognitos_books.triggers")

#: times a work item is tried before it is recorded as failed
MAX_ATTEMPTS = 8
#: seconds before the first retry of a run that failed in a passing way; doubled each time
RETRY_BASE = 0.5
RETRY_CAP = 60.0
#: the book and connection names of schedule work (it belongs to no book)
SCHEDULE_BOOK = "(schedule)"


def run_id_for(work: Work) -> str:
    """The run a work item is: the same for every attempt, new after a replay."""
    if work.run_id:
        return work.run_id
    digest = hashlib.sha256("\0".join(
        (work.handler, work.book, work.connection, work.event)).encode()).hexdigest()
    return f"run_{digest[:16]}"


def event_record(event: Received) -> Record:
    """``the event``: its id, type, time and mode, and what changed."""
    body = event.data
    return Record(event.book, EVENT, event.id, {
        "id": event.id, "type": event.type, "created": event.created,
        "livemode": bool(body.get("livemode")),
        "previous_attributes": body.get("previous") or {}})


def seed_for(handler: Handler, work: Work, received: Received | None) -> dict[str, Any]:
    if handler.trigger is not None:
        if received is None:
            raise KbooksError(f"the event {work.event} is not in the inbox")
        body = received.data
        record = Record(received.book, body.get("noun") or handler.trigger.noun,
                        body.get("record_id"), body.get("object") or {})
        return {handler.trigger.noun: record, EVENT: event_record(received)}
    slot = work.event.removeprefix("slot:")
    return {SCHEDULE: Record(SCHEDULE_BOOK, SCHEDULE, slot, {"time": slot, "slot": slot})}


class Worker:
    """Runs work from ``handoff`` with the handlers it knows (by key), one item at a time.

    ``runtime`` runs the handlers (its own, not shared with other threads); ``owner`` is
    this process's journal owner and ``alive`` says whether another owner still lives.
    """

    def __init__(self, runtime: Runtime, handoff: Handoff, handlers: Mapping[str, Handler],
                 texts: Mapping[str, str], *, owner: str, alive: Callable[[str], bool],
                 yes: bool = False,
                 on_done: Callable[[Work, str, Any], None] | None = None,
                 on_output: Callable[[Work, int, str], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 stopping: threading.Event | None = None) -> None:
        self.runtime = runtime
        self.handoff = handoff
        self.handlers = handlers
        self.texts = texts
        self.owner = owner
        self.alive = alive
        self.yes = yes
        self.on_done = on_done
        self.on_output = on_output
        self.clock = clock
        #: set to stop :meth:`run_forever` (a listener's workers share its own)
        self.stopping = stopping or threading.Event()

    def run_forever(self, idle: float = 0.2) -> None:
        while not self.stopping.is_set():
            if not self.run_one():
                self.handoff.wait(idle)

    def run_one(self, event: str | None = None) -> bool:
        """Take one work item due (of ``event`` only, if given) and run it; False when there
        was none."""
        work = self.handoff.claim(self.owner, self.alive, event=event)
        if work is None:
            return False
        handler = self.handlers.get(work.handler)
        if handler is None:
            # (work for a handler this listener does not run: leave it for one that does)
            self.handoff.finish(work, "pending", retry_at=self.clock() + 5.0)
            return True
        state, error, retry_at = self._run(handler, work)
        self.handoff.finish(work, state, error=error, retry_at=retry_at,
                            run_id=run_id_for(work))
        if self.on_done is not None:
            self.on_done(work, state if retry_at is None else "retrying", error)
        return True

    def _run(self, handler: Handler, work: Work) -> tuple[str, str | None, float | None]:
        run_id = run_id_for(work)
        received = (self.handoff.event(work.book, work.connection, work.event)
                    if handler.trigger is not None else None)
        try:
            seed = seed_for(handler, work, received)
            result = self.runtime.run_handler(
                handler, text=self.texts[handler.source], run_id=run_id, seed=seed,
                yes=self.yes, options={"event": work.event, "book": work.book},
                on_step=self._said(work))
        except KbooksError as exc:
            retryable = bool(getattr(exc, "retryable", False))
            return self._failed(work, str(exc), retryable)
        except Exception as exc:  # a bug or a lost connection: tried again, then failed
            logger.exception("handler %s for %s failed", handler.opener, work.event)
            return self._failed(work, f"{type(exc).__name__}: {exc}", True)
        if result is None or result.ok:
            return "succeeded", None, None
        failure = result.failures[0]
        # (a refusal or a "fail with" is the same next time; a lost answer or an outage not)
        retryable = failure.kind == "step" and not failure.refused
        return self._failed(work, failure.error or "a step failed", retryable)

    def _said(self, work: Work) -> Callable[[Any], None] | None:
        """What passes a run's ``say`` and ``show`` lines on (to the listener's output)."""
        tell = self.on_output
        if tell is None:
            return None

        from ..automation import summarize

        def said(outcome: Any) -> None:
            if outcome.kind in ("say", "show"):
                text = outcome.result if outcome.kind == "say" else summarize(outcome.result)
                tell(work, outcome.line, str(text))
        return said

    def _failed(self, work: Work, error: str, retryable: bool
                ) -> tuple[str, str | None, float | None]:
        if retryable and work.attempts < MAX_ATTEMPTS:
            delay = min(RETRY_CAP, RETRY_BASE * 2 ** (work.attempts - 1))
            return "pending", error, self.clock() + delay
        return "failed", error, None
