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
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .automation import (
    Execution,
    NeedsConfirmation,
    Progress,
    RetryPolicy,
    RunResult,
    StepResult,
    failure_of,
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
    InvalidCall,
    NotConnected,
    Noun,
    Or,
    Plan,
    Problem,
    Procedure,
    Record,
    Secret,
    Setting,
    UnknownProcedure,
)
from .plugins import BookStatus, Plugins

if TYPE_CHECKING:
    from .checker import Step
    from .triggers.handlers import Handler

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
def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def english_for(book: Book, noun: Noun, verb: str, many: bool = False) -> str:
    """How an automation says ``verb`` on ``noun``: ``create a customer in stripe``."""
    target = book.target
    if verb == "get":
        if many:
            return f"get all {noun.plural} from {target}"
        return f"get {_article(noun.name)} {noun.name} from {target}"
    if verb == "add" and noun.parent:
        return f"add {_article(noun.name)} {noun.name} to the {noun.parent}"
    action = noun.action(verb)
    if action is not None:
        return action.english(noun.name)
    return f"{verb} {_article(noun.name)} {noun.name} in {target}"


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
        self._commands: dict[str, Any] = {}
        self._checked: OrderedDict[tuple[Any, ...], list[Step]] = OrderedDict()
        self._checked_lock = threading.Lock()
        self._handlers: dict[tuple[str, str], list[Handler]] = {}

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
            self._commands = {}
            self._inputs = {}
            with self._checked_lock:
                self._checked.clear()
                self._handlers.clear()
            self._generation = self.plugins.generation

    def inputs(self, book: str, noun: str, verb: str) -> tuple[Field, ...]:
        """The inputs ``verb`` accepts for ``noun``, as the book declares them."""
        key = (book, noun, verb)
        if key not in self._inputs:
            self._inputs[key] = self.plugins.describe_inputs(book, noun, verb)
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
                for verb in noun.every_verb:
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
            import difflib

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
        kept = {s.name: merged[s.name] for s in (*desc.settings, *HOST_SETTINGS)
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
        every = (*book.settings, *HOST_SETTINGS)
        known = {s.name for s in every}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigurationError(
                f"{book.name} has no setting {unknown[0]!r}",
                hint="settings: " + (", ".join(sorted(known)) or "none"),
            )
        merged = {}
        for setting in every:
            merged[setting.name] = os.environ.get(env_name(book.name, setting.name),
                                                  given.get(setting.name, setting.default))
        zone_problem(merged["time_zone"], f"{book.name}'s time_zone")
        return merged

    def time_zone(self, book: str) -> str:
        """The time zone dates are read in for ``book``'s connection (its ``time_zone``
        setting: the environment's ``KBOOKS_<BOOK>_TIME_ZONE``, else the stored
        connection's, else UTC). Read without connecting."""
        name = self._book_name(book)
        found = os.environ.get(env_name(name, "time_zone"))
        if not found:
            known = self._connections.get(name)
            if known is not None and known.zone:
                return known.zone
            try:
                stored = self.store.get(name, self.connection_name)
            except ConfigurationError:
                stored = None  # a store that cannot be read is reported where it is used
            found = (stored.settings.get("time_zone") if stored else None) or "UTC"
        zone_problem(found, f"{name}'s time_zone")
        return found

    def _connect(self, book: Book, secrets: Mapping[str, Secret], settings: Mapping[str, str],
                 name: str, *, verify: bool) -> Connection:
        conn = self.plugins.connect(book.name, secrets, settings, verify)
        if not isinstance(conn, Connection):
            raise ConfigurationError(f"the book {book.name} did not return a connection")
        first = next(iter(secrets.values()), None)
        return _evolve(conn, book=book.name, name=name, masked=first.masked if first else "",
                       zone=settings.get("time_zone", "UTC"))

    def connect(self, book: str, *, verify: bool = False,
                connection: str | None = None) -> Connection:
        """The connection to ``book``, made on first use. Stored credentials were verified
        when installed, so nothing is sent here; pass ``verify=True`` to check them again.
        ``connection`` names the stored connection (default: the runtime's, else the
        book's default).

        Environment variables ``KBOOKS_<BOOK>_<FIELD>`` override the stored values; when
        they provide every credential no stored connection is needed.
        """
        desc = self.book(book)
        wanted = connection or self.connection_name
        known = self._connections.get(desc.name)
        if known is not None and not verify and wanted in (None, known.name):
            return known
        stored = self.store.get(desc.name, wanted)
        if wanted and stored is None and wanted == "environment" and all(
                os.environ.get(env_name(desc.name, c.name)) for c in desc.credentials):
            wanted = None  # a run made with the environment's credentials, resumed so
        if wanted and stored is None:
            # A connection asked for by name is never stood in for by another one, nor by
            # the environment: the name says which account is meant.
            raise NotConnected(
                f"the book {desc.name} has no connection named {wanted!r}",
                hint=f"kbooks connections lists them; add it with: kbooks install "
                f"{desc.name} --connection {wanted}")
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
            which = f" named {wanted!r}" if wanted else ""
            raise NotConnected(
                f"the book {desc.name} has no connection{which}",
                hint=f"run: kbooks install {desc.name}"
                + (f" --connection {wanted}" if wanted else ""),
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

    def call(self, procedure: str, inputs: Mapping[str, Any] | None = None, /, *,
             connection: Connection | None = None, yes: bool = False,
             idempotency_key: str | None = None, **more: Any) -> Any:
        """Call a procedure by English name or id with keyword inputs (or a mapping of
        them, for inputs named like this method's own options).

        ``procedure`` is a procedure's id (``stripe_pay.customer.create``) or one English
        command in any wording the language accepts, conditions and targets included
        (``get all invoices for the customer``). ``get`` inputs become ``is`` conditions
        (``email=...``), or name one record (``id=...``). The inputs are checked and
        converted exactly as the same command written in an automation would be (text
        given for a number or a date is read as one: ``"1500"``, ``"$15.00"``,
        ``"2025-01-31"``); :class:`InvalidCall` names every problem and nothing is sent.
        A destructive procedure on a live connection needs ``yes=True``, else
        :class:`~kognitos_books.automation.NeedsConfirmation` is raised, before anything is
        sent. Returns a :class:`Record`, or for list procedures a lazy iterable of records.
        The result is remembered under its noun.

        A write is sent with ``idempotency_key`` when given (a caller that may send the same
        call again, as an agent retrying a tool call does, derives it from the call), else
        with a new random one.
        """
        step = self.prepare(procedure, {**(inputs or {}), **more})
        call = step.call(self._remembered, idempotency_key or f"kbooks-{os.urandom(16).hex()}")
        return self.dispatch(call, connection=connection, yes=yes, checked=not step.has_refs)

    def call_once(self, procedure: str, inputs: Mapping[str, Any] | None = None, /, *,
                  run_id: str, idempotency_key: str, source: str = "python",
                  yes: bool = False) -> tuple[Record, bool]:
        """Call a write once for good: as :meth:`call`, journaled as a run of one step,
        ``run_id``, that ``kbooks runs`` shows (``source`` says who called). The same
        ``run_id`` again, however long after, answers with the journaled record and sends
        nothing; a call whose answer was lost is sent again with the same
        ``idempotency_key``, and one the service refused outright (it took no effect) with
        the next key (``...-a2``). A run journaled on another connection or mode is refused.
        Returns the record and whether it was done before this call."""
        step = self.prepare(procedure, dict(inputs or {}))
        if step.verb == "get" or step.many:
            raise InvalidCall(f"{procedure!r} does not write one record; use call()")
        journal = self.journal
        done = journal.run(run_id)
        key = idempotency_key
        if done is not None:
            if done.state == "succeeded":
                (entry,) = journal.steps(run_id)
                return Record(step.book, entry.noun or step.noun, entry.record_id,
                              entry.result or {}), True
            last = journal.steps(run_id)
            if last and last[-1].state == "refused":
                key = next_key(last[-1].idempotency_key)
            elif last:
                key = last[-1].idempotency_key
        conn = self.connect(step.book)
        if done is not None and (done.connection, done.mode) != (conn.name, conn.mode):
            raise ConfigurationError(
                f"run {run_id} was begun on the connection {done.connection!r} "
                f"({done.mode}); this call would go to {conn.name!r} ({conn.mode})",
                hint="call it on the run's own connection, or give a new run id")
        with journal.hold(run_id, resume=done is not None):
            if done is None:
                journal.start_run(run_id, source, step.text, connection=conn.name,
                                  mode=conn.mode, options={})
            journal.start_step(run_id, 0, 1, 1, step.text, key)
            try:
                call = step.call(self._remembered, key)
                result = self.dispatch(call, connection=conn, yes=yes,
                                       checked=not step.has_refs)
            except Exception as exc:
                error, refused = failure_of(exc)
                journal.finish_step(run_id, 0, 1, "refused" if refused else "failed",
                                    error=error)
                journal.finish_run(run_id, "failed", error)
                raise
            journal.finish_step(run_id, 0, 1, "succeeded", noun=result.noun,
                                record_id=result.id,
                                result=result.text if result.text is not None
                                else dict(result.data))
            journal.finish_run(run_id, "succeeded")
        return result, False

    def prepare(self, procedure: str, inputs: Mapping[str, Any]) -> Step:
        """The checked step for calling ``procedure`` with ``inputs`` (see :meth:`call`);
        the runtime's remembered records stand for "the NOUN". Sends nothing."""
        from .checker import check_one
        from .language.errors import LanguageError

        command = self._commands.get(procedure)
        if command is None:
            from .language.parser import parse_command

            try:
                proc = self.procedure(procedure)
                text = proc.english if procedure == proc.id else procedure
            except InvalidCall:
                text = procedure  # a command with its own conditions or inputs
            try:
                command = parse_command(text)
            except LanguageError as exc:
                raise InvalidCall(f"{procedure!r} is not one command: {exc.message}",
                                  hint=exc.hint) from None
            if len(self._commands) >= NAMES_KEPT:
                self._commands.clear()
            self._commands[procedure] = command
        return check_one(self, command, inputs, given=self.context)

    def build_call(self, proc: Procedure, inputs: Mapping[str, Any],
                   idempotency_key: str | None = None) -> Call:
        """Turn keyword inputs into a checked :class:`Call` (nothing is sent)."""
        step = self.prepare(proc.id, inputs)
        return step.call(self._remembered,
                         idempotency_key or f"kbooks-{os.urandom(16).hex()}")

    def _remembered(self, ref: Any) -> Any:
        """What a reference names among the records this runtime remembers."""
        current: Any = self.context.get(ref.noun)
        for part in ref.path:
            data = current.data if isinstance(current, Record) else current
            if not isinstance(data, Mapping) or part not in data:
                return None
            current = data[part]
        return current

    def needs_confirmation(self, book: str, noun: str, verb: str) -> bool:
        """Whether ``verb`` on ``noun`` asks first on a live connection, as the book's
        declarations say (``delete``, and actions declared destructive or moving money)."""
        found = self.book(book).noun(noun)
        return found is not None and found.needs_confirmation(verb)

    def plan(self, call: Call) -> Plan | None:
        """What ``call`` would send, from the book's ``plan_call`` hook (None if the book
        cannot say)."""
        return self.plugins.plan_call(call, self._connections.get(call.book))

    def dispatch(self, call: Call, *, connection: Connection | None = None,
                 remember: bool = True, yes: bool = False, checked: bool = False) -> Any:
        """Send a call to its book (and remember the result, unless told not to).

        Every road ends here, so the last checks are made here, before anything is sent:
        the book's ``check_call`` (unless the call is ``checked`` already: built from
        literals the checker saw), and, for a destructive verb on a live connection,
        ``yes`` (else :class:`~kognitos_books.automation.NeedsConfirmation`).
        """
        conn = connection or self.connect(call.book)
        if not self.plugins.can_perform(call.book, call.verb):
            raise InvalidCall(f"the book {call.book} cannot {call.verb} a {call.noun}")
        if not checked:
            problems = self.plugins.check_call(call)
            if problems:
                raise invalid_call(call, problems)
        if not yes and conn.mode == "live" and self.needs_confirmation(call.book, call.noun,
                                                                       call.verb):
            noun = call.noun
            raise NeedsConfirmation(
                f"{call.verb} {_article(noun)} {noun} on a LIVE connection "
                f"({call.book}/{conn.name}) needs confirmation",
                hint="confirm with --yes (kbooks), or yes=True (Runtime.call)",
                question=f"This will {call.verb} {_article(noun)} {noun} on a LIVE "
                f"connection ({call.book}/{conn.name}). Continue?")
        result = self.plugins.perform(conn, call)
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
        zones = tuple(self.time_zone(b.name) for b in self.plugins.books())
        key = (text, source_name, frozenset(given),
               None if columns is None else frozenset(columns), zones)
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
        return steps  # (a Program: its steps, and the tree they run in; never changed)

    def run(self, text: str, *, source_name: str = "<automation>", dry_run: bool = False,
            rows: Sequence[Mapping[str, Any]] | None = None, yes: bool = False,
            confirm: Callable[[str], bool] | None = None,
            on_step: Callable[[StepResult], None] | None = None,
            on_progress: Callable[[Progress], None] | None = None,
            concurrency: int | None = None, rate: float | None = None,
            fail_fast: bool = False, journal: bool = True,
            on_start: Callable[[dict[str, str], bool], None] | None = None,
            retry: RetryPolicy | None = None, preview: bool = False,
            run_id: str | None = None) -> RunResult:
        """Run an English automation and return what each step did.

        ``preview`` sends the reads and no write: each write is planned with the values
        read, counted, and the amounts of the records it would touch added up per
        currency (``RunResult.would``); nothing is journaled.

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
        ``run_id`` names the run (default: a new random id), for a caller that derives it
        from what asked for the run and resumes that run when asked again.
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
        if rows:
            self.check_rows(steps, rows)
        if not steps:
            from .language.errors import LanguageError

            raise LanguageError("nothing to run: the automation has no commands",
                                source_name=source_name,
                                hint='write one command a line, e.g. get a customer from '
                                'stripe whose email is "jo@example.com"')
        run_id = run_id or new_run_id()
        return self._execute(steps, text=text, source_name=source_name, run_id=run_id,
                             dry_run=dry_run, rows=rows, yes=yes, confirm=confirm,
                             on_step=on_step, on_progress=on_progress,
                             concurrency=concurrency, rate=rate, fail_fast=fail_fast,
                             journal=journal and not preview, restored={}, resuming=False,
                             on_start=on_start, retry=retry, preview=preview)

    # ------------------------------------------------------------------ triggers

    def handlers(self, text: str, *, source_name: str = "<automation>") -> list[Handler]:
        """Parse and check an automation's ``when`` and schedule blocks, each as a
        :class:`~kognitos_books.triggers.handlers.Handler`; raise :class:`LanguageError`
        with every problem at once. Sends nothing."""
        self._fresh()
        key = (text, source_name)
        with self._checked_lock:
            found = self._handlers.get(key)
        if found is None:
            from .language.parser import parse
            from .triggers.handlers import check_handlers

            found = check_handlers(self, parse(text, source_name))
            with self._checked_lock:
                self._handlers[key] = found
        return found

    def run_handler(self, handler: Handler, *, text: str, run_id: str,
                    seed: Mapping[str, Any], yes: bool = False,
                    options: Mapping[str, Any] | None = None,
                    on_step: Callable[[StepResult], None] | None = None,
                    retry: RetryPolicy | None = None) -> RunResult | None:
        """Run one handler for one event or slot as the run ``run_id``, with ``seed`` (``the
        invoice``, ``the event``) known from the start; when the journal has that run
        already, finish it instead (a resume: what took effect is not done again), and when
        it succeeded, return None."""
        info = self.journal.run(run_id)
        if info is not None and info.state == "succeeded":
            return None
        steps = handler.program
        restored: dict[tuple[int, int, str], Any] = {}
        keys: dict[tuple[int, int, str], str] = {}
        if info is not None:
            restored, keys = _restored(steps, self.journal.steps(run_id))
            self._reconnect(info, {s.book for s in steps})
        return self._execute(steps, text=text, source_name=handler.source, run_id=run_id,
                             dry_run=False, rows=None, yes=yes, confirm=None, on_step=on_step,
                             on_progress=None, concurrency=None, rate=None, fail_fast=False,
                             journal=True, restored=restored, resuming=info is not None,
                             retry=retry, keys=keys, seed=seed,
                             options={"handler": handler.key, **(options or {})})

    def resume(self, run_id: str, *, yes: bool = False,
               confirm: Callable[[str], bool] | None = None,
               on_step: Callable[[StepResult], None] | None = None,
               on_progress: Callable[[Progress], None] | None = None,
               on_start: Callable[[dict[str, str], bool], None] | None = None,
               retry: RetryPolicy | None = None, text: str | None = None,
               source_name: str | None = None) -> RunResult:
        """Finish a run that stopped: steps the journal records as succeeded are not sent
        again (their results are restored); the others run with the same idempotency keys,
        so a step that was in flight when the run died is not done twice. A step the
        service refused outright took no effect: it is sent with a new key, so that once
        its cause is fixed it is not answered with the old refusal. A run that another
        process is still running is refused. ``retry`` defaults to the run's own.

        The run goes on with the connections it ran on (a different ``connection`` given
        to this runtime, a connection that now holds another key or that changed between
        test and live mode is refused, with the reason). ``text`` is the automation
        edited: allowed when every step that took effect, or may have, is unchanged.
        """
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
        given = ("row",) if rows is not None else ()
        edited = text is not None and text != info.text
        text = text if text is not None and edited else info.text
        steps = self.check(text,
                           source_name=(source_name or info.source) if edited else info.source,
                           given=given)
        done = self.journal.steps(run_id)
        if edited:
            old = self.check(info.text, source_name=info.source, given=given)
            _same_steps_done(run_id, old, steps, done)
        restored, keys = _restored(steps, done)
        self._reconnect(info, {s.book for s in steps})
        if retry is None and "retries" in info.options:
            retry = RetryPolicy(int(info.options["retries"]),
                                float(info.options.get("retry_delay", RetryPolicy().delay)))
        if edited:
            self.journal.set_text(run_id, source_name or info.source, text)
        return self._execute(steps, text=text,
                             source_name=(source_name or info.source) if edited
                             else info.source, run_id=run_id,
                             dry_run=False, rows=rows, yes=yes, confirm=confirm,
                             on_step=on_step, on_progress=on_progress,
                             concurrency=_concurrency(info.options.get("concurrency", 1)),
                             rate=info.options.get("rate"),
                             fail_fast=bool(info.options.get("fail_fast")), journal=True,
                             restored=restored, resuming=True, on_start=on_start,
                             retry=retry, keys=keys)

    def _reconnect(self, info: Any, books: Iterable[str]) -> None:
        """Connect each book of a resumed run with the connection the run used, refusing
        what would carry on in another account or mode."""
        journaled: dict[str, Any] = dict(info.options.get("connections") or {})
        for book in sorted(books):
            name = self.book(book).name
            used = journaled.get(name)
            if used is None and info.connection:
                # (a run journaled before connections were kept per book)
                used = {"name": info.connection, "mode": info.mode}
            if used is None:
                continue
            if self.connection_name and self.connection_name != used["name"]:
                raise ConfigurationError(
                    f"run {info.id} ran on the connection {name}/{used['name']}; it cannot "
                    f"go on with {name}/{self.connection_name} (another account may hold "
                    "none of what it did)",
                    hint=f"resume it without --connection: kbooks run --resume {info.id}")
            if used["name"] == "environment":
                desc = self.book(name)
                unset = [env_name(name, c.name) for c in desc.credentials
                         if not os.environ.get(env_name(name, c.name))]
                if unset:
                    raise ConfigurationError(
                        f"run {info.id} ran with the credentials from the environment "
                        f"({', '.join(unset)}), which are not set now",
                        hint="set them as they were when it ran, then resume it")
            conn = self.connect(name, connection=used["name"])
            if used.get("mode") and conn.mode != used["mode"]:
                raise ConfigurationError(
                    f"run {info.id} ran in {used['mode']} mode; the connection "
                    f"{name}/{conn.name} is now in {conn.mode} mode, and a resume never "
                    "changes mode", hint="start a new run instead")
            if used.get("masked") and conn.masked != used["masked"]:
                raise ConfigurationError(
                    f"run {info.id} ran with the key {used['masked']}; the connection "
                    f"{name}/{conn.name} now holds {conn.masked}, maybe another account",
                    hint=f"install the key it ran with again (kbooks install {name} "
                    f"--connection {conn.name}), or start a new run")

    def _how_many(self, steps: Sequence[Step], step: Step) -> str | None:
        """For a step done to every record a loop's get finds (``void all invoices ...``),
        how many records it will touch, `` 37 invoices``, read before anything is done
        (None when the get depends on what earlier steps make)."""
        from .checker import Loop, Step

        def find(nodes: Iterable[Any]) -> Any:
            for node in nodes:
                if isinstance(node, Loop):
                    if step in node.body and isinstance(node.source, Step):
                        return node
                    inner = find(node.body)
                    if inner is not None:
                        return inner
            return None

        loop = find(getattr(steps, "body", ()))
        if loop is None or loop.source.has_refs:
            return None
        source = loop.source
        found = self.dispatch(source.call(lambda ref: None, None), remember=False,
                              checked=True)
        count = sum(1 for _ in found)
        noun = self.book(source.book).noun(source.noun)
        name = (noun.plural if count != 1 else noun.name) if noun else source.noun
        return f" {count:,} {name}"

    def check_rows(self, steps: Sequence[Step], rows: Sequence[Mapping[str, Any]]) -> None:
        """Check every row's values where the steps use them (``the row's COLUMN``), as
        if each had been written in the automation: converted for its input, an id of the
        right kind, text not too long, nothing needed left empty. Raises
        :class:`InvalidRows` naming every problem (at most :data:`ROW_PROBLEMS_SHOWN`), before
        any row runs."""
        from .checker import StepInputError, Unknown

        using = [s for s in steps if any(r.noun == "row" for r in s.refs())]
        problems: list[str] = []
        count = 0
        for number, row in enumerate(rows, 1):
            def cell(ref: Any, row: Mapping[str, Any] = row) -> Any:
                if ref.noun != "row":
                    return Unknown(f"<{ref.raw}>")
                value: Any = row
                for part in ref.path:
                    value = value.get(part) if isinstance(value, Mapping) else None
                return value

            for step in using:
                try:
                    call = step.call(cell, None)
                except StepInputError as exc:
                    problem = exc.message
                else:
                    found = self.plugins.check_call(_known_only(call))
                    if not found:
                        continue
                    first = found[0]
                    problem = (f"line {step.line}: "
                               + (f"{first.field}: " if first.field else "") + first.message)
                count += 1
                if len(problems) < ROW_PROBLEMS_SHOWN:
                    problems.append(f"row {number}, {problem}")
                break  # one problem a row is enough to know it cannot run
        if problems:
            more = count - len(problems)
            raise InvalidRows(
                f"{count} of {len(rows)} row{'s' if len(rows) != 1 else ''} cannot run; "
                "nothing was sent:\n  " + "\n  ".join(problems)
                + (f"\n  ... and {more} more" if more else ""),
                hint="fix the rows, then run again")

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
                 restored: Mapping[tuple[int, int, str], Any], resuming: bool,
                 on_start: Callable[[dict[str, str], bool], None] | None = None,
                 retry: RetryPolicy | None = None,
                 keys: Mapping[tuple[int, int, str], str] | None = None,
                 preview: bool = False, seed: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None) -> RunResult:
        books = sorted({s.book for s in steps})
        conns = {} if dry_run else {b: self.connect(b) for b in books}
        modes = {b: c.mode for b, c in conns.items()}
        if on_start is not None:
            on_start(modes, dry_run)
        live = sorted(b for b, m in modes.items() if m == "live")
        risky = [s for s in steps if s.book in live and not preview  # (it sends no write)
                 and self.needs_confirmation(s.book, s.noun, s.verb)]
        if risky and not yes:
            danger = risky[0]
            what = self._how_many(steps, danger) or ""
            question = (f"This automation will {danger.verb}{what} on a LIVE connection "
                        f"({danger.book}, line {danger.line}). Continue?")
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
                first = next(iter(conns.values()), None)
                book_journal.start_run(
                    run_id, source_name, text,
                    connection=first.name if first else None,
                    mode=",".join(sorted(set(modes.values()))) or None,
                    options={"rows": list(map(dict, rows)) if rows is not None else None,
                             "concurrency": concurrency, "rate": rate,
                             "fail_fast": fail_fast, "retries": retry.retries,
                             "retry_delay": retry.delay,
                             # what a resume must go on with (see _reconnect)
                             "connections": {b: {"name": c.name, "mode": c.mode,
                                                 "masked": c.masked}
                                             for b, c in conns.items()},
                             **(options or {})})
            execution = Execution(self, steps, run_id=run_id, source=source_name,
                                  dry_run=dry_run, journal=book_journal, rows=rows,
                                  restored=restored, on_step=on_step, on_progress=on_progress,
                                  concurrency=concurrency, rate=rate, fail_fast=fail_fast,
                                  context=dict(seed) if seed is not None
                                  else None if resuming else self.context, retry=retry,
                                  modes=modes, keys=keys, preview=preview)
            try:
                result = execution.run()
            except BaseException as exc:
                if book_journal is not None:
                    book_journal.finish_run(run_id, "interrupted", f"{type(exc).__name__}")
                raise
            if rows is None and not dry_run and not preview and seed is None:
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


#: Settings every connection has, whatever its book (the host's own, not the book's).
HOST_SETTINGS = (
    Setting("time_zone", "Time zone for dates", default="UTC",
            help="the zone dates in automations are read in (a date means its whole day "
                 "there), e.g. Europe/Paris"),
)


def zone_problem(name: str, where: str) -> None:
    """Refuse a time zone the zone database does not know."""
    if name == "UTC":
        return  # (read without the zone database, as times.zone_of reads it)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"{where} {name!r} is not a time zone",
                                 hint="use a name from the zone database, such as UTC, "
                                 "Europe/Paris or America/New_York") from None


class InvalidRows(ConfigurationError):
    """Some rows of a bulk run hold values their steps cannot take; nothing was sent."""


#: How many rows' problems an :class:`InvalidRows` lists.
ROW_PROBLEMS_SHOWN = 20


def _known_only(call: Call) -> Call:
    """``call`` with the values a dry check does not know (:class:`Unknown`) as None, as
    the checker shows a book the values it cannot know yet."""
    from .checker import Unknown

    def plain(value: Any) -> Any:
        if isinstance(value, Unknown):
            return None
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    def where(item: Any) -> Any:
        if isinstance(item, Condition):
            return Condition(item.field, item.op, plain(item.value))
        if isinstance(item, (And, Or)):
            return type(item)(tuple(where(i) for i in item.items))
        return item

    return attrs.evolve(call, id=plain(call.id), target_id=plain(call.target_id),
                        fields=plain(dict(call.fields)), where=where(call.where))


def _restored(steps: Sequence[Step], done: Iterable[Any]
              ) -> tuple[dict[tuple[int, int, str], Any], dict[tuple[int, int, str], str]]:
    """What a resume takes from the journal: the results of the writes that succeeded (not
    sent again) and a new idempotency key for each step the service refused outright."""
    restored: dict[tuple[int, int, str], Any] = {}
    keys: dict[tuple[int, int, str], str] = {}
    for entry in done:
        step = steps[entry.step - 1] if 0 < entry.step <= len(steps) else None
        place = (entry.row, entry.step, entry.scope)
        if (entry.state == "succeeded" and step is not None and step.verb != "get"
                and entry.result is not None):
            restored[place] = Record(step.book, entry.noun or step.noun, entry.record_id,
                                     entry.result)
        elif entry.state == "refused":
            keys[place] = next_key(entry.idempotency_key)
    return restored, keys


def next_key(key: str) -> str:
    """The idempotency key for sending a refused step once more: ``...-s3`` becomes
    ``...-s3-a2``, then ``-a3``."""
    base, sep, attempt = key.rpartition("-a")
    if sep and attempt.isdigit():
        return f"{base}-a{int(attempt) + 1}"
    return f"{key}-a2"


def _same_steps_done(run_id: str, old: Sequence[Step], steps: Sequence[Step],
                     done: Iterable[Any]) -> None:
    """Refuse an edited automation that changes a step that took effect, or may have
    (``old``: the steps of the automation as the run began it)."""
    for entry in sorted(done, key=lambda e: (e.step, e.row)):
        if entry.state not in ("started", "failed", "succeeded"):
            continue  # refused: it took no effect, so it may change
        index = entry.step - 1
        if index >= len(old) or old[index].verb == "get":
            continue  # a read changed nothing, and is sent again anyway
        was = old[index].source
        now = steps[index] if index < len(steps) else None
        if now is None or now.source != was:
            what = ("took effect" if entry.state == "succeeded"
                    else "may have taken effect")
            said = "the edited automation has no such step" if now is None else (
                "the edited automation has there:\n    " + now.source.replace("\n", "\n    "))
            raise ConfigurationError(
                f"run {run_id}: step {entry.step} {what} as:\n    "
                + was.replace("\n", "\n    ") + f"\n{said}",
                hint="a resume may change only the steps that took no effect; keep the "
                "steps before them as they were, or start a new run")


def _concurrency(value: Any) -> int | None:
    """A journaled run's concurrency: a number, or None when the run chose its own."""
    return None if value is None else int(value)


def _evolve(conn: Connection, **changes: Any) -> Connection:
    return attrs.evolve(conn, **changes)


def invalid_call(call: Call, problems: list[Problem]) -> InvalidCall:
    first = problems[0]
    where = f" ({first.field})" if first.field else ""
    return InvalidCall(f"{call.verb} {call.noun}{where}: {first.message}", hint=first.hint)


def _unknown_procedure(name: str, close: list[str]) -> UnknownProcedure:
    return UnknownProcedure(
        f"no procedure named {name!r}"
        + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""),
        hint="kbooks procedures lists them all",
    )
