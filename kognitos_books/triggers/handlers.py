"""An automation's triggers, checked: each ``when`` and schedule block as a :class:`Handler`.

Each block is checked as an automation of its own, in the scope its start gives it (inside
``when an invoice is paid in stripe``: ``the invoice``, the event's object, and ``the
event``), so a handler runs, is journaled and is resumed alone. Every problem of every block
is reported at once, with its line and column, before anything listens or runs.

A handler's :attr:`Handler.key` names it across restarts: the file's name, the words of the
line that opens it and which of the blocks with those words it is. Editing a block's body
keeps its key (events already handled are not run again); changing its first line makes it
a new handler.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from ..language import ast
from ..language.errors import LanguageError, LanguageErrors, closest
from ..model import Book, Trigger

if TYPE_CHECKING:
    from ..checker import Program
    from ..runtime import Runtime

#: what ``the event`` has, inside a ``when`` block
EVENT_FIELDS = ("id", "type", "created", "livemode", "previous_attributes")
#: the name ``the event`` is known by
EVENT = "event"
#: what a schedule's block knows: ``the schedule's time``
SCHEDULE = "schedule"
SCHEDULE_FIELDS = ("time", "slot")


@attrs.frozen
class Handler:
    """One checked ``when`` or schedule block.

    ``book``, ``trigger`` (the book's :class:`Trigger`) for an event; ``schedule`` (a
    :class:`~kognitos_books.schedules.Schedule`) and ``zone`` for a schedule.
    """

    key: str
    source: str
    line: int
    opener: str
    program: Program = attrs.field(repr=False)
    book: str | None = None
    trigger: Trigger | None = None
    schedule: Any = None
    zone: str = "UTC"

    @property
    def kind(self) -> str:
        return "event" if self.trigger is not None else "schedule"


def handler_key(source: str, opener: str, occurrence: int) -> str:
    words = " ".join(opener.lower().split())
    digest = hashlib.sha256(f"{source}\0{words}\0{occurrence}".encode()).hexdigest()
    return f"h_{digest[:16]}"


def trigger_phrase(words: str) -> str:
    """A phrase as compared with the books' (lower case, single spaces, no article)."""
    found = " ".join(words.lower().split())
    for article in ("an ", "a ", "the "):
        if found.startswith(article):
            return found[len(article):]
    return found


def check_handlers(runtime: Runtime, automation: ast.Automation) -> list[Handler]:
    """Every trigger and schedule block of ``automation``, checked; raises
    :class:`LanguageErrors` with every problem found."""
    from ..checker import Checker

    errors: list[LanguageError] = []
    handlers: list[Handler] = []
    seen: dict[str, int] = {}
    zones = [s for s in automation.statements if isinstance(s, ast.Zone)]
    file_zone = zones[0].name.value if zones else None

    def fail(span: ast.Span | None, message: str, hint: str | None = None) -> None:
        errors.append(LanguageError.at(span, automation, message, hint=hint))

    for statement in automation.statements:
        if not isinstance(statement, ast.When | ast.Every):
            continue
        given: tuple[str, ...]
        found: Book | None = None
        trigger: Trigger | None = None
        if isinstance(statement, ast.When):
            found = _book(runtime, statement, fail)
            if found is None:
                continue
            trigger = _trigger(runtime, found, statement, fail)
            if trigger is None:
                continue
            given = (trigger.noun, EVENT)
        else:
            given = (SCHEDULE,)
        opener = automation.line_text(statement.line).strip()
        occurrence = seen.get(opener, 0)
        seen[opener] = occurrence + 1
        body = ast.Automation(automation.source_name, (), automation.lines,
                              (*zones, *statement.body))
        try:
            program = Checker(runtime, body, given).check()
        except LanguageErrors as exc:
            errors.extend(exc.errors)
            continue
        if not program.body:
            fail(statement.span, f'"{opener}" has nothing to run',
                 hint="put the commands to run on the lines under it, indented")
            continue
        zone = "UTC"
        if isinstance(statement, ast.Every):
            zone = (statement.zone.value if statement.zone is not None else file_zone) or "UTC"
        handlers.append(Handler(
            handler_key(automation.source_name, opener, occurrence), automation.source_name,
            statement.line, opener, program, book=found.name if found else None,
            trigger=trigger, schedule=getattr(statement, "schedule", None), zone=zone))
    LanguageErrors.raise_if_any(errors)
    return handlers


def _book(runtime: Runtime, statement: ast.When, fail: Any) -> Book | None:
    books = runtime.plugins.books()
    for book in books:
        if statement.target in (book.target, book.name):
            return book
    targets = [b.target for b in books]
    close = closest(statement.target, targets)
    fail(statement.target_span, f'no book is called "{statement.target}"'
         + (f'; did you mean "{close[0]}"?' if close else ""),
         hint="kbooks books lists the installed books and the word each is called by")
    return None


def _trigger(runtime: Runtime, book: Book, statement: ast.When, fail: Any) -> Trigger | None:
    triggers = runtime.plugins.triggers(book.name)
    wanted = trigger_phrase(statement.phrase)
    by_phrase: dict[str, Trigger] = {}
    for trigger in triggers:
        for phrase in (trigger.english, *trigger.aliases):
            by_phrase.setdefault(trigger_phrase(phrase), trigger)
    found = by_phrase.get(wanted)
    if found is not None:
        if book.noun(found.noun) is None:
            fail(statement.phrase_span, f'{book.name} reports "{statement.phrase}" about '
                 f'"{found.noun}", which is not one of its nouns')
            return None
        return found
    if not triggers:
        fail(statement.phrase_span, f"{book.name} reports no events",
             hint="kbooks events --types lists the events each book reports")
        return None
    close = closest(wanted, list(by_phrase), n=3, cutoff=0.5)
    fail(statement.phrase_span, f'{book.name} reports no event "{statement.phrase}"'
         + (f"; did you mean {_either(close)}?" if close else ""),
         hint=f"kbooks events --types {book.name} lists the events it reports")
    return None


def _either(phrases: Iterable[str]) -> str:
    quoted = [f'"{_article(p)} {p}"' for p in phrases]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _article(phrase: str) -> str:
    return "an" if phrase[:1] in "aeiou" else "a"
