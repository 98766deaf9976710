"""The parsed form of an automation: small frozen classes, each with the :class:`Span`
it was written at, so later stages (the checker, the runtime) can point at the exact
words when something is wrong.

The parser knows no verbs, nouns or fields. Words are recorded as written (lower-cased,
with single spaces between the words of a noun); books give them meaning later.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ..schedules import Schedule


__all__ = [
    "Aggregate",
    "AllOf",
    "Both",
    "Branch",
    "Check",
    "Either",
    "Empty",
    "Every",
    "Fail",
    "ForEach",
    "If",
    "Not",
    "Say",
    "Show",
    "Statement",
    "Stop",
    "Test",
    "When",
    "Zone",
    "AnyOf",
    "Automation",
    "Boolean",
    "Command",
    "Condition",
    "Date",
    "DateTime",
    "FieldPath",
    "Input",
    "ListValue",
    "Money",
    "Moment",
    "Number",
    "Reference",
    "Span",
    "Target",
    "TargetWord",
    "Text",
    "Value",
    "Where",
    "OPS",
    "TEXT_OPS",
]

#: The comparisons of text, in their normalized form: each holds for text only.
TEXT_OPS: tuple[str, ...] = ("contains", "does not contain", "starts with",
                             "does not start with", "ends with", "does not end with")
#: Comparison operators a :class:`Condition` can carry, in their normalized form.
OPS: tuple[str, ...] = ("is", "is not", *TEXT_OPS, ">", "<", ">=", "<=", "one of")


@attrs.frozen(order=True)
class Span:
    """Where something was written: ``line`` and ``column`` are 1-based and count
    characters (a tab is one character); ``end_column`` is one past the last character.
    A span never crosses lines.
    """

    line: int
    column: int
    end_column: int

    @property
    def length(self) -> int:
        return self.end_column - self.column

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of ``other`` (same line)."""
        return new_span(self.line, self.column, max(self.end_column, other.end_column))


_new_object = object.__new__
_set_line = Span.__dict__["line"].__set__
_set_column = Span.__dict__["column"].__set__
_set_end_column = Span.__dict__["end_column"].__set__


def new_span(line: int, column: int, end_column: int) -> Span:
    """The span ``Span(line, column, end_column)``, made in two thirds of the time: its slots
    set straight, where a frozen class's ``__init__`` goes through ``object.__setattr__``
    for each. For the parser, which makes several a line."""
    span = _new_object(Span)
    _set_line(span, line)
    _set_column(span, column)
    _set_end_column(span, end_column)
    return span


# --------------------------------------------------------------------------- values


@attrs.frozen
class Text:
    """Quoted text; ``value`` has the quotes removed and escapes resolved."""

    value: str
    raw: str
    span: Span


@attrs.frozen
class Number:
    """A plain number: ``int`` when written without a decimal point, else ``Decimal``.

    Amounts written as plain numbers are in the currency's smallest unit (as Stripe
    takes them); the parser does not convert anything.
    """

    value: int | Decimal
    raw: str
    span: Span


@attrs.frozen
class Boolean:
    value: bool
    raw: str
    span: Span


@attrs.frozen
class Date:
    value: datetime.date
    raw: str
    span: Span


@attrs.frozen
class DateTime:
    """A date with a time of day; naive (the runtime decides the time zone)."""

    value: datetime.datetime
    raw: str
    span: Span


#: The currency each ambiguous symbol most often means, for when nothing else says.
USUAL_CURRENCY: dict[str, str] = {"$": "usd", "¥": "jpy"}


@attrs.frozen
class Money:
    """An amount of money in major units as written (``$15.00`` is ``Decimal("15.00")``).

    ``currency`` is the ISO code in lower case when the literal names one (``15 usd``,
    ``€12.50``); ``$`` and ``¥`` name several currencies, so for them it is ``None``
    unless a code follows, and :attr:`assumed_currency` gives the usual one. Converting
    to the smallest unit needs the currency's decimals and is left to the checker.
    """

    amount: Decimal
    currency: str | None
    symbol: str | None
    raw: str
    span: Span

    @property
    def assumed_currency(self) -> str | None:
        if self.currency:
            return self.currency
        return USUAL_CURRENCY.get(self.symbol or "")


@attrs.frozen
class Reference:
    """Something an earlier step produced: ``the customer`` (``noun="customer"``,
    ``path=()``), ``the customer's id`` (``path=("id",)``), ``the invoice's
    customer's email`` (``path=("customer", "email")``).

    ``noun`` is lower case with single spaces; ``path`` parts are normalized like
    :class:`FieldPath` parts.
    """

    noun: str
    path: tuple[str, ...]
    raw: str
    span: Span


@attrs.frozen
class ListValue:
    """Several values: ``"a", "b" and "c"``. ``conjunction`` is the last ``and``/``or``
    joining the items (``None`` when only commas were used); ``is "a" or "b"`` reads as
    "one of", and the checker may treat it so.
    """

    items: tuple[Value, ...]
    conjunction: str | None
    span: Span


#: The units of time a :class:`Moment` counts in.
UNITS: tuple[str, ...] = ("day", "week", "month", "year")


@attrs.frozen
class Moment:
    """A time as people say it, known only when the step runs: ``today``, ``yesterday``,
    ``tomorrow``, ``now``, ``3 days ago`` (``kind="ago"``), ``in 2 weeks`` (``"in"``),
    ``last month`` / ``this month`` / ``next month`` (``"last"``, ``"this"``, ``"next"``),
    and with ``edge`` ``"start"`` or ``"end"``: ``the start of this month``, ``the end of
    last month``. ``unit`` is one of :data:`UNITS` (``day`` for today and its like)."""

    kind: str
    count: int
    unit: str
    edge: str | None
    raw: str
    span: Span

    @property
    def period(self) -> bool:
        """Whether it names a stretch of time (a day, a month) rather than an instant."""
        return self.edge is None and self.kind in ("today", "yesterday", "tomorrow", "last",
                                                   "this", "next")


@attrs.frozen
class Aggregate:
    """``the number of invoices`` (``kind="number"``) or ``the total of the invoices'
    amount due`` (``"total"``: ``ref`` names the list and the field, per currency when it
    is money)."""

    kind: str
    ref: Reference
    raw: str
    span: Span


Value = (Text | Number | Boolean | Date | DateTime | Money | Reference | ListValue | Moment
         | Aggregate)


# --------------------------------------------------------------------------- parts


@attrs.frozen
class FieldPath:
    """A field name, possibly nested with ``'s``: ``metadata's plan`` has
    ``parts=("metadata", "plan")``. Parts are lower case with spaces turned into
    underscores, so ``unit amount`` and ``Unit_Amount`` are both ``("unit_amount",)``.
    """

    parts: tuple[str, ...]
    raw: str
    span: Span

    @property
    def name(self) -> str:
        """The parts joined with dots, ``metadata.plan``; handy as a key."""
        return ".".join(self.parts)

    def __str__(self) -> str:
        return "'s ".join(part.replace("_", " ") for part in self.parts)


@attrs.frozen
class Condition:
    """``FIELD COMPARISON VALUE`` in a ``whose`` clause.

    ``op`` is one of :data:`OPS`; ``op_raw`` is the wording used (``is greater than``).
    With ``op == "one of"`` the value is always a :class:`ListValue`.
    """

    field: FieldPath
    op: str
    op_raw: str
    value: Value
    span: Span
    op_span: Span


@attrs.frozen
class AllOf:
    """Conditions joined by ``and``; every one must hold."""

    items: tuple[Where, ...]
    span: Span


@attrs.frozen
class AnyOf:
    """Conditions joined by ``or``; ``and`` binds tighter, as in everyday logic."""

    items: tuple[Where, ...]
    span: Span


Where = Condition | AllOf | AnyOf


@attrs.frozen
class TargetWord:
    """A plain word after a preposition, normally a book's word: ``in stripe``."""

    name: str
    raw: str
    span: Span


Target = TargetWord | Reference


@attrs.frozen
class Input:
    """``the FIELD is VALUE``: one input of a command. ``text`` is its whole line."""

    field: FieldPath
    value: Value
    span: Span
    text: str


@attrs.frozen
class Command:
    """One command: ``VERB [AMOUNT of] [DETERMINER] NOUN [ID] [as COMPLEMENT] [PREPOSITION
    TARGET] [at PHRASE] [to TIME | by DURATION] [whose ...] [with|where INPUTS]``.

    Words are lower case (``noun`` keeps single spaces between its words: ``invoice
    item``). Parts that were not written are ``None`` with a ``None`` span. ``text`` is
    the command's own line as written; ``span`` covers the command on that line (its
    inputs have their own spans and lines).
    """

    verb: str
    verb_span: Span
    determiner: str | None
    determiner_span: Span | None
    noun: str
    noun_span: Span
    complement: str | None
    complement_span: Span | None
    preposition: str | None
    preposition_span: Span | None
    target: Target | None
    whose: Where | None
    inputs_keyword: str | None
    inputs_keyword_span: Span | None
    inputs: tuple[Input, ...]
    text: str
    span: Span
    #: ``as the open invoices``: the name its result is remembered under (None: its noun)
    named: str | None = None
    named_span: Span | None = None
    #: ``refund $5.00 of the charge``: how much of the record the verb acts on
    #: (``amount_span`` covers the sum and ``of``)
    amount: Value | None = None
    amount_span: Span | None = None
    #: ``apply the coupon "SUMMER25" to the subscription``: the id said after the noun
    thing: Value | None = None
    #: ``cancel the subscription at the end of the period``: the words of a form the verb's
    #: action declares (``"at the end of the period"``)
    phrase: str | None = None
    phrase_span: Span | None = None
    #: ``advance the test clock to 2027-01-01``: the time the record's time becomes ...
    time: Value | None = None
    #: ... or ``by 1 month``: how far it moves (a :class:`Moment` of kind ``"by"``);
    #: ``time_span`` covers ``to``/``by`` and what follows
    by: Moment | None = None
    time_span: Span | None = None
    #: ``get the invoice's customer`` / ``get the customer's invoices``: the record the
    #: command's noun is related to, and through which of its fields (``noun`` is that
    #: field's last part, as written)
    owner: Reference | None = None

    @property
    def line(self) -> int:
        return self.span.line

    def input(self, *parts: str) -> Input | None:
        """The input whose field is ``parts`` (normalized), e.g. ``input("id")``."""
        for item in self.inputs:
            if item.field.parts == parts:
                return item
        return None

    def line_text(self, line: int) -> str:
        """The text of ``line`` if it belongs to this command, else ``""``."""
        if line == self.span.line:
            return self.text
        for item in self.inputs:
            if item.span.line == line:
                return item.text
        return ""


@attrs.frozen
class Test:
    """``VALUE COMPARISON VALUE`` in an ``if``: ``the invoice's amount due is more than
    $100``. ``op`` is one of :data:`OPS`."""

    left: Value
    op: str
    op_raw: str
    right: Value
    span: Span
    op_span: Span


@attrs.frozen
class Empty:
    """``there are no invoices`` / ``the invoices are empty`` (``negated``: ``there are
    invoices``, ``the invoices are not empty``). ``ref`` names the list."""

    ref: Reference
    negated: bool
    span: Span


@attrs.frozen
class Not:
    """``not CHECK``."""

    item: Check
    span: Span


@attrs.frozen
class Both:
    """Checks joined by ``and``."""

    items: tuple[Check, ...]
    span: Span


@attrs.frozen
class Either:
    """Checks joined by ``or`` (``and`` binds tighter)."""

    items: tuple[Check, ...]
    span: Span


Check = Test | Empty | Not | Both | Either


@attrs.frozen
class ForEach:
    """``for each NOUN in SOURCE`` (or ``process each NOUN ... as follows``) and its block.

    ``source`` is a remembered list (a :class:`Reference`: ``the invoices``), a get
    (a :class:`Command`: ``in stripe whose status is "open"``), or None for the list
    remembered under the noun's plural. Inside, ``the NOUN`` is the current record.
    """

    noun: str
    noun_span: Span
    source: Reference | Command | None
    body: tuple[Statement, ...]
    text: str
    span: Span

    @property
    def line(self) -> int:
        return self.span.line


@attrs.frozen
class Branch:
    """One ``if`` (or ``otherwise if``) and its block."""

    check: Check
    body: tuple[Statement, ...]
    text: str
    span: Span


@attrs.frozen
class If:
    """``if ...`` blocks, then an optional ``otherwise`` (``else``) block."""

    branches: tuple[Branch, ...]
    otherwise: tuple[Statement, ...] | None
    span: Span

    @property
    def line(self) -> int:
        return self.span.line


@attrs.frozen
class Say:
    """``say "text"``; ``{the customer's name}`` inside the text is filled in."""

    text: Text
    line_text: str
    span: Span

    @property
    def line(self) -> int:
        return self.span.line


@attrs.frozen
class Show:
    """``show VALUE``: the value (a record, a list, a field) in the run's output."""

    value: Value
    line_text: str
    span: Span

    @property
    def line(self) -> int:
        return self.span.line


@attrs.frozen
class Stop:
    """``stop``: the run ends here, as succeeded."""

    span: Span

    @property
    def line(self) -> int:
        return self.span.line


@attrs.frozen
class Fail:
    """``fail with "reason"``: the run ends here, as failed, with the reason."""

    reason: Text
    span: Span

    @property
    def line(self) -> int:
        return self.span.line


@attrs.frozen
class Zone:
    """``in time zone "Europe/Paris"``: the zone the whole automation reads dates in."""

    name: Text
    span: Span

    @property
    def line(self) -> int:
        return self.span.line


@attrs.frozen
class When:
    """``when PHRASE in TARGET`` and its block: what to do each time the event happens.

    The language knows no events: ``phrase`` is the event's words as written (lower case,
    single spaces: ``an invoice is paid``), ``target`` the word after the line's last
    ``in`` (``stripe``), the book that reports it; books give them meaning.
    """

    phrase: str
    phrase_span: Span
    target: str
    target_span: Span
    body: tuple[Statement, ...]
    text: str
    span: Span

    @property
    def line(self) -> int:
        return self.span.line


@attrs.frozen
class Every:
    """A schedule line (``every day at 09:00``, ``on the 1st of every month at 08:00``) and
    its block: what to do at each of the schedule's slots.

    ``schedule`` holds the cron expression and the schedule as written
    (``schedule_span``); ``zone`` the time zone named on the line (``in time zone
    "America/New_York"``, a zone the zone database knows), else None: the automation's
    own ``in time zone``, or the runtime's.
    """

    schedule: Schedule
    schedule_span: Span
    zone: Text | None
    body: tuple[Statement, ...]
    text: str
    span: Span

    @property
    def line(self) -> int:
        return self.span.line


Statement = Command | ForEach | If | Say | Show | Stop | Fail | Zone | When | Every


@attrs.frozen
class Automation:
    """A parsed automation: its statements (``body``, blocks nested), every command in
    the order written (``commands``: a loop's get counts as one, before its block; the
    commands of ``when`` and schedule blocks count too), plus
    the source lines so errors found later can show the line they are about.
    """

    source_name: str
    commands: tuple[Command, ...]
    lines: tuple[str, ...] = attrs.field(default=(), repr=False, eq=False)
    body: tuple[Statement, ...] | None = attrs.field(default=None, eq=False)

    @property
    def statements(self) -> tuple[Statement, ...]:
        """The top-level statements (the commands, when built from commands alone)."""
        return self.body if self.body is not None else self.commands

    def line_text(self, line: int) -> str:
        """The text of the 1-based ``line``, ``""`` when out of range."""
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1]
        return ""
