"""Finding books and routing calls to them.

Books are discovered only through the ``kognitos_books`` entry-point group, loaded once,
lazily. A book that cannot be imported, implements a hook the contract does not have, or
describes itself wrongly is reported as broken and skipped: the host lives on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from . import entrypoints, hookspecs
from .model import (
    RECORD_DUTIES,
    Book,
    Call,
    ConfigurationError,
    Connection,
    Endpoint,
    Event,
    Field,
    Plan,
    Problem,
    Record,
    Secret,
    Trigger,
)

if TYPE_CHECKING:
    from importlib import metadata

ENTRY_POINT_GROUP = entrypoints.GROUP
#: Comma-separated book names to block, e.g. ``KBOOKS_DISABLE=stripe_pay,memo``.
DISABLE_ENV = "KBOOKS_DISABLE"
#: Set to 1 to print every hook call and its outcome to standard error.
TRACE_ENV = "KBOOKS_TRACE"


@attrs.frozen
class BookStatus:
    """What the host knows about one installed book.

    ``state`` is ``"ok"``, ``"broken"`` (``reason`` says why) or ``"disabled"``.
    """

    name: str
    state: str
    reason: str = ""
    distribution: str | None = None
    version: str | None = None
    book: Book | None = None


class Plugins:
    """The plugin manager: loads books once and calls one book's hook at a time.

    ``entry_points`` replaces discovery (for embedding); by default the installed
    distributions' entry points in the ``kognitos_books`` group are used.
    """

    def __init__(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self._entry_points = entry_points
        self._statuses: dict[str, BookStatus] = {}
        self._callers: dict[tuple[str, str], Any] = {}
        self._found: dict[str, Book] = {}
        self._implements: dict[tuple[str, str], bool] = {}
        #: Changes whenever a book is registered or removed; callers that derive anything
        #: from the books (procedures, checked automations) keep it with their result.
        self.generation = 0
        self._loaded = False
        self._traced = bool(os.environ.get(TRACE_ENV))
        if self._traced:
            self.pm.add_hookcall_monitoring(_trace_before, _trace_after)

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        """Load every book's entry point, once."""
        if self._loaded:
            return
        self._loaded = True
        for name in _blocked_names():
            self.pm.set_blocked(name)
        eps = self._entry_points
        if eps is None:
            eps = entrypoints.entry_points(ENTRY_POINT_GROUP)
        for ep in sorted(eps, key=lambda e: e.name):
            self._load_entry_point(ep)

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        if ep.name in self._statuses:
            self._statuses[ep.name] = attrs.evolve(
                self._statuses[ep.name],
                state="broken",
                reason=f"two distributions register a book named {ep.name!r}",
            )
            self._changed()
            return
        if self.pm.is_blocked(ep.name):
            self._statuses[ep.name] = BookStatus(ep.name, "disabled",
                                                 f"blocked by {DISABLE_ENV}", dist_name, version)
            return
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken book must never take the host down
            self._broken(ep.name, f"cannot be imported: {type(exc).__name__}: {exc}",
                         dist_name, version)
            return
        self.register(plugin, ep.name, distribution=dist_name, version=version)

    def register(self, plugin: object, name: str, *, distribution: str | None = None,
                 version: str | None = None) -> BookStatus:
        """Register ``plugin`` as the book ``name`` and validate it against the contract.

        Returns its status; a plugin that breaks the contract is unregistered again.
        """
        if self.pm.is_blocked(name):
            status = BookStatus(name, "disabled", f"blocked by {DISABLE_ENV}", distribution,
                                version)
            self._statuses[name] = status
            return status
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            return self._broken(name, f"breaks the hook contract: {exc}", distribution, version)
        unknown = [caller.name for caller in self.pm.get_hookcallers(plugin) or ()
                   if caller.spec is None]
        if unknown:
            self.pm.unregister(plugin)
            specs = [n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n),
                                                          "kognitos_books_spec")]
            hints = []
            for hook in unknown:
                import difflib

                close = difflib.get_close_matches(hook, specs, n=1)
                hints.append(f"{hook!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            return self._broken(name, "implements unknown hook(s): " + ", ".join(hints),
                                distribution, version)
        self._changed()
        try:
            book = self.caller(name, "describe_book")()
        except Exception as exc:
            self._unregister(name)
            return self._broken(name, f"describe_book failed: {type(exc).__name__}: {exc}",
                                distribution, version)
        problem = _book_problem(name, book)
        if problem:
            self._unregister(name)
            return self._broken(name, problem, distribution, version)
        status = BookStatus(name, "ok", "", distribution, version or book.version, book)
        self._statuses[name] = status
        self._changed()
        return status

    def unregister(self, name: str) -> None:
        """Remove the book ``name`` (used by tests and embedding code)."""
        self._unregister(name)
        self._statuses.pop(name, None)
        self._changed()

    def _unregister(self, name: str) -> None:
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self._changed()

    def _changed(self) -> None:
        """Forget everything derived from the set of books."""
        self._callers = {}
        self._found = {}
        self._implements = {}
        self.generation += 1

    def _broken(self, name: str, reason: str, distribution: str | None,
                version: str | None) -> BookStatus:
        status = BookStatus(name, "broken", reason, distribution, version)
        self._statuses[name] = status
        self._changed()
        return status

    # ------------------------------------------------------------------ queries

    def statuses(self) -> list[BookStatus]:
        """Every book found, working or not, sorted by name."""
        self.load()
        return sorted(self._statuses.values(), key=lambda s: s.name)

    def books(self) -> list[Book]:
        """The working books' descriptions."""
        return [s.book for s in self.statuses() if s.state == "ok" and s.book is not None]

    def book(self, name: str) -> Book:
        """Find a working book by its name or its target word; explain when there is none."""
        found = self._found.get(name)
        if found is not None:  # every call of every step asks; the answer only changes
            return found      # when books do
        self.load()
        wanted = name.lower().replace("-", "_")
        for book in self.books():
            if wanted in (book.name, book.target.lower()):
                self._found[name] = book
                return book
        status = self._statuses.get(wanted)
        if status and status.state != "ok":
            raise ConfigurationError(f"the book {wanted!r} is {status.state}: {status.reason}",
                                     hint="kbooks books shows every book and its state")
        known = [b.name for b in self.books()] + [b.target for b in self.books()]
        import difflib

        close = difflib.get_close_matches(wanted, known, n=1)
        raise ConfigurationError(
            f"no book named {name!r} is installed"
            + (f"; did you mean {close[0]!r}?" if close else ""),
            hint="kbooks books lists the installed books",
        )

    def caller(self, book: str, hook: str) -> Callable[..., Any]:
        """A hook caller that reaches only ``book``'s implementation (and cross-cutting
        wrappers registered without a book name)."""
        self.load()
        key = (book, hook)
        if key not in self._callers:
            others = [p for n, p in self.pm.list_name_plugin()
                      if n != book and n in self._statuses]
            self._callers[key] = self.pm.subset_hook_caller(hook, remove_plugins=others)
        return self._callers[key]

    def implements(self, book: str, hook: str) -> bool:
        """Whether ``book`` implements ``hook`` at all."""
        self.load()
        key = (book, hook)
        known = self._implements.get(key)
        if known is None:
            plugin = self.pm.get_plugin(book)
            known = any(impl.plugin is plugin
                        for impl in getattr(self.pm.hook, hook).get_hookimpls())
            self._implements[key] = known
        return known

    def _call(self, book: str, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on ``book`` only and return its single answer."""
        return self.caller(book, hook)(**kwargs)

    # ------------------------------------------------------------------ the contract, typed

    def describe_inputs(self, book: str, noun: str, verb: str) -> tuple[Field, ...]:
        """The inputs ``verb`` accepts for ``noun`` (for ``get``, the fields a condition may
        name), as ``book`` declares them."""
        return tuple(self._call(book, "describe_inputs", noun=noun, verb=verb) or ())

    def connect(self, book: str, credentials: Mapping[str, Secret],
                settings: Mapping[str, str], verify: bool) -> Connection:
        """``book``'s connection made from stored credentials and settings."""
        found: Connection = self._call(book, "connect", credentials=credentials,
                                       settings=settings, verify=verify)
        return found

    def check_call(self, call: Call) -> list[Problem]:
        """What ``call.book`` finds wrong with ``call`` before anything is sent."""
        return list(self._call(call.book, "check_call", call=call) or ())

    def call_checker(self, book: str) -> Callable[[Call], list[Problem]]:
        """:meth:`check_call` for ``book``'s calls checked together, as an automation's
        steps are. When only the book's own implementation would run (no wrapper, no
        tracing), it is called straight, without pluggy's dispatch for each call (a third
        or more of the cost of a call). Made for one batch and not kept: a plugin
        registered afterwards is seen by the next batch."""
        caller = self.caller(book, "check_call")
        impls = caller.get_hookimpls()  # type: ignore[attr-defined]
        # (an implementation may also take fewer arguments than the hook gives)
        if self._traced or len(impls) != 1 or impls[0].hookwrapper or impls[0].wrapper \
                or impls[0].argnames != ("call",):
            return self.check_call
        function = impls[0].function
        return lambda call: list(function(call) or ())

    def plan_call(self, call: Call, connection: Connection | None) -> Plan | None:
        """What ``call`` would send, or None when its book cannot say."""
        found: Plan | None = self._call(call.book, "plan_call", call=call,
                                        connection=connection)
        return found

    def register_commands(self, book: str, register: Callable[..., Any]) -> None:
        """Let ``book`` add its commands to the CLI."""
        self._call(book, "register_commands", register=register)

    def can_perform(self, book: str, verb: str) -> bool:
        """Whether ``book`` implements the hook that carries out ``verb``."""
        return self.implements(book, duty_hook(verb))

    def perform(self, connection: Connection, call: Call) -> Record | Iterable[Record]:
        """Carry out ``call`` with its book: a record duty by its own hook (``get``,
        ``create``, ``update``, ``delete``), any other verb by ``act``."""
        found: Record | Iterable[Record] = self._call(call.book, duty_hook(call.verb),
                                                      connection=connection, call=call)
        return found

    # ------------------------------------------------------------------ events

    def triggers(self, book: str) -> tuple[Trigger, ...]:
        """Every event ``book`` can report (none when it has no events)."""
        if not self.implements(book, "describe_triggers"):
            return ()
        found = tuple(self._call(book, "describe_triggers") or ())
        for trigger in found:
            if not isinstance(trigger, Trigger):
                raise TypeError(f"{book}: describe_triggers returned {type(trigger).__name__}, "
                                "not a kognitos_books.Trigger")
        return found

    def verify_event(self, connection: Connection, headers: Mapping[str, str], body: bytes,
                     secret: Secret) -> Event:
        """The event a delivery holds, once ``connection.book`` has verified its signature;
        raises :class:`DeliveryRejected` otherwise."""
        found: Event = self._call(connection.book, "verify_event", connection=connection,
                                  headers=headers, body=body, secret=secret)
        return found

    def list_events(self, connection: Connection, after: Event | None,
                    types: tuple[str, ...]) -> Iterable[Event]:
        """The events after ``after``, oldest first, lazily."""
        found: Iterable[Event] = self._call(connection.book, "list_events",
                                            connection=connection, after=after, types=types)
        return found

    def ensure_endpoint(self, connection: Connection, url: str, types: tuple[str, ...]
                        ) -> Endpoint:
        """The service's one endpoint delivering ``types`` to ``url``, made if missing."""
        found: Endpoint = self._call(connection.book, "ensure_endpoint",
                                     connection=connection, url=url, types=types)
        return found

    def remove_endpoint(self, connection: Connection, url: str) -> bool:
        """Delete the endpoint for ``url``; False when there was none."""
        return bool(self._call(connection.book, "remove_endpoint", connection=connection,
                               url=url))


def duty_hook(verb: str) -> str:
    """The hook that carries out ``verb``: a record duty's own, else ``act``."""
    return verb if verb in RECORD_DUTIES else "act"


def _blocked_names() -> list[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return [n.strip() for n in raw.split(",") if n.strip()]


def _book_problem(name: str, book: object) -> str | None:
    if book is None:
        return "does not implement describe_book"
    if not isinstance(book, Book):
        return f"describe_book returned {type(book).__name__}, not a kognitos_books.Book"
    if book.name != name:
        return (f"describes itself as {book.name!r} but is registered as {name!r}; "
                "the entry-point name and Book.name must agree")
    names = {n.name for n in book.nouns}
    for noun in book.nouns:
        for verb in noun.verbs:
            if verb == "add" and not noun.parent:
                return f"the noun {noun.name!r} has the verb 'add' but no parent to add it to"
            if verb not in RECORD_DUTIES and verb != "add":
                return (f"the noun {noun.name!r} lists {verb!r} among its verbs, which are "
                        f"record duties ({', '.join(RECORD_DUTIES)}, add); declare it in "
                        "Noun.actions")
        seen: set[str] = set()
        for action in noun.actions:
            if action.name in RECORD_DUTIES or action.name == "add":
                return (f"the noun {noun.name!r} declares {action.name!r} as an action; it "
                        "is a record duty: list it in Noun.verbs")
            if action.name in seen:
                return f"the noun {noun.name!r} declares the action {action.name!r} twice"
            seen.add(action.name)
            if action.returns is not None and action.returns not in names:
                return (f"the action {action.name!r} of {noun.name!r} returns "
                        f"{action.returns!r}, which is not one of the book's nouns")
    return None


def _trace_before(hook_name: str, hook_impls: Sequence[Any],
                  kwargs: Mapping[str, Any]) -> None:
    names = ",".join(impl.plugin_name for impl in hook_impls)
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    print(f"kbooks trace: {hook_name}({args}) -> [{names}]", file=sys.stderr)


def _trace_after(outcome: Any, hook_name: str, hook_impls: Sequence[Any],
                 kwargs: Mapping[str, Any]) -> None:
    exc = outcome.exception
    result = f"raised {type(exc).__name__}" if exc else "ok"
    print(f"kbooks trace: {hook_name} {result}", file=sys.stderr)
