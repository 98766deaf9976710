"""The Runtime: installed books, their connections, and calling procedures by name.

    from kognitos_books import Runtime
    rt = Runtime()
    customer = rt.call("create a customer in stripe", email="jo@example.com", name="Jo")
    rt.call("delete a customer in stripe", id=customer.id)

Each result is remembered under its noun, so ``rt.call("send the invoice")`` acts on the
invoice the runtime saw last.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .automation import (
    DESTRUCTIVE,
    Execution,
    NeedsConfirmation,
    Progress,
    RetryPolicy,
    RunResult,
    StepResult,
)
from .credentials import CredentialStore, ask_credentials, env_name
from .journal import Journal, new_run_id
from .model import (
    And,
    Book,
    Call,
    Condition,
    ConfigurationError,
    Connection,
    CredentialsRejected,
    Field,
    Filter,
    InvalidCall,
    NotConnected,
    Noun,
    Plan,
    Problem,
    Procedure,
    Record,
    Secret,
    UnknownProcedure,
)
from .plugins import BookStatus, Plugins

if TYPE_CHECKING:
    from .checker import Step

#: Default steps per second of a bulk run, by mode (the service's own rate limits).
TEST_RATE = 25
LIVE_RATE = 100
#: Checked automations a runtime keeps, by text: running a text again (in a loop, say)
#: skips reading and checking it.
CHECKED_KEPT = 256
#: Procedure names a runtime remembers the answer for.
NAMES_KEPT = 1024

_DETERMINERS = {"a", "an", "the", "some", "all", "every"}
_PLURAL_DETERMINERS = {"all", "some", "every"}
RECORD_HOOKS = {"get": "get", "create": "create", "update": "update", "delete": "delete"}


def hook_for(verb: str) -> str:
    """The hook that carries out ``verb``: record duties by name, the rest are actions."""
    return RECORD_HOOKS.get(verb, "invoice_action")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def english_for(book: Book, noun: Noun, verb: str, many: bool = False) -> str:
    """How an automation says ``verb`` on ``noun``: ``create a customer in stripe``."""
    target = book.target
    if verb == "get":
        if many:
            return f"get all {noun.plural} from {target}"
        return f"get {_article(noun.name)} {noun.name} from {target}"
    if verb in RECORD_HOOKS:
        return f"{verb} {_article(noun.name)} {noun.name} in {target}"
    if verb == "add" and noun.parent:
        return f"add {_article(noun.name)} {noun.name} to the {noun.parent}"
    if "_" in verb:
        head, _, tail = verb.partition("_")
        return f"{head} the {noun.name} as {tail.replace('_', ' ')}"
    return f"{verb} the {noun.name}"


def normalize_phrase(text: str) -> str:
    """Compare procedure names loosely: case, spacing and articles do not matter."""
    words = text.lower().replace("_", " ").split()
    return " ".join(w for w in words if w not in _DETERMINERS)


def field_key(name: str) -> str:
    """``Unit Amount`` and ``unit_amount`` name the same field."""
    return "_".join(name.strip().lower().replace("-", "_").split())


class Runtime:
    """Books, connections and procedure calls, from Python.

    ``home`` is the kbooks home (credential store, journal); ``connection`` picks a
    stored connection by name instead of each book's default.
    """

    def __init__(self, *, home: str | Path | None = None, plugins: Plugins | None = None,
                 connection: str | None = None) -> None:
        self.store = CredentialStore(Path(home) if home is not None else None)
        self.plugins = plugins or Plugins()
        self.connection_name = connection
        self.context: dict[str, Any] = {}
        self._connections: dict[str, Connection] = {}
        self._inputs: dict[tuple[str, str, str], tuple[Field, ...]] = {}
        self._journal: Journal | None = None
        # Derived from the books, so kept until they change (see _fresh).
        self._generation = -1
        self._procedures: dict[tuple[str | None, bool], list[Procedure]] = {}
        self._named: dict[str, Procedure] = {}
        self._checked: OrderedDict[tuple[Any, ...], list[Step]] = OrderedDict()
        self._checked_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Runtime(home={str(self.store.home)!r})"

    # ------------------------------------------------------------------ books

    def books(self) -> list[BookStatus]:
        """Every book found, with its state (ok, broken, disabled)."""
        return self.plugins.statuses()

    def book(self, name: str) -> Book:
        """A working book by name or target word."""
        return self.plugins.book(name)

    def _fresh(self) -> None:
        """Drop what was derived from the books if they have changed since."""
        self.plugins.load()
        if self.plugins.generation != self._generation:
            self._procedures = {}
            self._named = {}
            self._inputs = {}
            with self._checked_lock:
                self._checked.clear()
            self._generation = self.plugins.generation

    def inputs(self, book: str, noun: str, verb: str) -> tuple[Field, ...]:
        """The inputs ``verb`` accepts for ``noun``, as the book declares them."""
        key = (book, noun, verb)
        if key not in self._inputs:
            found = self.plugins.call(book, "describe_inputs", noun=noun, verb=verb)
            self._inputs[key] = tuple(found or ())
        return self._inputs[key]

    def procedures(self, book: str | None = None, *, with_inputs: bool = True
                   ) -> list[Procedure]:
        """Every procedure of every working book (or of ``book``)."""
        self._fresh()
        key = (book, with_inputs)
        found = self._procedures.get(key)
        if found is None:
            found = self._procedures[key] = self._derive_procedures(book, with_inputs)
        return list(found)

    def _derive_procedures(self, book: str | None, with_inputs: bool) -> list[Procedure]:
        books = [self.book(book)] if book else self.plugins.books()
        found = []
        for b in books:
            for noun in b.nouns:
                for verb in noun.verbs:
                    forms = (False, True) if verb == "get" else (False,)
                    for many in forms:
                        found.append(Procedure(
                            id=".".join((b.name, noun.name.replace(" ", "_"),
                                         "list" if many else verb)),
                            book=b.name,
                            verb=verb,
                            noun=noun.name,
                            english=english_for(b, noun, verb, many),
                            many=many,
                            inputs=self.inputs(b.name, noun.name, verb) if with_inputs else (),
                        ))
        return found

    def procedure(self, name: str) -> Procedure:
        """Find a procedure by id (``stripe_pay.customer.create``) or by its English."""
        self._fresh()
        found = self._named.get(name)
        if found is None:
            found = self._find_procedure(name)
            if len(self._named) >= NAMES_KEPT:
                self._named.clear()
            self._named[name] = found
        return found

    def _find_procedure(self, name: str) -> Procedure:
        procs = self.procedures(with_inputs=False)
        for proc in procs:
            if name == proc.id:
                return proc
        wanted = normalize_phrase(name)
        words = name.lower().split()
        # "all", "every" and "some" ask for the list form even before a singular noun.
        plural = len(words) > 1 and words[1] in _PLURAL_DETERMINERS
        for proc in sorted(procs, key=lambda p: p.many != plural):
            english = normalize_phrase(proc.english)
            if wanted == english:
                return proc
            noun = self.book(proc.book).noun(proc.noun)
            if noun and any(wanted == english.replace(noun.name, alias, 1)
                            for alias in noun.aliases):
                return proc
            if plural and proc.many and noun and wanted == english.replace(
                    noun.plural, noun.name, 1):
                return proc
        from .checker import find_procedure
        from .language.errors import LanguageError

        try:
            return find_procedure(self, name)
        except LanguageError:
            choices = [p.english for p in procs] + [p.id for p in procs]
            close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
            raise _unknown_procedure(name, close) from None

    # ------------------------------------------------------------------ connections

    def install(self, book: str, *, connection: str = "default",
                credentials: Mapping[str, str | Secret] | None = None,
                settings: Mapping[str, str] | None = None,
                make_default: bool = False) -> Connection:
        """Verify credentials through the book's ``connect`` hook and store them, with the
        settings they were verified with (``settings``, overridden by the environment's
        ``KBOOKS_<BOOK>_<SETTING>``; defaults are not stored).

        Without ``credentials`` the user is asked (see :func:`ask_credentials`).
        """
        desc = self.book(book)
        # A store that cannot be written back is reported before the key is asked for or
        # sent anywhere.
        self.store.check()
        if credentials is None:
            secrets = ask_credentials(desc)
        else:
            secrets = {}
            for cred in desc.credentials:
                raw = credentials.get(cred.name)
                value = raw.reveal() if isinstance(raw, Secret) else raw
                problem = cred.problem(value or "")
                if problem:
                    raise CredentialsRejected(problem, hint=cred.help or None)
                secrets[cred.name] = Secret(value or "")
        given = settings or {}
        merged = self._settings(desc, given)
        conn = self._connect(desc, secrets, merged, connection, verify=True)
        # Kept: each setting given, and each the environment changed from its default, as
        # verified, so that later runs reach the server the key was verified against.
        kept = {s.name: merged[s.name] for s in desc.settings
                if s.name in given or merged[s.name] != s.default}
        self.store.save(desc.name, connection, {k: v.reveal() for k, v in secrets.items()},
                        kept, conn.mode, make_default=make_default)
        self._connections[desc.name] = conn
        return conn

    def uninstall(self, book: str, *, connection: str | None = None) -> list[str]:
        """Forget one connection of ``book`` (all of them when ``connection`` is None)."""
        name = self._book_name(book)
        self._connections.pop(name, None)
        return self.store.remove(name, connection)

    def _book_name(self, book: str) -> str:
        try:
            return self.book(book).name
        except ConfigurationError:
            # A broken or removed book's connections can still be listed and removed.
            return book.lower().replace("-", "_")

    def _settings(self, book: Book, given: Mapping[str, str]) -> dict[str, str]:
        known = {s.name for s in book.settings}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigurationError(
                f"{book.name} has no setting {unknown[0]!r}",
                hint="settings: " + (", ".join(sorted(known)) or "none"),
            )
        merged = {}
        for setting in book.settings:
            merged[setting.name] = os.environ.get(env_name(book.name, setting.name),
                                                  given.get(setting.name, setting.default))
        return merged

    def _connect(self, book: Book, secrets: Mapping[str, Secret], settings: Mapping[str, str],
                 name: str, *, verify: bool) -> Connection:
        conn = self.plugins.call(book.name, "connect", credentials=secrets, settings=settings,
                                 verify=verify)
        if not isinstance(conn, Connection):
            raise ConfigurationError(f"the book {book.name} did not return a connection")
        first = next(iter(secrets.values()), None)
        return _evolve(conn, book=book.name, name=name, masked=first.masked if first else "")

    def connect(self, book: str, *, verify: bool = False) -> Connection:
        """The connection to ``book``, made on first use. Stored credentials were verified
        when installed, so nothing is sent here; pass ``verify=True`` to check them again.

        Environment variables ``KBOOKS_<BOOK>_<FIELD>`` override the stored values; when
        they provide every credential no stored connection is needed.
        """
        desc = self.book(book)
        if desc.name in self._connections and not verify:
            return self._connections[desc.name]
        stored = self.store.get(desc.name, self.connection_name)
        if self.connection_name and stored is None:
            # A connection asked for by name is never stood in for by another one, nor by
            # the environment: the name says which account is meant.
            raise NotConnected(
                f"the book {desc.name} has no connection named {self.connection_name!r}",
                hint=f"kbooks connections lists them; add it with: kbooks install "
                f"{desc.name} --connection {self.connection_name}")
        secrets: dict[str, Secret] = dict(stored.credentials) if stored else {}
        for cred in desc.credentials:
            value = os.environ.get(env_name(desc.name, cred.name))
            if value:
                secrets[cred.name] = Secret(value)
        missing = [c.name for c in desc.credentials if c.name not in secrets]
        if missing and stored is not None:
            raise NotConnected(
                f"the connection {desc.name}/{stored.name} has no {missing[0]}",
                hint=f"install it again: kbooks install {desc.name} --connection {stored.name}")
        if missing:
            which = f" named {self.connection_name!r}" if self.connection_name else ""
            raise NotConnected(
                f"the book {desc.name} has no connection{which}",
                hint=f"run: kbooks install {desc.name}"
                + (f" --connection {self.connection_name}" if self.connection_name else ""),
            )
        for cred in desc.credentials:
            problem = cred.problem(secrets[cred.name].reveal())
            if problem:
                variable = env_name(desc.name, cred.name)
                source = variable if os.environ.get(variable) else (
                    f"the connection {desc.name}/{stored.name if stored else '?'} in "
                    f"{self.store.path}")
                raise CredentialsRejected(f"{problem} (from {source})",
                                          hint=cred.help or None)
        settings = self._settings(desc, stored.settings if stored else {})
        name = stored.name if stored else "environment"
        conn = self._connect(desc, secrets, settings, name, verify=verify)
        self._connections[desc.name] = conn
        return conn

    # ------------------------------------------------------------------ calling

    def call(self, procedure: str, /, *, connection: Connection | None = None,
             **inputs: Any) -> Any:
        """Call a procedure by English name or id with keyword inputs.

        ``get`` inputs become ``is`` conditions (``email=...``), or name one record
        (``id=...``). Returns a :class:`Record`, or for list procedures a lazy iterable of
        records. The result is remembered under its noun.
        """
        proc = self.procedure(procedure)
        call = self.build_call(proc, inputs)
        return self.dispatch(call, connection=connection)

    def build_call(self, proc: Procedure, inputs: Mapping[str, Any],
                   idempotency_key: str | None = None) -> Call:
        """Turn keyword inputs into a checked :class:`Call` (nothing is sent)."""
        given = {field_key(k): v for k, v in inputs.items()}
        book = self.book(proc.book)
        noun = book.noun(proc.noun)
        assert noun is not None
        accepted = self.inputs(book.name, noun.name, proc.verb)
        # "id" names the record acted on; on create it is an id of one's choosing, if any
        record_id = given.pop("id", None) if proc.verb != "create" else None
        target_id = None
        if proc.verb == "add" and noun.parent:
            target_id = given.pop(noun.parent.replace(" ", "_"), None)
            if target_id is None:
                target_id = self._remembered_id(noun.parent, proc)
        elif proc.verb not in ("get", "create") and record_id is None:
            record_id = self._remembered_id(noun.name, proc)
        self._check_inputs(proc, given, accepted)
        where: Filter | None = None
        fields: dict[str, Any] = {}
        if proc.verb == "get":
            conditions = tuple(Condition(tuple(k.split(".")), "is", v) for k, v in given.items())
            where = conditions[0] if len(conditions) == 1 else (And(conditions)
                                                                  if conditions else None)
        else:
            fields = given
        call = Call(book=book.name, verb=proc.verb, noun=noun.name, id=record_id, where=where,
                    fields=fields, many=proc.many,
                    idempotency_key=idempotency_key or f"kbooks-{os.urandom(16).hex()}",
                    target_id=target_id)
        problems = self.plugins.call(book.name, "check_call", call=call) or []
        if problems:
            raise invalid_call(proc, problems)
        return call

    def _remembered_id(self, noun: str, proc: Procedure) -> str:
        remembered = self.context.get(noun)
        if isinstance(remembered, Record) and remembered.id:
            return remembered.id
        raise InvalidCall(
            f"{proc.english}: no {noun} to act on",
            hint=f"pass {noun.replace(' ', '_')}=... / id=..., or get or create {_article(noun)}"
            f" {noun} first",
        )

    def _check_inputs(self, proc: Procedure, given: Mapping[str, Any],
                      accepted: Iterable[Field]) -> None:
        by_name = {f.name: f for f in accepted}
        for key in given:
            top = key.split(".")[0]
            if top not in by_name:
                close = difflib.get_close_matches(top, list(by_name), n=3)
                raise InvalidCall(
                    f"{proc.english}: unknown input {top!r}"
                    + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
                       else ""),
                    hint=f"kbooks procedures {proc.book} lists every input",
                )
        if proc.verb != "get":
            missing = [f.name for f in accepted if f.required and f.name not in given]
            if missing:
                raise InvalidCall(f"{proc.english}: missing required input {missing[0]!r}")

    def plan(self, call: Call) -> Plan | None:
        """What ``call`` would send, from the book's ``plan_call`` hook (None if the book
        cannot say)."""
        return self.plugins.call(call.book, "plan_call", call=call,
                                 connection=self._connections.get(call.book))

    def dispatch(self, call: Call, *, connection: Connection | None = None,
                 remember: bool = True) -> Any:
        """Send a checked call to its book (and remember the result, unless told not to)."""
        conn = connection or self.connect(call.book)
        hook = hook_for(call.verb)
        if not self.plugins.implements(call.book, hook):
            raise InvalidCall(f"the book {call.book} cannot {call.verb} a {call.noun}")
        result = self.plugins.call(call.book, hook, connection=conn, call=call)
        if remember:
            self.remember(call, result)
        return result

    # ------------------------------------------------------------------ automations

    def check(self, text: str, *, source_name: str = "<automation>",
              given: Iterable[str] = (), columns: Iterable[str] | None = None
              ) -> list[Step]:
        """Parse and check an automation; raise :class:`LanguageError` (every problem at
        once, each with its line and column) or return its steps. Sends nothing.

        ``columns``, when given, are the only ones ``the row's COLUMN`` may name."""
        self._fresh()
        key = (text, source_name, frozenset(given),
               None if columns is None else frozenset(columns))
        with self._checked_lock:
            steps = self._checked.get(key)
            if steps is not None:
                self._checked.move_to_end(key)
        if steps is None:
            from .checker import check  # (only for a text not seen yet)
            from .language.parser import parse

            # Steps are immutable: one checked automation serves every later run of it.
            steps = check(self, parse(text, source_name), given, columns=columns)
            with self._checked_lock:
                self._checked[key] = steps
                while len(self._checked) > CHECKED_KEPT:
                    self._checked.popitem(last=False)
        return list(steps)

    def run(self, text: str, *, source_name: str = "<automation>", dry_run: bool = False,
            rows: Sequence[Mapping[str, Any]] | None = None, yes: bool = False,
            confirm: Callable[[str], bool] | None = None,
            on_step: Callable[[StepResult], None] | None = None,
            on_progress: Callable[[Progress], None] | None = None,
            concurrency: int | None = None, rate: float | None = None,
            fail_fast: bool = False, journal: bool = True,
            on_start: Callable[[dict[str, str], bool], None] | None = None,
            retry: RetryPolicy | None = None) -> RunResult:
        """Run an English automation and return what each step did.

        The whole text is checked first; if anything is wrong a :class:`LanguageError`
        is raised and nothing is sent. ``dry_run`` plans every step and sends nothing.
        What earlier :meth:`call` and :meth:`run` calls produced is available ("send the
        invoice" after creating one), and what this run produces is remembered after it.
        ``rows`` runs the automation once per row (``the row's COLUMN``), ``concurrency``
        rows at a time, at most ``rate`` steps a second (default: the connection's mode,
        25/s for test, 100/s for live). Without ``concurrency`` the run keeps as many rows
        in flight as that pace needs, from the time its steps take (see
        :class:`~kognitos_books.automation.Execution`). Delete, void and pay steps on a
        live connection need ``yes=True`` or ``confirm(question)`` returning True.

        A step that fails in a way its book calls passing (network, rate limit, server
        error) is sent again with the same idempotency key, as ``retry`` says (default:
        :class:`RetryPolicy`, twice, after about 1 and 2 seconds).

        A failed step stops its row; the result says which steps took effect. Steps are
        journaled under ``KBOOKS_HOME`` so :meth:`resume` can finish an interrupted run.
        """
        given = set(self.context) | ({"row"} if rows is not None else set())
        columns = None
        if rows is not None:
            # only what every row has can be named: a reference to a missing column is
            # found now, not after some rows have run
            columns = set(rows[0]) if rows else set()
            for row in rows:
                columns.intersection_update(row)
        steps = self.check(text, source_name=source_name, given=given, columns=columns)
        if not steps:
            from .language.errors import LanguageError

            raise LanguageError("nothing to run: the automation has no commands",
                                source_name=source_name,
                                hint='write one command a line, e.g. get a customer from '
                                'stripe whose email is "jo@example.com"')
        run_id = new_run_id()
        return self._execute(steps, text=text, source_name=source_name, run_id=run_id,
                             dry_run=dry_run, rows=rows, yes=yes, confirm=confirm,
                             on_step=on_step, on_progress=on_progress,
                             concurrency=concurrency, rate=rate, fail_fast=fail_fast,
                             journal=journal, restored={}, resuming=False,
                             on_start=on_start, retry=retry)

    def resume(self, run_id: str, *, yes: bool = False,
               confirm: Callable[[str], bool] | None = None,
               on_step: Callable[[StepResult], None] | None = None,
               on_progress: Callable[[Progress], None] | None = None,
               on_start: Callable[[dict[str, str], bool], None] | None = None,
               retry: RetryPolicy | None = None) -> RunResult:
        """Finish a run that stopped: steps the journal records as succeeded are not sent
        again (their results are restored); the others run with the same idempotency keys,
        so a step that was in flight when the run died is not done twice. A run that
        another process is still running is refused. ``retry`` defaults to the run's own."""
        info = self.journal.run(run_id)
        if info is None:
            raise ConfigurationError(f"no run {run_id!r} in the journal",
                                     hint="kbooks runs lists the runs")
        if info.state == "succeeded":
            raise ConfigurationError(f"run {run_id} already finished successfully")
        if self.journal.alive(run_id):
            raise ConfigurationError(f"run {run_id} is running in another process",
                                     hint="wait for it to finish; kbooks runs shows its state")
        rows = info.options.get("rows")
        steps = self.check(info.text, source_name=info.source,
                           given=("row",) if rows is not None else ())
        restored: dict[tuple[int, int], Any] = {}
        for done in self.journal.steps(run_id):
            step = steps[done.step - 1] if 0 < done.step <= len(steps) else None
            if (done.state == "succeeded" and step is not None and step.verb != "get"
                    and done.result is not None):
                restored[(done.row, done.step)] = Record(step.book, done.noun or step.noun,
                                                         done.record_id, done.result)
        if retry is None and "retries" in info.options:
            retry = RetryPolicy(int(info.options["retries"]),
                                float(info.options.get("retry_delay", RetryPolicy().delay)))
        return self._execute(steps, text=info.text, source_name=info.source, run_id=run_id,
                             dry_run=False, rows=rows, yes=yes, confirm=confirm,
                             on_step=on_step, on_progress=on_progress,
                             concurrency=_concurrency(info.options.get("concurrency", 1)),
                             rate=info.options.get("rate"),
                             fail_fast=bool(info.options.get("fail_fast")), journal=True,
                             restored=restored, resuming=True, on_start=on_start,
                             retry=retry)

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal.of(self.store.home)
        return self._journal

    def _execute(self, steps: list[Step], *, text: str, source_name: str, run_id: str,
                 dry_run: bool, rows: Sequence[Mapping[str, Any]] | None, yes: bool,
                 confirm: Callable[[str], bool] | None,
                 on_step: Callable[[StepResult], None] | None,
                 on_progress: Callable[[Progress], None] | None, concurrency: int | None,
                 rate: float | None, fail_fast: bool, journal: bool,
                 restored: Mapping[tuple[int, int], Any], resuming: bool,
                 on_start: Callable[[dict[str, str], bool], None] | None = None,
                 retry: RetryPolicy | None = None) -> RunResult:
        modes = {} if dry_run else {b: self.connect(b).mode for b in {s.book for s in steps}}
        if on_start is not None:
            on_start(modes, dry_run)
        live = sorted(b for b, m in modes.items() if m == "live")
        risky = [s for s in steps if s.book in live and s.verb in DESTRUCTIVE]
        if risky and not yes:
            question = (f"This automation will {risky[0].verb} on a LIVE connection "
                        f"({risky[0].book}, line {risky[0].line}). Continue?")
            if confirm is None or not confirm(question):
                raise NeedsConfirmation(
                    f"line {risky[0].line}: {risky[0].verb} on a live connection needs "
                    "confirmation", hint="run again with --yes to confirm")
        if rate is None:
            rate = float(max((LIVE_RATE if m == "live" else TEST_RATE) for m in modes.values())
                         ) if modes and rows is not None else 0.0
        retry = retry or RetryPolicy()
        book_journal = self.journal if journal and not dry_run else None
        # While it runs, the run is held in the journal: another process cannot resume it,
        # and once this process is gone, however it ended, the run shows as stopped.
        held = (book_journal.hold(run_id, resume=resuming) if book_journal is not None
                else contextlib.nullcontext())
        with held:
            if book_journal is not None and not resuming:
                first = next(iter(modes), None)
                book_journal.start_run(
                    run_id, source_name, text,
                    connection=self._connections[first].name if first else None,
                    mode=",".join(sorted(set(modes.values()))) or None,
                    options={"rows": list(map(dict, rows)) if rows is not None else None,
                             "concurrency": concurrency, "rate": rate,
                             "fail_fast": fail_fast, "retries": retry.retries,
                             "retry_delay": retry.delay})
            execution = Execution(self, steps, run_id=run_id, source=source_name,
                                  dry_run=dry_run, journal=book_journal, rows=rows,
                                  restored=restored, on_step=on_step, on_progress=on_progress,
                                  concurrency=concurrency, rate=rate, fail_fast=fail_fast,
                                  context=None if resuming else self.context, retry=retry,
                                  modes=modes)
            try:
                result = execution.run()
            except BaseException as exc:
                if book_journal is not None:
                    book_journal.finish_run(run_id, "interrupted", f"{type(exc).__name__}")
                raise
            if rows is None and not dry_run:
                # "the invoice" of this run is the runtime's, for the calls and runs after it
                self.context.update(execution.final)
            if book_journal is not None:
                failures = result.failures
                book_journal.finish_run(run_id, "failed" if failures else "succeeded",
                                        failures[0].error if failures else None)
        return result

    def remember(self, call: Call, result: Any) -> None:
        """Keep ``result`` as "the NOUN" (or "the NOUNS") for later steps."""
        book = self.book(call.book)
        noun = book.noun(call.noun)
        if isinstance(result, Record):
            self.context[result.noun] = result
        elif noun is not None and result is not None:
            self.context[noun.plural] = result


def _concurrency(value: Any) -> int | None:
    """A journaled run's concurrency: a number, or None when the run chose its own."""
    return None if value is None else int(value)


def _evolve(conn: Connection, **changes: Any) -> Connection:
    return attrs.evolve(conn, **changes)


def invalid_call(proc: Procedure, problems: list[Problem]) -> InvalidCall:
    first = problems[0]
    where = f" ({first.field})" if first.field else ""
    return InvalidCall(f"{proc.english}{where}: {first.message}", hint=first.hint)


def _unknown_procedure(name: str, close: list[str]) -> UnknownProcedure:
    return UnknownProcedure(
        f"no procedure named {name!r}"
        + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""),
        hint="kbooks procedures lists them all",
    )
