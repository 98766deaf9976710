"""The run journal: what each run did, step by step, so a run can be resumed.

One SQLite file, ``runs.sqlite``, in the kbooks home (mode 0600). A step is written as
*started* (with its idempotency key) before its request goes out and as *succeeded* or
*failed* after, so after a crash the journal knows which steps took effect, which did not,
and which were in flight; re-sending an in-flight step with the same idempotency key lets the
service answer with its first result instead of acting twice. Credentials never go in here.

A run in progress is held by the process running it. Each process that runs anything holds
an exclusive lock on its own file, ``locks/<owner>.lock`` in the same home, for as long as
its journal is open, and the journal records which owner runs each run. The operating system
drops the lock when the process ends, however it ends (even ``kill -9``), so a run recorded
as running whose owner's lock is free is shown as *stopped*: the journal never claims that a
dead process is still working. A run is taken over (resumed) in one write transaction that
checks its owner is gone, so a run is never resumed twice at once. A run costs no file
operations of its own.

That file is also the process's log. Before a write step's request goes out, its *started*
and every write waiting before it (the run's start, earlier steps' outcomes) are appended
to it as one record (``marshal``, framed with its length and CRC-32): one ``write`` call,
no transaction. The writer thread commits what waits to ``runs.sqlite`` every
:data:`WRITE_DELAY` while there is something, records in the ``owners`` table how much of
the log that covered, and empties the log; the rest is committed when the journal is closed
or the process exits. Reads from this journal commit what waits first. A get's start is not
logged (a read is safe to send again) and a get's result is not kept (a resume reads it
again). When a process finds another's log with its lock free, that process died: it adds
the records the dead one had not committed to the journal, stops at a record cut short by
the death (that step was never sent), and removes the file. So a crash loses nothing a
resume needs: a step whose outcome was lost reads as in flight, which a resume re-sends with
its idempotency key (the service answers with its first result, so nothing is done twice);
a run that never sent a write is lost whole, which loses nothing (it changed nothing).
Durability is SQLite's with ``synchronous=NORMAL`` for both: a process's death loses
nothing written; a power cut may lose the last writes.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import marshal
import os
import random
import struct
import sys
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .credentials import ensure_private_dir
from .model import ConfigurationError

if TYPE_CHECKING:
    import sqlite3

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Unix: liveness is not known
    fcntl = None  # type: ignore[assignment]

JOURNAL_NAME = "runs.sqlite"
LOCK_DIR = "locks"
#: seconds between the writer thread's looks for writes to commit
WRITE_DELAY = 0.05
#: seconds with nothing to write after which the writer thread ends
WRITER_IDLE = 1.0

#: journals open in this process: their waiting writes are committed at exit
_OPEN: weakref.WeakSet[Journal] = weakref.WeakSet()
#: the journal of each home, shared by the runtimes of this process (see Journal.of)
_SHARED: dict[Path, Journal] = {}
_SHARED_LOCK = threading.Lock()


class JournalError(ConfigurationError):
    """The journal file cannot be read or written (damaged, or the disk is full)."""


@atexit.register
def _close_all() -> None:
    for journal in list(_OPEN):
        told = journal.failure
        try:
            journal.close()
        except JournalError as exc:  # the process is ending: say so (once) and go on
            if exc.message != told:
                print(f"kbooks: {exc.message}", file=sys.stderr)


def _forget_after_fork() -> None:
    # A forked child must not use its parent's SQLite connection, lock or log, nor claim its
    # runs: each journal starts afresh in the child.
    for journal in list(_OPEN):
        inherited = journal._owner
        journal._start()
        if inherited is not None:
            with contextlib.suppress(OSError):
                os.close(inherited[1])  # (the parent's lock stays the parent's)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)

#: The journal's tables, as a new journal gets them (with every column of _COLUMNS).
_TABLES = {
    "runs": """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        text TEXT NOT NULL,
        connection TEXT,
        mode TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL,
        started REAL NOT NULL,
        finished REAL,
        error TEXT,
        owner TEXT
    )""",
    "steps": """CREATE TABLE steps (
        run_id TEXT NOT NULL REFERENCES runs(id),
        row INTEGER NOT NULL,
        step INTEGER NOT NULL,
        line INTEGER NOT NULL,
        command TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        state TEXT NOT NULL,
        noun TEXT,
        record_id TEXT,
        result TEXT,
        error TEXT,
        started REAL NOT NULL,
        finished REAL,
        PRIMARY KEY (run_id, row, step)
    )""",
    # A step inside loops, once for each record: ``scope`` names the records (see
    # automation.scope_key).
    "iterations": """CREATE TABLE iterations (
        run_id TEXT NOT NULL REFERENCES runs(id),
        row INTEGER NOT NULL,
        step INTEGER NOT NULL,
        scope TEXT NOT NULL,
        line INTEGER NOT NULL,
        command TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        state TEXT NOT NULL,
        noun TEXT,
        record_id TEXT,
        result TEXT,
        error TEXT,
        started REAL NOT NULL,
        finished REAL,
        PRIMARY KEY (run_id, row, step, scope)
    )""",
    "owners": """CREATE TABLE owners (
        owner TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    )""",
}

#: Columns added to a table after journals were first written, as (table, column,
#: declaration), oldest first: a journal that lacks one is given it when it is opened. A new
#: column goes both here and in its table above, declared so that ``ALTER TABLE ... ADD
#: COLUMN`` can add it (nullable, or NOT NULL with a constant DEFAULT; no key).
_COLUMNS = (
    ("runs", "owner", "TEXT"),  # which process runs the run (see Journal.hold)
)

#: seconds a process waits for another's write transaction before it gives up
BUSY_TIMEOUT = 30.0


def _sqlite() -> Any:
    """The sqlite3 module, imported when the journal is first opened (a command or run that
    keeps nothing in it never loads SQLite)."""
    import sqlite3

    return sqlite3


def _lacking(db: sqlite3.Connection) -> list[str]:
    """The statements that give the journal the tables and columns it lacks."""
    have = {table: {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for table in _TABLES}
    return [*(create for table, create in _TABLES.items() if not have[table]),
            *(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}"
              for table, column, declaration in _COLUMNS
              if have[table] and column not in have[table])]


def _bring_up_to_date(db: sqlite3.Connection) -> None:
    """Create the tables and add the columns the journal lacks. All of it is one write
    transaction that reads what is there again once it holds the lock: processes opening
    the journal at once take their turns, and each finds what the one before it made."""
    if not _lacking(db):  # (what every open but the first finds: no write lock taken)
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in _lacking(db):
            db.execute(statement)
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(_sqlite().Error):
            db.execute("ROLLBACK")
        raise


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch the journal to WAL (a no-op once it is). Switching reads the file, then
    writes to it, and SQLite does not wait for a lock a connection that holds a read lock
    asks for (its busy timeout does not apply: two such waits could be a deadlock), so
    processes switching a new journal at once would fail with "database is locked". Here
    the switch is tried again, from scratch, as the busy timeout would wait."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    pause = 0.001
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except _sqlite().OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != _sqlite().SQLITE_BUSY \
                    or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)  # (another process is switching it: a moment, then it is WAL)
        pause = min(pause * 2, 0.05)


#: Every write the journal makes, by name (the name is what a log records).
_WRITES = {
    "start_run": "INSERT INTO runs (id, source, text, connection, mode, options, state, "
                 "started, owner) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
    "finish_run": "UPDATE runs SET state=?, finished=?, error=? WHERE id=?",
    "interrupted": "UPDATE runs SET state='interrupted', finished=? "
                   "WHERE id=? AND state='running'",
    "start_step": "INSERT INTO steps (run_id, row, step, line, command, idempotency_key, "
                  "state, started) VALUES (?, ?, ?, ?, ?, ?, 'started', ?) "
                  "ON CONFLICT(run_id, row, step) DO UPDATE SET state='started', "
                  "started=excluded.started, error=NULL, "
                  "idempotency_key=excluded.idempotency_key",
    "finish_step": "UPDATE steps SET state=?, noun=?, record_id=?, result=?, error=?, "
                   "finished=? WHERE run_id=? AND row=? AND step=?",
    "start_iteration": "INSERT INTO iterations (run_id, row, step, scope, line, command, "
                       "idempotency_key, state, started) VALUES (?, ?, ?, ?, ?, ?, ?, "
                       "'started', ?) ON CONFLICT(run_id, row, step, scope) DO UPDATE SET "
                       "state='started', started=excluded.started, error=NULL, "
                       "idempotency_key=excluded.idempotency_key",
    "finish_iteration": "UPDATE iterations SET state=?, noun=?, record_id=?, result=?, "
                        "error=?, finished=? WHERE run_id=? AND row=? AND step=? AND scope=?",
    "set_text": "UPDATE runs SET source=?, text=? WHERE id=?",
}


@attrs.frozen
class RunInfo:
    """A run as the journal knows it.

    ``state``: ``running``, ``succeeded``, ``failed``, ``interrupted`` (stopped by Ctrl-C or
    an error of the host), or ``stopped`` (recorded as running, but no process runs it: it
    was killed, or the machine went down).
    """

    id: str
    source: str
    state: str
    started: float
    finished: float | None
    connection: str | None
    mode: str | None
    error: str | None
    steps_done: int
    steps_failed: int
    text: str = attrs.field(repr=False)
    options: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class StepInfo:
    """One step of one row of a run. ``state``: ``started`` (sent, or about to be; its
    outcome not known), ``succeeded``, ``failed`` (without a definite answer: it may have
    taken effect), ``refused`` (failed, and took no effect: refused by the service, or
    stopped before it was sent; a resume sends it with a new idempotency key)."""

    row: int
    step: int
    line: int
    command: str
    idempotency_key: str
    state: str
    noun: str | None
    record_id: str | None
    result: dict[str, Any] | None
    error: str | None
    #: in loops, the ids of the loops' records (see automation.scope_key); "" outside
    scope: str = ""


def _encoded(args: tuple[Any, ...] | list[Any]) -> tuple[Any, ...]:
    """A write's arguments as SQLite takes them: a dict (a run's options) as JSON."""
    return tuple(json.dumps(a) if isinstance(a, dict) else a for a in args)


_HEADER = struct.Struct("<II")  # a log record's length and CRC-32


def _frame(seq: int, writes: list[tuple[str, tuple[Any, ...]]]) -> bytes:
    """One batch of a log: ``marshal`` (plain values only: strings, numbers, None, and the
    lists and dicts of a run's options), framed with its length and checksum so a record cut
    short by a dying process is known."""
    payload = marshal.dumps((seq, writes))
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def _unframe(kept: bytes) -> Iterator[tuple[int, list[tuple[str, tuple[Any, ...]]]]]:
    """The whole batches of a log, in order, up to the first one cut short."""
    at = 0
    while at + _HEADER.size <= len(kept):
        size, crc = _HEADER.unpack_from(kept, at)
        payload = kept[at + _HEADER.size:at + _HEADER.size + size]
        if len(payload) < size or zlib.crc32(payload) != crc:
            return  # cut short as its process died writing it: that step was never sent
        try:
            seq, writes = marshal.loads(payload)
        except (ValueError, EOFError, TypeError):
            return
        yield seq, writes
        at += _HEADER.size + size


def new_run_id() -> str:
    return f"run_{random.getrandbits(64):016x}"  # (reseeded in a forked child)


def step_key(run_id: str, row: int, step: int, scope: str = "") -> str:
    """The idempotency key of one step: stable across retries and resumes of that run. In a
    loop, ``scope`` (the ids of the loops' records) makes it the step's for that record:
    not its place in the list, so a record added meanwhile changes no other's key."""
    return f"kbooks-{run_id}-r{row}-s{step}" + (f"-{scope}" if scope else "")


class Journal:
    """Reads and writes the run journal under ``home``."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / JOURNAL_NAME
        #: the last error the journal raised (not repeated when the process ends)
        self.failure: str | None = None
        self._start()
        _OPEN.add(self)

    def _start(self) -> None:
        """This process's state of the journal, as it is before first use."""
        self._db: sqlite3.Connection | None = None
        # One connection shared by the threads of a concurrent run and the writer thread:
        # its use is serialized by _db_lock. _lock guards the rest (what waits, the log,
        # the runs held), briefly, so a run never waits for a commit. (Taken in that order.)
        self._db_lock = threading.RLock()
        self._lock = threading.RLock()
        #: writes waiting for the next commit, as (name in _WRITES, arguments)
        self._waiting: list[tuple[str, tuple[Any, ...]]] = []
        #: how many of the waiting writes (from the first) are in this journal's log
        self._logged = 0
        #: number of the last batch put in the log
        self._seq = 0
        self._writer: threading.Thread | None = None
        #: this journal's log, locked while it is open: (owner name, file descriptor)
        self._owner: tuple[str, int] | None = None
        self._active: set[str] = set()  # runs held by this journal now
        self._ended: set[str] = set()  # runs whose end was recorded while held

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    @classmethod
    def of(cls, home: Path) -> Journal:
        """The journal of ``home`` for this process: one connection, one log and one
        writer however many runtimes use it, kept (and its waiting writes with it) until
        the process exits."""
        key = Path(home).absolute()
        with _SHARED_LOCK:
            journal = _SHARED.get(key)
            if journal is None:
                journal = _SHARED[key] = cls(key)
            return journal

    @classmethod
    def release(cls, home: Path) -> None:
        """Close the shared journal of ``home`` (if this process opened it): its waiting
        writes are committed and its runs are no longer held."""
        with _SHARED_LOCK:
            journal = _SHARED.pop(Path(home).absolute(), None)
        if journal is not None:
            journal.close()

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (_sqlite().Error, OSError) as exc:
            self.failure = f"the run journal {self.path} cannot be used: {exc}"
            raise JournalError(
                self.failure,
                hint="if it is damaged, move it aside to start a new one (the runs in it "
                     "can then not be resumed)") from exc

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Run ``sql`` now (after any waiting writes, in the same transaction)."""
        with self._db_lock, self._guard():
            if not self._waiting:
                return self.db.execute(sql, args).fetchall()
            return self._transaction(lambda db: db.execute(sql, args).fetchall())

    def _transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Do the waiting writes, then ``work``, in one write transaction."""
        with self._db_lock, self._guard():
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            with self._lock:  # what waits now goes in; what comes meanwhile waits
                waiting, self._waiting = self._waiting, []
                logged, self._logged = self._logged, 0
                seq = self._seq
            try:
                for name, args in waiting:
                    db.execute(_WRITES[name], _encoded(args))
                if logged:
                    # how much of the log is now in the journal, should this process die
                    # before it empties its log below
                    db.execute("INSERT INTO owners (owner, seq) VALUES (?, ?) "
                               "ON CONFLICT(owner) DO UPDATE SET seq=excluded.seq",
                               (self.owner(), seq))
                done = work(db)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(_sqlite().Error):
                    db.execute("ROLLBACK")
                with self._lock:
                    self._waiting[:0] = waiting  # kept for the next commit
                    self._logged = 0  # (logged again with it: a second copy does no harm)
                raise
            if logged:
                with self._lock:
                    if self._seq == seq and self._owner is not None:
                        # all of the log is in the journal now (else it is emptied next time)
                        os.ftruncate(self._owner[1], 0)
            return done

    def _later(self, name: str, args: tuple[Any, ...], *, soon: bool = False) -> None:
        """Write ``name`` (one of _WRITES) with the next commit; ``soon``: have the writer
        thread commit it in a moment rather than wait for the next step."""
        with self._lock:
            self._waiting.append((name, args))
            if soon:
                self._kick()

    def _keep(self) -> None:
        """Put the waiting writes in this journal's log, so that they outlive this process
        (the next process to find it dead adds them to the journal); the writer thread
        commits them in a moment."""
        with self._lock, self._guard():
            fresh = self._waiting[self._logged:]
            if not fresh:
                return
            self._seq += 1
            record = _frame(self._seq, fresh)
            fd = self._own()[1]
            while record:
                record = record[os.write(fd, record):]
            self._logged = len(self._waiting)
            self._kick()

    def _kick(self) -> None:
        """Have the writer thread commit what waits, within :data:`WRITE_DELAY`."""
        # (called holding self._lock) The thread looks on its own, every WRITE_DELAY, for
        # as long as there is something to write: no thread is woken for each write.
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_soon, daemon=True,
                                            name="kbooks-journal")
            self._writer.start()

    def _write_soon(self) -> None:
        idle = 0
        while True:
            time.sleep(WRITE_DELAY)
            with self._lock:
                if not self._waiting:
                    idle += 1
                    if self._db is None or idle * WRITE_DELAY >= WRITER_IDLE:
                        self._writer = None  # the next write starts another
                        return
                    continue
            idle = 0
            # On failure the writes are left waiting: the next commit (a read, close)
            # tries again and reports the error to its caller.
            with contextlib.suppress(JournalError):
                self.flush()

    def flush(self) -> None:
        """Commit the writes that are waiting."""
        with self._db_lock:
            if self._waiting:
                self._transaction(lambda db: None)

    @property
    def db(self) -> sqlite3.Connection:
        with self._db_lock:
            return self._open()

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            ensure_private_dir(self.path.parent)
            fresh = not self.path.exists()
            if fresh:
                # Create the file with 0600 before SQLite opens it.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(self.path, 0o600)
            db = _sqlite().connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT,
                                   check_same_thread=False)
            try:
                _use_wal(db)
                db.execute("PRAGMA synchronous=NORMAL")
                _bring_up_to_date(db)
            except BaseException:
                db.close()
                raise
            for suffix in ("-wal", "-shm"):
                # (gone again if the last other connection closed meanwhile)
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(self.path.with_name(self.path.name + suffix), 0o600)
            self._db = db
            self._collect()  # what processes that died left in their logs
        return self._db

    def close(self) -> None:
        """Commit what is waiting and let go of the journal (and of this journal's log:
        runs it recorded as running read as stopped from now on)."""
        with self._db_lock, self._lock:
            try:
                self.flush()
                if self._owner is not None and self._db is not None and self._seq:
                    self._exec("DELETE FROM owners WHERE owner=?", (self._owner[0],))
            finally:
                if self._db is not None:
                    self._db.close()
                    self._db = None
                if self._owner is not None:
                    name, fd = self._owner
                    self._owner = None
                    if not self._waiting:
                        # Removed while locked: nobody can find it free and think it live.
                        # (Kept if writes are left: the next process adds them.)
                        self._log_path(name).unlink(missing_ok=True)
                    os.close(fd)
                    self._seq = self._logged = 0
        _OPEN.discard(self)

    # ------------------------------------------------------------------ liveness

    def _log_path(self, owner: str) -> Path:
        return self.path.parent / LOCK_DIR / f"{owner}.lock"

    def owner(self) -> str:
        """The name this journal records as the owner of the runs it holds."""
        return self._own()[0]

    def _own(self) -> tuple[str, int]:
        """This journal's name and log, made and locked on first use and held until
        :meth:`close` (a forked child starts its own: see _forget_after_fork)."""
        mine = self._owner
        if mine is not None:
            return mine
        with self._lock:
            if self._owner is not None:
                return self._owner
            name = f"{os.getpid()}-{os.urandom(4).hex()}"
            folder = ensure_private_dir(self.path.parent / LOCK_DIR)
            temporary = folder / f".{name}.tmp"
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            if fcntl is not None:
                # Locked before it has its name, so no one ever finds it free while we live.
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(temporary, self._log_path(name))
            self._owner = (name, fd)
            return self._owner

    @contextlib.contextmanager
    def hold(self, run_id: str, *, resume: bool = False) -> Iterator[None]:
        """Mark ``run_id`` as run by this journal (this process) during the block. With
        ``resume``, take over a run recorded earlier, refusing (:class:`ConfigurationError`)
        one that succeeded or that another live process is running. A run whose end was
        not recorded by the time the block ends is recorded as interrupted."""
        owner = self.owner()
        if self._db is None:  # (once: not waiting for the writer thread's commit)
            with self._db_lock, self._guard():
                self._open()  # a journal that cannot be written is found before any request
        if run_id in self._active:
            raise ConfigurationError(f"run {run_id} is already running here",
                                     hint="wait for it to finish")
        if resume:
            self._transaction(lambda db: self._take_over(db, run_id, owner))
        with self._lock:
            if run_id in self._active:
                raise ConfigurationError(f"run {run_id} is already running here",
                                         hint="wait for it to finish")
            self._active.add(run_id)
            self._ended.discard(run_id)
        try:
            yield
        finally:
            with self._lock:
                self._active.discard(run_id)
                if run_id not in self._ended:
                    self._later("interrupted", (time.time(), run_id), soon=True)
                self._ended.discard(run_id)

    def _take_over(self, db: sqlite3.Connection, run_id: str, owner: str) -> None:
        found = db.execute("SELECT state, owner FROM runs WHERE id=?", (run_id,)).fetchall()
        if not found:
            raise ConfigurationError(f"no run {run_id!r} in the journal",
                                     hint="kbooks runs lists the runs")
        state, holder = found[0]
        if state == "running" and self._owner_alive(holder, run_id):
            raise ConfigurationError(
                f"run {run_id} is running in another process",
                hint="wait for it to finish; kbooks runs shows its state")
        # (read again: finding its process dead added what it had left in its log)
        state = db.execute("SELECT state FROM runs WHERE id=?", (run_id,)).fetchone()[0]
        if state == "succeeded":
            raise ConfigurationError(f"run {run_id} already finished successfully")
        db.execute("UPDATE runs SET state='running', owner=?, finished=NULL, error=NULL "
                   "WHERE id=?", (owner, run_id))

    def alive(self, run_id: str) -> bool | None:
        """Whether a process is running ``run_id`` now (None where that cannot be known)."""
        self._collect()
        found = self._exec("SELECT state, owner FROM runs WHERE id=?", (run_id,))
        if not found or found[0][0] != "running":
            return False
        return self._owner_alive(found[0][1], run_id)

    def owner_alive(self, owner: str) -> bool:
        """Whether the process that is journal owner ``owner`` still lives (its lock is
        held); True where that cannot be known, so that nothing is taken from the living."""
        if self._owner is not None and owner == self._owner[0]:
            return True
        if fcntl is None:  # pragma: no cover
            return True
        return self._probe(self._log_path(owner))

    def _owner_alive(self, owner: str | None, run_id: str) -> bool | None:
        """Whether the process recorded as running ``run_id`` is still running it."""
        if self._owner is not None and owner == self._owner[0]:
            return run_id in self._active
        if fcntl is None:  # pragma: no cover
            return None
        # (A journal written before runs had owners locked one file per run.)
        return self._probe(self._log_path(owner if owner is not None else run_id))

    def _collect(self) -> None:
        """Add to the journal what dead processes left in their logs."""
        if fcntl is None:  # pragma: no cover - cannot tell the dead from the living
            return
        try:
            found = list(os.scandir(self.path.parent / LOCK_DIR))
        except (FileNotFoundError, NotADirectoryError):  # (the home is checked on opening)
            return
        mine = self._owner[0] if self._owner is not None else None
        for entry in found:
            if entry.name.endswith(".lock") and entry.name[:-5] != mine:
                self._probe(Path(entry.path))

    def _probe(self, path: Path) -> bool:
        """Whether the process of the log at ``path`` lives. A dead one's log is added to
        the journal and removed (while locked by this probe, so no other prober takes it
        for live and no write is added twice)."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            with os.fdopen(os.dup(fd), "rb") as log:
                kept = log.read()
            if kept:
                owner = path.name[:-len(".lock")]
                with self._db_lock:
                    db = self.db
                    if db.in_transaction:  # (taking a run over)
                        self._replay(db, owner, kept)
                    else:
                        self._transaction(lambda db: self._replay(db, owner, kept))
            path.unlink(missing_ok=True)
            return False
        finally:
            os.close(fd)  # closing drops the probe's own lock

    def _replay(self, db: sqlite3.Connection, owner: str, kept: bytes) -> None:
        """Add the batches of a dead process's log that its journal had not committed."""
        row = db.execute("SELECT seq FROM owners WHERE owner=?", (owner,)).fetchone()
        applied = row[0] if row else 0
        for seq, writes in _unframe(kept):
            if seq <= applied:
                continue
            for name, args in writes:
                if name in _WRITES:
                    with contextlib.suppress(_sqlite().IntegrityError):
                        db.execute(_WRITES[name], _encoded(args))
        db.execute("DELETE FROM owners WHERE owner=?", (owner,))

    # ------------------------------------------------------------------ runs

    def start_run(self, run_id: str, source: str, text: str, *, connection: str | None,
                  mode: str | None, options: dict[str, Any]) -> None:
        # Kept with its first write step (see the module's docstring). ``options`` is
        # encoded when written, off the caller's time; rows given from Python may hold any
        # value, so those are made plain now (once for a whole bulk run).
        if options.get("rows") is not None:
            options = json.loads(json.dumps(options, default=str))
        self._later("start_run", (run_id, source, text, connection, mode, options,
                                  time.time(), self.owner()))

    def finish_run(self, run_id: str, state: str, error: str | None = None) -> None:
        """Record how the run ended; committed by the writer thread, off the caller's time."""
        with self._lock:
            self._later("finish_run", (state, time.time(), error, run_id), soon=True)
            self._ended.add(run_id)

    def set_text(self, run_id: str, source: str, text: str) -> None:
        """Record the automation a resume goes on with (an edited one)."""
        self._later("set_text", (source, text, run_id))

    def run(self, run_id: str) -> RunInfo | None:
        for info in self._runs("WHERE r.id = ?", (run_id,)):
            return info
        return None

    def runs(self, limit: int = 50) -> list[RunInfo]:
        return list(self._runs("ORDER BY r.started DESC LIMIT ?", (limit,)))

    def _runs(self, tail: str, args: tuple[Any, ...]) -> Iterator[RunInfo]:
        self._collect()
        rows = self._exec(
            "SELECT r.id, r.source, r.state, r.started, r.finished, r.connection, r.mode, "
            "r.error, r.text, r.options, "
            "(SELECT COUNT(*) FROM steps s WHERE s.run_id = r.id AND s.state='succeeded') + "
            "(SELECT COUNT(*) FROM iterations i WHERE i.run_id = r.id "
            "AND i.state='succeeded'), "
            "(SELECT COUNT(*) FROM steps s WHERE s.run_id = r.id "
            "AND s.state IN ('failed', 'refused')) + "
            "(SELECT COUNT(*) FROM iterations i WHERE i.run_id = r.id "
            "AND i.state IN ('failed', 'refused')), "
            f"r.owner FROM runs r {tail}", args)
        for row in rows:
            state = row[2]
            if state == "running" and self._owner_alive(row[12], row[0]) is False:
                # recorded as running, but no process holds it: it died mid-run
                state = "stopped"
            yield RunInfo(id=row[0], source=row[1], state=state, started=row[3],
                          finished=row[4], connection=row[5], mode=row[6], error=row[7],
                          text=row[8], options=json.loads(row[9] or "{}"),
                          steps_done=row[10], steps_failed=row[11])

    # ------------------------------------------------------------------ steps

    def start_step(self, run_id: str, row: int, step: int, line: int, command: str,
                   key: str, *, reads_only: bool = False, scope: str = "") -> None:
        """Record a step as started: kept beyond this process (in its log) before the
        request goes out, with everything waiting before it, unless it ``reads_only`` (a
        read sent twice does no harm, so it waits). ``scope``: its record in loops."""
        with self._lock:
            if scope:
                self._later("start_iteration", (run_id, row, step, scope, line, command, key,
                                                time.time()))
            else:
                self._later("start_step", (run_id, row, step, line, command, key,
                                           time.time()))
            if not reads_only:
                self._keep()

    def finish_step(self, run_id: str, row: int, step: int, state: str, *,
                    noun: str | None = None, record_id: str | None = None,
                    result: dict[str, Any] | str | None = None,
                    error: str | None = None, scope: str = "") -> None:
        """Record how a step ended; ``result`` is what it returned, as a dict or as the JSON
        text the service sent (kept as it is)."""
        if result and not isinstance(result, str):
            result = json.dumps(result, default=str)
        if scope:
            self._later("finish_iteration", (state, noun, record_id, result or None, error,
                                             time.time(), run_id, row, step, scope))
            return
        self._later("finish_step", (state, noun, record_id, result or None, error,
                                    time.time(), run_id, row, step))

    def steps(self, run_id: str) -> list[StepInfo]:
        self._collect()
        rows = self._exec(
            "SELECT row, step, line, command, idempotency_key, state, noun, record_id, "
            "result, error, '', started FROM steps WHERE run_id=? UNION ALL "
            "SELECT row, step, line, command, idempotency_key, state, noun, record_id, "
            "result, error, scope, started FROM iterations WHERE run_id=? ORDER BY 1, 12, 2",
            (run_id, run_id))
        return [StepInfo(row=r[0], step=r[1], line=r[2], command=r[3], idempotency_key=r[4],
                         state=r[5], noun=r[6], record_id=r[7],
                         result=json.loads(r[8]) if r[8] else None, error=r[9], scope=r[10])
                for r in rows]
