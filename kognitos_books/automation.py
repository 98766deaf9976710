"""Running a checked automation: step by step, journaled, resumable, once per row.

:func:`execute` is what ``Runtime.run`` and ``kbooks run`` use. Each step's result is
remembered under its noun for later steps; a failing step stops its row and the report says
which earlier steps took effect. Every step that changes something carries an idempotency key
derived from the run, the row and the step, so a retry or a resume cannot act twice.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import attrs

from .checker import (
    Compare,
    Decide,
    Emptiness,
    Filled,
    Halt,
    Loop,
    Output,
    Ref,
    Step,
    StepInputError,
    Tally,
    Unknown,
    Unless,
)
from .journal import Journal, JournalError, step_key
from .model import And, BookError, Call, Condition, KbooksError, Or, Plan, Record

if TYPE_CHECKING:
    from .runtime import Runtime

#: Steps that change nothing; a resume runs them again instead of trusting the journal.
READ_ONLY = ("get",)
#: With no concurrency given, a bulk run keeps as many rows in flight as its pace needs,
#: up to one second's worth of steps and never more than this.
AUTO_MAX_CONCURRENCY = 64
#: Rows in flight at the start of an automatic bulk run, before any step has been timed.
AUTO_START_CONCURRENCY = 2
#: A run paced at ``rate`` sends at this fraction of it. Services count requests over a
#: sliding second; at exactly their limit, any jitter in how requests arrive puts one too
#: many in some second (a 429, and a retry that crowds the next second). 5% under it leaves
#: each second about 50 ms of slack.
PACE_HEADROOM = 0.95


class NeedsConfirmation(KbooksError):
    """A destructive step would run on a live connection without ``--yes``; nothing was
    sent. ``question`` is what to ask a person who may confirm it."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None,
                 question: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.question = question or f"{message}. Continue?"


class LazyRecords:
    """The records of a plural get: pages are fetched only as they are read, and what was
    read is kept, so reading again costs nothing."""

    def __init__(self, source: Iterable[Record]) -> None:
        self._origin = source
        self._source: Iterator[Record] | None = iter(source)
        self._seen: list[Record] = []
        self._lock = threading.Lock()

    def stream(self) -> Iterator[Record]:
        """Every record, read without keeping them (a loop over a long list): what was
        read already, then the rest, not kept; or all of them again from the book when
        its list can be read again (a book's list asks the service anew)."""
        with self._lock:
            if not self._seen and self._source is not None and iter(self._origin) is not \
                    self._origin:
                return iter(self._origin)  # (nothing read yet: read it as it comes)
        return iter(self)

    def _fill(self, upto: int | None) -> None:
        with self._lock:
            while self._source is not None and (upto is None or len(self._seen) < upto):
                try:
                    self._seen.append(next(self._source))
                except StopIteration:
                    self._source = None

    def __iter__(self) -> Iterator[Record]:
        for i in itertools.count():
            self._fill(i + 1)
            if i >= len(self._seen):
                return
            yield self._seen[i]

    def head(self, n: int) -> tuple[list[Record], bool]:
        """The first ``n`` records and whether there are more."""
        self._fill(n + 1)
        return self._seen[:n], len(self._seen) > n

    def count(self, upto: int) -> tuple[int, bool]:
        """How many records there are, reading at most ``upto`` of them; and whether that
        is all of them (False: there may be more)."""
        self._fill(upto)
        return len(self._seen), self._source is None

    def __len__(self) -> int:
        self._fill(None)
        return len(self._seen)

    def __getitem__(self, index: int) -> Record:
        self._fill(index + 1)
        return self._seen[index]

    def __repr__(self) -> str:
        state = "all read" if self._source is None else "more to read"
        return f"LazyRecords({len(self._seen)} read, {state})"


@attrs.define
class StepResult:
    """What one step of one row did.

    ``state``: ``succeeded``, ``failed``, ``planned`` (dry run), ``skipped`` (not reached),
    ``restored`` (taken from the journal on resume).
    """

    row: int
    step: int
    line: int
    command: str
    verb: str
    noun: str
    state: str
    result: Any = None
    plan: Plan | None = None
    error: str | None = None
    error_code: str | None = None
    request_id: str | None = None
    seconds: float = 0.0
    #: how often the step was sent (more than once when a passing failure was retried)
    attempts: int = 0
    #: a failed step took no effect for sure: refused by the service or the book, or never
    #: sent (a value that did not fit, a check)
    refused: bool = False
    #: what the line is: a ``step`` (a command), ``say``, ``show``, ``stop`` or ``fail``
    kind: str = "step"
    #: the ids of the records of the loops it ran in, outermost first
    scope: tuple[str, ...] = ()

    @property
    def took_effect(self) -> bool:
        return self.state in ("succeeded", "restored") and self.verb not in READ_ONLY

    @property
    def may_have_taken_effect(self) -> bool:
        """A write that failed without a definite answer (the connection dropped, a server
        error): the service may have acted. A resume sends it again with the same
        idempotency key, so it is done once either way."""
        return self.state == "failed" and self.verb not in READ_ONLY and not self.refused


@attrs.define
class RunResult:
    """A whole run: every step of every row, in order."""

    run_id: str
    source: str
    dry_run: bool
    modes: dict[str, str]
    steps: list[StepResult] = attrs.field(factory=list)
    rows: int = 1
    failed_rows: list[int] = attrs.field(factory=list)
    #: a preview's writes, by (verb, noun): how many, and the acted-on records' amounts
    #: per currency (their noun's ``amount`` field)
    would: dict[tuple[str, str], dict[str, Any]] = attrs.field(factory=dict)
    #: a preview: reads sent, writes only planned
    preview: bool = False

    def nested(self) -> list[Any]:
        """The results as the automation is nested: each step (or said line) outside loops,
        and for each record a loop went over, ``{"record": ID, "results": [...]}`` holding
        what ran for it (nested again for a loop inside). One row's, or the first's."""
        top: list[Any] = []
        for outcome in self.steps:
            if outcome.row != (self.steps[0].row if self.steps else 0):
                continue
            into = top
            for depth, record in enumerate(outcome.scope):
                last = into[-1] if into else None
                if not (isinstance(last, dict) and last.get("record") == record
                        and last.get("depth") == depth):
                    last = {"record": record, "depth": depth, "results": []}
                    into.append(last)
                into = last["results"]
            into.append(outcome)
        return top

    def would_lines(self) -> list[str]:
        """``would void 37 invoices, 4,210.00 usd``: a preview's writes in words."""
        from .money import shown

        lines = []
        for (verb, noun), found in self.would.items():
            count = found["count"]
            name = noun if count == 1 else found["plural"]
            sums = ", ".join(shown(int(v), c) for c, v in sorted(found["sums"].items()))
            lines.append(f"would {verb.replace('_', ' ')} {count:,} {name}"
                         + (f", {sums}" if sums else ""))
        return lines

    @property
    def ok(self) -> bool:
        return not any(s.state == "failed" for s in self.steps)

    @property
    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if s.state == "failed"]

    def results(self) -> list[Any]:
        """The result of each step that produced one, in order."""
        return [s.result for s in self.steps if s.result is not None]


@attrs.define
class RateLimiter:
    """Paces acquisitions to at most ``rate`` a second, evenly spaced; after a pause up to
    ``burst`` may go at once.

    Each caller reserves the next free slot under the lock and sleeps outside it until that
    slot, so waiting threads are served in order and each wakes once. Even spacing matters:
    services count requests in a sliding one-second window, and a burst on top of the pace
    is what draws 429s.
    """

    rate: float
    burst: float = 1.0
    _next: float = attrs.field(init=False, default=0.0)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def acquire(self) -> float:
        """Wait for the next slot; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        interval = 1.0 / self.rate
        with self._lock:
            now = time.monotonic()
            # a pause earns up to burst - 1 slots ahead of the pace, never more
            slot = max(self._next, now - (max(self.burst, 1.0) - 1.0) * interval)
            self._next = slot + interval
        wait = slot - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)


@attrs.frozen
class RetryPolicy:
    """How a step whose book reports a passing failure (``BookError.retryable``) is sent
    again: up to ``retries`` more times, the same call with the same idempotency key, after
    ``delay`` seconds doubling each time up to ``max_delay``, each wait randomly shortened by
    up to half so that rows running side by side spread out."""

    retries: int = 2
    delay: float = 1.0
    max_delay: float = 30.0

    def wait(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failed attempt (1-based)."""
        ceiling = min(self.delay * 2 ** (attempt - 1), self.max_delay)
        return ceiling * random.uniform(0.5, 1.0)


@attrs.define
class Progress:
    """Counts for a progress display: rows done and failed, out of ``total``.

    ``restored`` counts the done rows a resume took whole from the journal (they took no
    time, so a rate should leave them out).
    """

    total: int
    done: int = 0
    failed: int = 0
    restored: int = 0
    started: float = attrs.field(factory=time.monotonic)


class Execution:
    """Runs the steps of an automation for one or more rows.

    ``concurrency`` rows run at the same time; None (the default) chooses it: as many rows
    in flight as the pace needs given the time a step takes (Little's law: pace times
    step time, plus headroom), measured as the run goes, between 1 and
    :data:`AUTO_MAX_CONCURRENCY`. Without a pace (``rate`` 0) rows run one at a time.
    ``modes`` are the connections' modes by book, as the runtime found them when it
    connected before starting (recorded in the result).
    """

    def __init__(self, runtime: Runtime, steps: Sequence[Step], *, run_id: str,
                 source: str, dry_run: bool = False, journal: Journal | None = None,
                 rows: Sequence[Mapping[str, Any]] | None = None,
                 restored: Mapping[tuple[int, int, str], Any] | None = None,
                 context: Mapping[str, Any] | None = None,
                 on_step: Callable[[StepResult], None] | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 concurrency: int | None = None, rate: float = 0.0,
                 fail_fast: bool = False, retry: RetryPolicy | None = None,
                 modes: Mapping[str, str] | None = None,
                 keys: Mapping[tuple[int, int, str], str] | None = None,
                 preview: bool = False) -> None:
        self.rt = runtime
        #: reads are sent, writes only planned (and counted, with their amounts)
        self.preview = preview
        self.steps = steps
        #: the tree the steps run in (loops, branches), when it is more than the list
        self.body = None if getattr(steps, "flat", True) else steps.body  # type: ignore[attr-defined]
        self.run_id = run_id
        self.dry_run = dry_run
        self.journal = None if dry_run else journal
        self.rows = list(rows) if rows is not None else None
        self.restored = dict(restored or {})
        #: idempotency keys of steps (row, step) that a resume sends with a new key: they
        #: were refused, so their old key would only be answered with the old refusal
        self.keys = dict(keys or {})
        #: what earlier calls of the runtime left behind ("the invoice"), seen by every row
        self.initial = dict(context or {})
        #: the context after the last row; a single-row run hands it back to the runtime
        self.final: dict[str, Any] = {}
        self.on_step = on_step
        self.on_progress = on_progress
        self.concurrency = None if concurrency is None else max(1, concurrency)
        self.rate = max(0.0, rate or 0.0)
        self.limiter = RateLimiter(self.rate * PACE_HEADROOM) if self.rate else None
        self.fail_fast = fail_fast
        self.retry = retry or RetryPolicy()
        self.result = RunResult(run_id=run_id, source=source, dry_run=dry_run,
                                preview=preview,
                                modes=dict(modes or {}),
                                rows=len(self.rows) if self.rows is not None else 1)
        self._lock = threading.Lock()
        # Flags, set once and read by the row threads (nothing waits on them):
        self._stop = False   # no new rows (fail-fast, interrupt)
        self._abort = False  # rows in flight stop after their current step
        #: smoothed seconds a step spends with its book (not waiting for the pace)
        self.step_seconds: float | None = None

    # ------------------------------------------------------------------ driving

    def workers(self) -> int:
        """Threads for the rows: the concurrency given, or the most the pace can use."""
        if self.concurrency is not None:
            return self.concurrency
        if not self.rate:
            return 1
        return max(1, min(AUTO_MAX_CONCURRENCY, math.ceil(self.rate)))

    def in_flight(self) -> int:
        """How many rows to keep running now."""
        if self.concurrency is not None:
            return self.concurrency
        most = self.workers()
        if self.step_seconds is None:
            return min(most, AUTO_START_CONCURRENCY)
        need = self.rate * self.step_seconds
        return max(1, min(most, math.ceil(need * 1.25) + 1))

    def run(self) -> RunResult:
        if self.rows is None:
            self._run_row(0, None)
            return self.result
        progress = Progress(total=len(self.rows))
        if self.workers() == 1:
            for index, row in enumerate(self.rows):
                if self._stop:
                    break
                self._finish_row(index, self._run_row(index, row), progress)
            return self.result
        pool = ThreadPoolExecutor(max_workers=self.workers(), thread_name_prefix="kbooks-row")
        try:
            pending: dict[Future[bool | None], int] = {}
            rows = iter(enumerate(self.rows))
            while True:
                while len(pending) < self.in_flight() and not self._stop:
                    nxt = next(rows, None)
                    if nxt is None:
                        break
                    pending[pool.submit(self._run_row, nxt[0], nxt[1])] = nxt[0]
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    self._finish_row(pending.pop(future), future.result(), progress)
        except BaseException:
            # Interrupted (Ctrl-C, a failing callback): rows in flight end after the step
            # they are in, which the journal records; nothing new starts.
            self._stop = True
            self._abort = True
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        self.result.steps.sort(key=lambda s: (s.row, s.step))
        return self.result

    def _finish_row(self, index: int, ok: bool | None, progress: Progress) -> None:
        if ok is None:  # interrupted before it began
            return
        with self._lock:
            progress.done += 1
            if all((index, step.index + 1, "") in self.restored for step in self.steps):
                progress.restored += 1
            if not ok:
                progress.failed += 1
                self.result.failed_rows.append(index)
                if self.fail_fast:
                    self._stop = True
        if self.on_progress:
            self.on_progress(progress)

    def _run_row(self, row: int, values: Mapping[str, Any] | None) -> bool | None:
        """Run every step for one row: True if all succeeded, False if one failed or the
        run was interrupted midway, None if it was interrupted before the row began."""
        context: dict[str, Any] = dict(self.initial)
        self.final = context
        if values is not None:
            context["row"] = Record("rows", "row", str(row + 1), dict(values))
        if self.body is not None:
            return self._run_tree(row, context)
        for step in self.steps:
            if self._abort:
                return None if step.index == 0 else False
            outcome = self._run_step(step, row, context)
            with self._lock:
                self.result.steps.append(outcome)
            if self.on_step:
                self.on_step(outcome)
            if outcome.state == "failed":
                for later in self.steps[step.index + 1:]:
                    with self._lock:
                        self.result.steps.append(StepResult(
                            row=row, step=later.index + 1, line=later.line,
                            command=later.text, verb=later.verb, noun=later.noun,
                            state="skipped"))
                return False
        return True

    # ------------------------------------------------------------------ blocks

    def _run_tree(self, row: int, context: dict[str, Any]) -> bool | None:
        """Run the automation's tree for one row (see :meth:`_run_row`)."""
        try:
            self._block(self.body or (), row, context, ())
        except _Stopped:
            return True
        except _RowFailed as failed:
            return None if failed.before_start else False
        return True

    def _note(self, outcome: StepResult) -> None:
        with self._lock:
            self.result.steps.append(outcome)
        if self.on_step:
            self.on_step(outcome)

    def _block(self, nodes: Sequence[Any], row: int, context: dict[str, Any],
               scope: tuple[str, ...]) -> None:
        for node in nodes:
            if self._abort:
                raise _RowFailed(before_start=not self.result.steps)
            if isinstance(node, Step):
                outcome = self._run_step(node, row, context, scope)
                self._note(outcome)
                if scope:
                    # a loop's results are its records' (and the journal's, for writes);
                    # keeping each would make a long loop's memory grow with its list
                    outcome.result = None
                if outcome.state == "failed":
                    raise _RowFailed()
            elif isinstance(node, Loop):
                self._loop(node, row, context, scope)
            elif isinstance(node, Decide):
                self._decide(node, row, context, scope)
            elif isinstance(node, Output):
                self._output(node, row, context, scope)
            elif isinstance(node, Halt):
                outcome = StepResult(row=row, step=0, line=node.line,
                                     command="fail" if node.failed else "stop", verb="",
                                     noun="", state="failed" if node.failed else "stopped",
                                     kind="fail" if node.failed else "stop", scope=scope,
                                     error=node.reason or None, refused=True)
                if self.dry_run:
                    outcome.state = "planned"
                    self._note(outcome)
                    continue  # a dry run shows every branch, so goes on
                self._note(outcome)
                if node.failed:
                    raise _RowFailed()
                raise _Stopped()

    def _loop(self, loop: Loop, row: int, context: dict[str, Any],
              scope: tuple[str, ...]) -> None:
        if isinstance(loop.source, Step):
            outcome = self._run_step(loop.source, row, context, scope, stream=True)
            records: Any = outcome.result
            outcome.result = None  # the records are the loop's; none is kept
            self._note(outcome)
            if outcome.state == "failed":
                raise _RowFailed()
        else:
            records = self._resolve(loop.source, context)
            if isinstance(records, LazyRecords):
                records = records.stream()
        if self.dry_run:
            # one iteration shows what each record would send
            records = [_Placeholder(loop.noun)]
        outer = context.get(loop.noun)
        try:
            for record in records if records is not None else ():
                context[loop.noun] = record
                key = record.id if isinstance(record, Record) and record.id else "each"
                self._block(loop.body, row, context, (*scope, key))
        finally:
            if isinstance(records, _Stream):
                records.close()
            if outer is None:
                context.pop(loop.noun, None)
            else:
                context[loop.noun] = outer

    def _decide(self, decide: Decide, row: int, context: dict[str, Any],
                scope: tuple[str, ...]) -> None:
        if self.dry_run:
            # nothing is known yet: every branch shows what it would send
            for _, body in decide.branches:
                self._block(body, row, context, scope)
            self._block(decide.otherwise or (), row, context, scope)
            return
        for check, body in decide.branches:
            try:
                holds = self._holds(check, context)
            except KbooksError as exc:
                self._note(StepResult(row=row, step=0, line=decide.line, command="if",
                                      verb="", noun="", state="failed", kind="if",
                                      scope=scope, error=exc.message, refused=True))
                raise _RowFailed() from None
            if holds:
                self._block(body, row, context, scope)
                return
        if decide.otherwise is not None:
            self._block(decide.otherwise, row, context, scope)

    def _holds(self, check: Any, context: Mapping[str, Any]) -> bool:
        if isinstance(check, Unless):
            return not self._holds(check.item, context)
        if isinstance(check, And):
            return all(self._holds(item, context) for item in check.items)
        if isinstance(check, Or):
            return any(self._holds(item, context) for item in check.items)
        if isinstance(check, Emptiness):
            found = self._resolve(check.ref, context)
            if isinstance(found, LazyRecords):
                some = bool(found.head(1)[0])
            else:
                some = any(True for _ in (found or ()))
            return some if check.negated else not some
        assert isinstance(check, Compare)
        left = check.left
        if isinstance(left, Tally):
            left = self._tally(left, context).amount(check.currency)
        elif isinstance(left, Ref):
            left = self._resolve(left, context)
            if check.currency and left is not None:
                self._same_currency(check, context)
        return _satisfies(left, self._values(check.where, context))

    def _count(self, tally: Tally, context: Mapping[str, Any]) -> Any:
        """A count or a sum as a text shows it (in a dry run, which fetches nothing, the
        words that say it)."""
        return Unknown(f"<{tally.raw}>") if self.dry_run else self._tally(tally, context)

    def _tally(self, tally: Tally, context: Mapping[str, Any]) -> Totals:
        """Count a list, or add up a field of its records (money per currency)."""
        found = self._resolve(tally.ref, context)
        records = found.stream() if isinstance(found, LazyRecords) else (found or ())
        totals = Totals(tally.kind)
        for record in records:
            if tally.kind == "number":
                totals.add(None, 1)
                continue
            data: Any = record.data if isinstance(record, Record) else record
            value: Any = data
            for part in tally.path:
                value = value.get(part) if isinstance(value, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                currency = data.get("currency") if tally.money and isinstance(data, Mapping) \
                    else None
                totals.add(currency if isinstance(currency, str) else None, value)
        return totals

    def _same_currency(self, check: Compare, context: Mapping[str, Any]) -> None:
        """An amount compared with money in another currency would compare nothing."""
        ref: Ref = check.left
        holder: Any = context.get(ref.noun)
        for part in ref.path[:-1]:
            data = holder.data if isinstance(holder, Record) else holder
            holder = data.get(part) if isinstance(data, Mapping) else None
        data = holder.data if isinstance(holder, Record) else holder
        currency = data.get("currency") if isinstance(data, Mapping) else None
        if isinstance(currency, str) and check.currency and \
                currency.lower() != check.currency.lower():
            raise StepInputError(f'"{ref.raw}" is in {currency.upper()}, but it is compared '
                                 f"with an amount in {check.currency.upper()}",
                                 hint="compare with an amount in its own currency")

    def _values(self, where: Any, context: Mapping[str, Any]) -> Any:
        if isinstance(where, Condition):
            value = where.value
            if isinstance(value, list):
                value = [self._resolve(v, context) if isinstance(v, Ref) else v
                         for v in value]
            elif isinstance(value, Ref):
                value = self._resolve(value, context)
            elif isinstance(value, Filled):
                value = value.fill(lambda ref: self._resolve(ref, context),
                                   lambda tally: self._count(tally, context))
            elif hasattr(value, "stamp"):  # a time said, found now
                value = value.stamp()
            return Condition(where.field, where.op, value)
        return type(where)(tuple(self._values(item, context) for item in where.items))

    def _output(self, output: Output, row: int, context: dict[str, Any],
                scope: tuple[str, ...]) -> None:
        if output.kind == "say":
            shown: Any = str(Filled(output.parts, output.text).fill(
                lambda ref: self._resolve(ref, context) if not self.dry_run or
                ref.noun == "row" else Unknown(f"<{ref.raw}>"),
                lambda tally: self._count(tally, context)))
        else:
            (part,) = output.parts
            if isinstance(part, Tally):
                shown = (Unknown(f"<{part.raw}>") if self.dry_run
                         else str(self._tally(part, context)))
            else:
                shown = self._resolve(part, context) if isinstance(part, Ref) else part
            if self.dry_run and isinstance(shown, _Placeholder):
                shown = Unknown(f"<{part.raw}>")
        self._note(StepResult(row=row, step=0, line=output.line, command=output.text,
                              verb="", noun="", state="said" if output.kind == "say"
                              else "shown", kind=output.kind, scope=scope, result=shown))

    # ------------------------------------------------------------------ one step

    def _run_step(self, step: Step, row: int, context: dict[str, Any],
                  scope: tuple[str, ...] = (), *, stream: bool = False) -> StepResult:
        """Run one step. ``scope``: the records of the loops it is in (its key and its
        place in the journal name them). ``stream``: a loop's get, whose records are read
        as the loop goes (not kept, not remembered)."""
        number = step.index + 1
        outcome = StepResult(row=row, step=number, line=step.line, command=step.text,
                             verb=step.verb, noun=step.noun, state="planned", scope=scope)
        where = scope_key(scope)
        key = self.keys.get((row, number, where)) or step_key(self.run_id, row, number,
                                                               where)
        restored = self.restored.get((row, number, where))
        if restored is not None:
            outcome.state = "restored"
            outcome.result = restored
            self._remember(step, restored, context)
            return outcome
        started = time.perf_counter()
        try:
            call = step.call(lambda ref: self._resolve(ref, context), key,
                             lambda tally: self._count(tally, context))
            if self.preview and step.verb != "get":
                outcome.plan = self.rt.plan(call)
                self._would(step, context)
                self._remember(step, _placeholder(step), context)
                return outcome
            if self.dry_run:
                outcome.plan = self.rt.plan(call)
                outcome.result = None
                if not stream:
                    self._remember(step, _placeholder(step), context)
                return outcome
            if self.journal:
                self.journal.start_step(self.run_id, row, number, step.line, step.text, key,
                                        reads_only=step.verb == "get", scope=where)
            value = self._dispatch(call, outcome, checked=not step.has_refs)
            if stream:
                outcome.state = "succeeded"
                outcome.result = _Stream(value)
                return outcome
            if step.many and value is not None and not isinstance(value, LazyRecords):
                value = LazyRecords(value)
            outcome.state = "succeeded"
            outcome.result = value
            self._remember(step, value, context)
            if self.journal:
                # What a write returned is kept for a resume to restore (a resume sends a
                # get again, since what it read may have changed).
                record = value if isinstance(value, Record) and step.verb != "get" else None
                self.journal.finish_step(
                    self.run_id, row, number, "succeeded", noun=step.noun, scope=where,
                    record_id=record.id if record else None,
                    result=(record.text if record.text is not None else dict(record.data))
                    if record is not None else None)
        except JournalError:
            raise  # the host cannot keep its record: stop the run, not just this step
        except Exception as exc:
            outcome.state = "failed"
            outcome.error, outcome.refused = failure_of(exc)
            if isinstance(exc, BookError):
                outcome.error_code = exc.code
                outcome.request_id = exc.request_id
            if self.journal:
                self.journal.finish_step(self.run_id, row, number,
                                         "refused" if outcome.refused else "failed",
                                         error=outcome.error, scope=where)
        finally:
            outcome.seconds = time.perf_counter() - started
        return outcome

    def _dispatch(self, call: Call, outcome: StepResult, *, checked: bool) -> Any:
        """Send ``call``. A failure its book calls passing is sent again, the same call with
        the same idempotency key (so a request that took effect before its answer was lost
        is answered, not repeated), after the retry policy's backoff."""
        while True:
            outcome.attempts += 1
            if self.limiter:
                self.limiter.acquire()
            sent = time.perf_counter()
            try:
                # (a destructive step on a live connection was confirmed before the run)
                return self.rt.dispatch(call, remember=False, yes=True, checked=checked)
            except BookError as exc:
                if not exc.retryable or outcome.attempts > self.retry.retries:
                    raise
            finally:
                self._timed(time.perf_counter() - sent)
            time.sleep(self.retry.wait(outcome.attempts))

    def _would(self, step: Step, context: Mapping[str, Any]) -> None:
        """Count a write a preview does not send, and the amount of the record it acts on
        (or of the record it makes, from its inputs) in its currency."""
        noun = self.rt.book(step.book).noun(step.noun)
        field = noun.amount if noun is not None else None
        acted = context.get(step.id.noun) if isinstance(step.id, Ref) else None
        data: Any = acted.data if isinstance(acted, Record) else None
        if data is None and field and field in step.fields:
            value = step.fields[field]
            data = {field: value if isinstance(value, int) else None,
                    "currency": step.fields.get("currency")}
        with self._lock:
            found = self.result.would.setdefault(
                (step.verb, step.noun), {"count": 0, "sums": {},
                                         "plural": noun.plural if noun else step.noun})
            found["count"] += 1
            amount = data.get(field) if isinstance(data, Mapping) and field else None
            currency = data.get("currency") if isinstance(data, Mapping) else None
            if isinstance(amount, int) and isinstance(currency, str):
                sums = found["sums"]
                sums[currency.lower()] = sums.get(currency.lower(), 0) + amount

    def _timed(self, seconds: float) -> None:
        # A moving average: it follows a service that slows down (or 429s being waited
        # out) within a few steps, without jumping at one slow answer.
        with self._lock:
            last = self.step_seconds
            self.step_seconds = seconds if last is None else 0.8 * last + 0.2 * seconds

    def _remember(self, step: Step, value: Any, context: dict[str, Any]) -> None:
        for name in step.produces:
            context[name] = value
        if isinstance(value, Record) and value.noun not in step.produces:
            context[value.noun] = value

    def _resolve(self, ref: Ref, context: Mapping[str, Any]) -> Any:
        """What ``ref`` names in this row's context now (converted for its input by the
        step)."""
        current = context.get(ref.noun)
        if (self.dry_run or self.preview) and ref.noun != "row" and (
                current is None or isinstance(current, _Placeholder)):
            return Unknown(f"<{ref.raw}>")
        if current is None:
            raise KbooksError(f'"{ref.raw}": no {ref.noun} was produced')
        walked: list[str] = []
        for part in ref.path:
            walked.append(part)
            if isinstance(current, Record):
                data: Any = current.data
            else:
                data = current
            if not isinstance(data, Mapping) or part not in data:
                shown = "'s ".join([f"the {ref.noun}", *walked])
                raise KbooksError(f'"{shown}" has no value'
                                  + (f" ({ref.noun} {current.id})"
                                     if isinstance(current, Record) else ""))
            current = data[part]
        if isinstance(current, Record):
            return current.id
        return current


class Totals:
    """A count, or sums per currency (None for numbers that are not money)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.sums: dict[str | None, float] = {}

    def add(self, currency: str | None, value: float) -> None:
        key = currency.lower() if currency else None
        self.sums[key] = self.sums.get(key, 0) + value

    def amount(self, currency: str | None) -> float:
        """The sum in ``currency`` (0 when none was in it); without a currency, the one
        sum there is (a count, plain numbers, or a single currency)."""
        if currency is not None:
            return self.sums.get(currency.lower(), 0)
        if len(self.sums) > 1:
            raise StepInputError("the total is in several currencies ("
                                 + ", ".join(sorted(str(c) for c in self.sums)) + ")",
                                 hint="compare it with an amount in one of them: $100.00")
        return next(iter(self.sums.values()), 0)

    def __str__(self) -> str:
        if self.kind == "number":
            return str(int(self.sums.get(None, 0)))
        if not self.sums:
            return "0"
        from .money import shown

        return ", ".join(shown(int(v), c) if c else f"{v:g}"
                         for c, v in sorted(self.sums.items(), key=lambda i: str(i[0])))


class _Stopped(Exception):
    """``stop``: the row ends here, as succeeded."""


class _RowFailed(Exception):
    """A step (or ``fail``) failed: the row ends here. ``before_start``: interrupted before
    anything of the row ran."""

    def __init__(self, *, before_start: bool = False) -> None:
        super().__init__()
        self.before_start = before_start


class _Stream:
    """A loop's records, read from the book as the loop goes; nothing is kept."""

    def __init__(self, source: Any) -> None:
        self._source = iter(source) if source is not None else iter(())

    def __iter__(self) -> Iterator[Record]:
        return self._source

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()


def failure_of(exc: BaseException) -> tuple[str, bool]:
    """What a step that raised ``exc`` failed with, and whether it was refused outright
    (took no effect). Only the book's service can have acted: the host's own refusals (a
    value that did not fit, a check) stop a step before anything is sent."""
    if isinstance(exc, BookError):
        return str(exc), exc.refused
    if isinstance(exc, KbooksError):
        return exc.message, True
    return f"{type(exc).__name__}: {exc}", False


def scope_key(scope: tuple[str, ...]) -> str:
    """The place of a step in loops, as its key and the journal name it: the ids of the
    loops' records, outermost first (hashed when long)."""
    if not scope:
        return ""
    joined = "-".join(scope)
    if len(joined) > 160:
        import hashlib

        joined = hashlib.sha256(joined.encode()).hexdigest()[:40]
    return joined


def _satisfies(actual: Any, where: Any) -> bool:
    """Whether the value ``actual`` meets ``where`` (conditions on the field ``value``):
    text compared without case, as ``whose`` compares it."""
    if isinstance(where, And):
        return all(_satisfies(actual, item) for item in where.items)
    if isinstance(where, Or):
        return any(_satisfies(actual, item) for item in where.items)
    op, wanted = where.op, where.value
    if isinstance(actual, Record):
        actual = actual.id
    if op == "one of":
        return any(_same(actual, item) for item in wanted or ())
    if op in ("is", "is not"):
        return _same(actual, wanted) == (op == "is")
    if op in (">", "<", ">=", "<="):
        try:
            left, right = float(actual), float(wanted)
        except (TypeError, ValueError):
            return False
        return {">": left > right, "<": left < right, ">=": left >= right,
                "<=": left <= right}[op]
    text = "" if actual is None else str(actual).casefold()
    part = str(wanted).casefold()
    positive = op.replace("does not ", "").replace("contain", "contains").replace(
        "containss", "contains").replace("start with", "starts with").replace(
        "end with", "ends with")
    found = (part in text if positive == "contains" else
             text.startswith(part) if positive == "starts with" else text.endswith(part))
    return found if not op.startswith("does not") else not found


def _same(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.casefold() == wanted.casefold()
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return actual is wanted
    if isinstance(actual, (int, float)) and isinstance(wanted, (int, float)):
        return actual == wanted
    return bool(actual == wanted)


class _Placeholder:
    """Stands for a result in a dry run, where nothing is fetched or created."""

    def __init__(self, noun: str) -> None:
        self.noun = noun


def _placeholder(step: Step) -> _Placeholder:
    return _Placeholder(step.noun)


def summarize(value: Any, limit: int = 5) -> str:
    """A short human line for a step's result: a list shows its first ``limit`` records
    and, when it holds more, how many (see :func:`shown_of`)."""
    if isinstance(value, Record):
        return describe_record(value)
    if isinstance(value, LazyRecords):
        head, more = value.head(limit)
        if not head:
            return "none found"
        shown = "; ".join(describe_record(r) for r in head)
        return f"{shown}; … {shown_of(len(head), value)}" if more else shown
    return "" if value is None else str(value)


#: How many records of a list are read to count it for a human (one page of Stripe's):
#: "5 of 37 shown" when the list ends before, "5 of 100 or more shown" otherwise, so that
#: the line never fetches every page of a long list.
COUNT_UPTO = 100


def shown_of(shown: int, records: LazyRecords) -> str:
    """``"5 of 37 shown"``: ``shown`` records out of ``records``, counted up to
    :data:`COUNT_UPTO` (``"5 of 100 or more shown"`` past it)."""
    count, complete = records.count(COUNT_UPTO)
    return f"{shown} of {count if complete else f'{count} or more'} shown"


_NOTABLE = ("email", "name", "status", "unit_amount", "amount", "amount_due", "total",
            "currency", "description", "deleted")


def describe_record(record: Record) -> str:
    parts = [f"{record.noun} {record.id}" if record.id else record.noun]
    for key in _NOTABLE:
        value = record.data.get(key)
        if value not in (None, "", [], {}):
            parts.append(f"{key}={value}")
    return " ".join(parts)


def record_json(value: Any) -> Any:
    """JSON-ready form of a step result."""
    if isinstance(value, Record):
        return dict(value.data)
    if isinstance(value, LazyRecords):
        return [dict(r.data) for r in value]
    return value
