"""Checking commands against the installed books, before anything runs: the one builder
of calls.

Every command becomes a :class:`Step`: the book and procedure it maps to, its id and
inputs with literal values already converted (money to minor units, dates to Unix
timestamps), and references to earlier results kept for the run to resolve. Every problem
found is reported at once, each with its line, column and a suggestion; when there is any,
no step runs.

Automations, :meth:`Runtime.call <kognitos_books.runtime.Runtime.call>` (and so ``kbooks
call``), the rows of a bulk run and the values references take at run time all come
through here, so a rule added once holds on every road: a value given from Python, a CSV
cell or an earlier result is converted and checked exactly as the same value written in an
automation would be (:func:`convert`).
"""

from __future__ import annotations

import datetime
import decimal
import functools
import re
from collections.abc import Callable, Iterable, KeysView, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .language import ast
from .language.errors import LanguageError, LanguageErrors, closest
from .model import (
    Action,
    And,
    Book,
    Call,
    Condition,
    Field,
    InvalidCall,
    KbooksError,
    Noun,
    Or,
    Procedure,
    Record,
)
from .money import DECIMALS, SYMBOLS, MoneyError, minor_units
from .times import moved

if TYPE_CHECKING:
    from .model import Problem
    from .runtime import Runtime

PLURAL_DETERMINERS = ("all", "some", "every")
#: Other words for ``get``, the record duty every book has.
GET_WORDS = ("list", "find", "fetch", "retrieve")
#: Past participles read as their verb, for ``mark the invoice as paid``: the verb it
#: points to when that is what the book offers.
_PARTICIPLES = {"paid": "pay", "sent": "send", "made": "make", "put": "put"}
#: Unknown verbs are suggested a known one only when they look this much alike (a looser
#: match suggests "send" for "refund").
_VERB_CUTOFF = 0.7
_FIELD_KINDS = ("string", "integer", "number", "boolean", "timestamp", "object", "list",
                "any")


@attrs.frozen
class Ref:
    """A value taken from an earlier result at run time: ``the customer's id``.

    ``field`` is the input or condition field the value goes to (it is converted for it,
    as a literal would be, when the step runs; None leaves it as it is) and ``currency``
    the currency its amounts are in. ``needed``: an empty value (``""`` or none) is an
    error rather than an input left out.
    """

    noun: str
    path: tuple[str, ...]
    span: ast.Span | None
    raw: str
    field: Field | None = attrs.field(default=None, eq=False)
    currency: str | None = attrs.field(default=None, eq=False)
    needed: bool = attrs.field(default=False, eq=False)
    #: the type of what it names, as its book describes the record (None when unknown)
    kind: str | None = attrs.field(default=None, eq=False)
    #: the time zone a date it takes is read in
    zone: str = attrs.field(default="UTC", eq=False)


@attrs.frozen
class Moved:
    """A time a step moves from a record's own (``advance the test clock by 1 month``):
    the time ``ref`` names when the step runs, ``count`` of ``unit`` later on the calendar
    of ``zone``."""

    ref: Ref
    count: int
    unit: str
    zone: str = "UTC"
    raw: str = ""

    def value(self, found: Any) -> Any:
        if isinstance(found, str):  # (a dry run knows no record: Unknown)
            return Unknown(f"<{self.ref.raw} + {self.raw}>")
        if isinstance(found, bool) or not isinstance(found, int):
            raise StepInputError(f'"{self.ref.raw}" is {_shown(found)}, not a time to move '
                                 f"by {self.raw}", hint="say the time with to: ... to "
                                 "2027-01-01")
        return moved(found, self.count, self.unit, self.zone)


@attrs.frozen
class Filled:
    """Text with references in braces, written for an input or compared with
    (``"Invoice for {the customer's name}"``): ``parts`` are plain text, :class:`Ref` and
    :class:`Tally`, filled in when the step runs."""

    parts: tuple[Any, ...]
    raw: str
    span: ast.Span | None = attrs.field(default=None, eq=False)

    def refs(self) -> list[Ref]:
        return [p.ref if isinstance(p, Tally) else p for p in self.parts
                if isinstance(p, (Ref, Tally))]

    def fill(self, resolve: Callable[[Ref], Any],
             count: Callable[[Tally], Any] | None = None) -> str:
        """The text, each reference's value in its place (in a dry run, where a value is
        not known, the text is :class:`Unknown` and shows the reference)."""
        pieces: list[str] = []
        unknown = False
        for part in self.parts:
            if isinstance(part, Tally):
                if count is None:
                    raise StepInputError(f'"{{{part.raw}}}" is counted only in an automation',
                                         hint="write the text out, or run it as an "
                                         "automation")
                found: Any = count(part)
            elif isinstance(part, Ref):
                found = resolve(part)
            else:
                pieces.append(part)
                continue
            unknown = unknown or isinstance(found, Unknown)
            pieces.append(text_of(found))
        text = "".join(pieces)
        return Unknown(text) if unknown else text


def text_of(value: Any) -> str:
    """A value as it reads inside a text: a record by its id."""
    if isinstance(value, Record):
        return value.id or value.noun
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Unknown(str):
    """A value a dry run does not know (nothing was fetched or created): shown as
    ``<the customer's id>`` and passed through without conversion."""


class StepInputError(KbooksError):
    """A value a reference took at run time does not fit its input; nothing was sent."""

    exit_code = 2


#: What an optional input whose reference came out empty becomes: left out.
_OMIT = object()


@attrs.frozen
class Step:
    """One checked command, ready to run.

    ``fields`` and ``where`` hold converted literal values and :class:`Ref` placeholders;
    ``id`` and ``target_id`` are a string, a :class:`Ref`, or None.
    """

    index: int
    command: ast.Command
    procedure: Procedure
    id: Any = None
    target_id: Any = None
    where: Any = None
    fields: Mapping[str, Any] = attrs.field(factory=dict)
    #: Context names this step's result will be remembered under.
    produces: tuple[str, ...] = ()
    #: Where the id was written, to point at it when the book finds it wrong.
    id_span: ast.Span | None = None
    #: Whether any value is a reference (so the book checks the call again once resolved).
    has_refs: bool = False

    @property
    def line(self) -> int:
        return self.command.line

    @property
    def text(self) -> str:
        return self.command.text.strip()

    @property
    def source(self) -> str:
        """The command and its input lines, as written (spacing aside): what a resume of
        an edited automation compares."""
        return command_source(self.command)

    @property
    def book(self) -> str:
        return self.procedure.book

    @property
    def verb(self) -> str:
        return self.procedure.verb

    @property
    def noun(self) -> str:
        return self.procedure.noun

    @property
    def many(self) -> bool:
        return self.procedure.many

    def refs(self) -> list[Ref]:
        """Every reference among the step's values."""
        return _refs(self.fields, self.where, self.id, self.target_id)

    def call(self, resolve: Callable[[Ref], Any], idempotency_key: str | None,
             count: Callable[[Tally], Any] | None = None) -> Call:
        """The :class:`Call` for this step, with references resolved by ``resolve`` (and
        lists counted or added up by ``count``, for texts that say so) and converted for
        their inputs (:class:`StepInputError` when one does not fit)."""
        def value(item: Any) -> Any:
            if isinstance(item, Ref):
                return _materialize(item, resolve, self)
            if isinstance(item, Filled):
                return item.fill(resolve, count)
            if isinstance(item, Moved):
                return item.value(_materialize(item.ref, resolve, self))
            stamp = getattr(item, "stamp", None)  # a time said, found now (times.When)
            return stamp() if stamp is not None else item

        return Call(
            book=self.book, verb=self.verb, noun=self.noun, id=value(self.id),
            where=_resolve_filter(self.where, value),
            fields=_resolve_fields(self.fields, value), many=self.many,
            idempotency_key=idempotency_key, target_id=value(self.target_id),
        )


class Program(list):  # type: ignore[type-arg]
    """The steps of a checked automation, in the order written (a list of :class:`Step`;
    a command that failed its check stands as None only while checking), and ``body``,
    the tree they run in: steps, :class:`Loop`, :class:`Decide`, :class:`Output` and
    :class:`Halt` nodes."""

    def __init__(self, steps: Iterable[Step], body: tuple[Any, ...] = ()) -> None:
        super().__init__(steps)
        self.body = body or tuple(self)

    @property
    def flat(self) -> bool:
        """Whether it is a plain list of commands, with no blocks and nothing else."""
        return all(isinstance(node, Step) for node in self.body) and len(self.body) == len(self)


@attrs.frozen
class Loop:
    """``for each NOUN ...``: ``source`` is the get step whose records it goes over, or a
    :class:`Ref` to a remembered list; inside ``body``, ``the NOUN`` is the record."""

    noun: str
    book: str
    source: Any
    body: tuple[Any, ...]
    line: int
    text: str


@attrs.frozen
class Decide:
    """``if`` blocks: the first whose condition holds runs, else ``otherwise``."""

    branches: tuple[tuple[Any, tuple[Any, ...]], ...]
    otherwise: tuple[Any, ...] | None
    line: int


@attrs.frozen
class Output:
    """``say`` (``parts``: text and references) or ``show`` (one value)."""

    kind: str
    line: int
    text: str
    parts: tuple[Any, ...]


@attrs.frozen
class Halt:
    """``stop`` (the run succeeds here) or ``fail with "..."`` (``failed``)."""

    failed: bool
    reason: str
    line: int


@attrs.frozen
class Compare:
    """A comparison in an ``if``: ``left`` (a :class:`Ref`, or a literal) against
    ``where``, a filter on the field ``value`` (its values converted, or references);
    ``currency`` the currency of a money literal compared with."""

    left: Any
    where: Any
    currency: str | None
    span: ast.Span | None


@attrs.frozen
class Emptiness:
    """``there are no NOUNS`` (``negated``: there are some)."""

    ref: Ref
    negated: bool


@attrs.frozen
class Tally:
    """``the number of NOUNS`` or ``the total of the NOUNS' FIELD``: ``ref`` names the
    list; ``path`` the field added up (money: per currency, from each record's
    ``currency``)."""

    kind: str
    ref: Ref
    path: tuple[str, ...]
    money: bool
    raw: str


@attrs.frozen
class Unless:
    """``not CONDITION``."""

    item: Any


_TEMPLATE = re.compile(r"(\{\{|\}\}|\{[^{}]*\})")


@functools.lru_cache(maxsize=1024)
def _parse_reference(text: str) -> ast.Reference | ast.Aggregate:
    """A reference in a ``say`` text's braces, read once for every text that holds it (the
    body of a loop says the same ones again and again); what is read is never changed."""
    from .language.parser import parse_reference

    return parse_reference(text)
#: stands for the noun of a comparison's left side in messages
_VALUE_NOUN = Noun("value", "values", ())


def _literal_kind(node: Any) -> str:
    return {ast.Text: "string", ast.Number: "number", ast.Money: "integer",
            ast.Boolean: "boolean", ast.Date: "timestamp",
            ast.DateTime: "timestamp"}.get(type(node), "any")


def _rename(where: Any, name: str) -> Any:
    """``where`` about the field ``value`` (what the left side holds when the check runs)."""
    if isinstance(where, Condition):
        return Condition(("value",), where.op, where.value)
    return type(where)(tuple(_rename(item, name) for item in where.items))


def command_source(command: ast.Command) -> str:
    """A command and its input lines as written, spacing aside."""
    lines = [command.text, *(item.text for item in command.inputs
                             if item.span.line != command.line)]
    return "\n".join(" ".join(line.split()) for line in lines)


def _refs(fields: Mapping[str, Any], where: Any, *ids: Any) -> list[Ref]:
    """Every reference among a step's values: its fields, its filter and its ids."""
    found: list[Ref] = []
    _walk(fields, found)
    _walk_filter(where, found)
    found.extend(v for v in ids if isinstance(v, Ref))
    return found


def _walk(fields: Mapping[str, Any], found: list[Ref]) -> None:
    for value in fields.values():
        if isinstance(value, Mapping):
            _walk(value, found)
        elif isinstance(value, list):
            for item in value:
                _add_refs(item, found)
        else:
            _add_refs(value, found)


def _add_refs(value: Any, found: list[Ref]) -> None:
    """The references one value holds: itself, those of its text, or the time it moves."""
    if isinstance(value, Ref):
        found.append(value)
    elif isinstance(value, Filled):
        found.extend(value.refs())
    elif isinstance(value, Moved):
        found.append(value.ref)


def _walk_filter(where: Any, found: list[Ref]) -> None:
    if isinstance(where, Condition):
        values = where.value if isinstance(where.value, list) else [where.value]
        for item in values:
            _add_refs(item, found)
    elif isinstance(where, (And, Or)):
        for item in where.items:
            _walk_filter(item, found)


def _materialize(ref: Ref, resolve: Callable[[Ref], Any], step: Step) -> Any:
    """The value ``ref`` stands for now, converted for its input."""
    raw = resolve(ref)
    if isinstance(raw, Unknown):
        return raw
    if raw is None or raw == "":
        if not ref.needed:
            return _OMIT
        what = "is empty" if raw == "" else "has no value"
        raise StepInputError(f'line {ref.span.line if ref.span else step.line}: "{ref.raw}" '
                             f"{what}, and {step.text!r} needs it",
                             hint="give it a value, or leave the input out where it is "
                             "optional")
    if ref.field is None:
        return raw.id if isinstance(raw, Record) else raw
    try:
        return convert(raw, ref.field, ref.currency, ref.zone)
    except InvalidCall as exc:
        raise StepInputError(f'line {ref.span.line if ref.span else step.line}: "{ref.raw}" '
                             f"is {_shown(raw)}: {exc.message}", hint=exc.hint) from None


def _shown(value: Any) -> str:
    if isinstance(value, Record):
        return f"{value.noun} {value.id}"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve_fields(fields: Mapping[str, Any], value: Callable[[Any], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in fields.items():
        if isinstance(item, Mapping):
            nested = _resolve_fields(item, value)
            if nested:
                out[key] = nested
        elif isinstance(item, list):
            items = [value(v) for v in item]
            out[key] = [v for v in items if v is not _OMIT]
        else:
            resolved = value(item)
            if resolved is not _OMIT:
                out[key] = resolved
    return out


def _resolve_filter(where: Any, value: Callable[[Any], Any]) -> Any:
    if where is None:
        return None
    if isinstance(where, Condition):
        found = where.value
        found = [value(v) for v in found] if isinstance(found, list) else value(found)
        return Condition(where.field, where.op, found)
    kind = And if isinstance(where, And) else Or
    return kind(tuple(_resolve_filter(item, value) for item in where.items))


# --------------------------------------------------------------------------- values


NOWHERE = ast.Span(0, 0, 0)


@attrs.frozen
class _Plain:
    """A value given from Python that has no literal form (a mapping for a field of any
    shape); taken as it is where the field takes any value or named fields."""

    value: Any
    raw: str
    span: ast.Span = NOWHERE


def _node(value: Any, field: Field) -> Any:
    """A value given from Python, a CSV cell, the command line or an earlier result, as
    the language would have written it, so that it is checked and converted as the same
    value in an automation would be. Text given for a number, an amount, a date or a
    yes/no field is read as that literal (``"1500"``, ``"$15.00"``, ``"2025-01-31"``,
    ``"true"``)."""
    if isinstance(value, Record):
        value = value.id
    if isinstance(value, bool):
        return ast.Boolean(value, "true" if value else "false", NOWHERE)
    if isinstance(value, int):
        return ast.Number(value, str(value), NOWHERE)
    if isinstance(value, float):
        value = decimal.Decimal(repr(value))
    if isinstance(value, decimal.Decimal):
        return ast.Number(value, str(value), NOWHERE)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return ast.DateTime(value, value.isoformat(sep=" "), NOWHERE)
    if isinstance(value, datetime.date):
        return ast.Date(value, value.isoformat(), NOWHERE)
    if isinstance(value, str):
        kind = field.type
        if kind == "list" and field.children:
            kind = field.children[0].type
        if kind in ("integer", "number", "timestamp", "boolean"):
            from .language.parser import parse_value

            try:
                return parse_value(value)
            except LanguageError:
                pass  # refused below as text where a number is wanted
        return ast.Text(value, f'"{value}"', NOWHERE)
    if isinstance(value, (list, tuple)):
        item_field = field.children[0] if field.type == "list" and field.children else field
        return ast.ListValue(tuple(_node(v, item_field) for v in value), None, NOWHERE)
    return _Plain(value, _shown(value))


class Values:
    """Converting a value for a field: a literal as written, or a value given from Python
    (see :func:`_node`). Problems go to :meth:`error`; the converted value, or None after
    a problem, comes back. Dates and times are read in :attr:`zone`."""

    zone = "UTC"

    def error(self, span: ast.Span | None, message: str, hint: str | None = None) -> None:
        raise NotImplementedError

    def value(self, node: Any, field: Field, currency: str | None) -> Any:
        """A literal converted for ``field``, or None after an error."""
        kind = field.type
        if isinstance(node, _Plain):
            if kind in ("any", "object") or (kind == "list" and isinstance(node.value, list)):
                return node.value
            return self.wrong_type(node, field)
        if isinstance(node, ast.ListValue):
            if kind not in ("list", "any"):
                self.error(node.span, f'"{field.name}" takes one value, not a list')
                return None
            item_field = field.children[0] if field.children else Field(field.name, "any")
            return [self.value(v, item_field, currency) for v in node.items]
        if kind == "list":
            item_field = field.children[0] if field.children else Field(field.name, "any")
            return [self.value(node, item_field, currency)]
        if isinstance(node, ast.Money):
            if kind not in ("integer", "number", "any"):
                return self.wrong_type(node, field)
            return self.money(node, currency, signed=field.signed)
        if isinstance(node, ast.Text):
            return self.text(node, field)
        if isinstance(node, ast.Boolean):
            if kind in ("boolean", "any"):
                return node.value
            return self.wrong_type(node, field)
        if isinstance(node, ast.Number):
            return self.number(node, field)
        if isinstance(node, (ast.Date, ast.DateTime)):
            if kind not in ("timestamp", "any", "integer"):
                return self.wrong_type(node, field)
            return _timestamp(node, self.zone)
        if isinstance(node, ast.Moment):
            if kind not in ("timestamp", "any", "integer"):
                return self.wrong_type(node, field)
            return _when(node, self.zone, "end" if node.edge == "end" else "start")
        return self.wrong_type(node, field)

    def text(self, node: ast.Text, field: Field) -> Any:
        kind = field.type
        if field.name == "currency" and not field.choices and node.value.lower() not in (
                DECIMALS):
            close = closest(node.value.lower(), list(DECIMALS))
            self.error(node.span, f'unknown currency "{node.value}"'
                       + (f'; did you mean "{close[0]}"?' if close else ""),
                       hint="use a three-letter ISO code such as usd, eur or jpy")
            return None
        if kind in ("string", "any"):
            if field.choices and node.value not in field.choices:
                close = closest(node.value, field.choices)
                self.error(node.span, f'"{node.value}" is not a valid {field.name}'
                           + (f'; did you mean "{close[0]}"?' if close else ""),
                           hint="one of: " + ", ".join(field.choices))
                return None
            return node.value
        return self.wrong_type(node, field)

    def number(self, node: ast.Number, field: Field) -> Any:
        kind = field.type
        if kind == "string" and node.span is NOWHERE:
            # a number from Python or an earlier result, for a text field: its digits
            return str(node.value)
        if kind in ("integer", "timestamp"):
            if not isinstance(node.value, int):
                self.error(node.span, f'"{field.name}" takes a whole number, not '
                           f"{node.raw}", hint="amounts are in the smallest unit "
                           "(cents); write $15.00 or 15.00 usd for money")
                return None
            if node.value < 0 and field.name in _AMOUNT_FIELDS and not field.signed:
                self.error(node.span, f'"{field.name}" cannot be negative')
                return None
            if abs(node.value) >= 2**63:
                self.error(node.span, f"{node.raw} is too large")
                return None
            return node.value
        if kind in ("number", "any"):
            return node.value
        return self.wrong_type(node, field)

    def wrong_type(self, node: Any, field: Field) -> None:
        wanted = _TYPE_WORDS.get(field.type, field.type)
        got = _TYPE_WORDS.get(type(node).__name__.lower().lstrip("_"), "this value")
        hint = None
        if field.type == "string" and isinstance(node, (ast.Number, ast.Boolean, ast.Money,
                                                         ast.Date, ast.DateTime)):
            hint = f'put it in quotes: "{node.raw}"'
            if field.help == _FREE_FORM:
                hint = f'{field.help} values are text: write "{node.raw}"'
        elif field.choices:
            hint = "one of: " + ", ".join(field.choices)
        said = node.raw if isinstance(node, ast.Boolean) else f"{got} {node.raw}"
        self.error(node.span, f'"{field.name}" takes {wanted}, not {said}', hint=hint)
        return None

    def money(self, node: ast.Money, currency: str | None, *, signed: bool = False
              ) -> int | None:
        written = node.currency
        if node.symbol and not written:
            options = SYMBOLS.get(node.symbol, ())
            written = currency if currency in options else node.assumed_currency
        if written and currency and written != currency:
            self.error(node.span, f"{node.raw} is in {written.upper()} but the currency is "
                       f'"{currency}"', hint="make them agree, or write a plain number in "
                       "the smallest unit")
            return None
        code = written or currency
        if code is None:
            self.error(node.span, f"{node.raw}: which currency?",
                       hint="write it like 15.00 usd")
            return None
        if node.amount < 0 and not signed:
            self.error(node.span, f"{node.raw}: amounts cannot be negative")
            return None
        try:
            units = minor_units(node.amount, code)
        except MoneyError as exc:
            self.error(node.span, f"{node.raw}: {exc}",
                       hint=None if code in DECIMALS else "use an ISO code such as usd, eur, "
                       "jpy")
            return None
        if units >= 2**63:
            # no service stores an amount past a 64-bit integer; it would only fail there
            self.error(node.span, f"{node.raw} is too large")
            return None
        return units


class _Converter(Values):
    """Values converted outside an automation: the first problem is raised."""

    def __init__(self, zone: str = "UTC") -> None:
        self.zone = zone

    def error(self, span: ast.Span | None, message: str, hint: str | None = None) -> None:
        raise InvalidCall(message, hint=hint)


_CONVERTERS = {"UTC": _Converter()}


def convert(value: Any, field: Field, currency: str | None = None,
            zone: str = "UTC") -> Any:
    """``value`` (from Python, a CSV cell or an earlier result) converted for ``field``
    exactly as the same value written in an automation would be; :class:`InvalidCall` when
    it does not fit. Text too long or an id of the wrong kind are the book's to find
    (``check_call``)."""
    if isinstance(value, Mapping) and field.type in ("object", "any"):
        return dict(value)
    if field.type == "string" and isinstance(value, str) and not field.choices \
            and field.name != "currency":
        return value  # (the common case, made quick)
    converter = _CONVERTERS.get(zone)
    if converter is None:
        converter = _CONVERTERS[zone] = _Converter(zone)
    return converter.value(_node(value, field), field, currency)


def _timestamp(node: ast.Date | ast.DateTime, zone: str = "UTC") -> int:
    """Unix seconds of a date (its start) or a date and time, read in ``zone``."""
    moment = node.value
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime(moment.year, moment.month, moment.day)
    return int(moment.replace(tzinfo=_zone(zone)).timestamp())


def _zone(name: str) -> datetime.tzinfo:
    if name == "UTC":
        return datetime.UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _day_end(start: int, zone: str) -> int:
    """The end of the day that begins at ``start`` in ``zone`` (23, 24 or 25 hours later
    where the clocks change)."""
    tz = _zone(zone)
    day = datetime.datetime.fromtimestamp(start, tz).date() + datetime.timedelta(days=1)
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


# --------------------------------------------------------------------------- checking


class _Reported(Exception):
    """An error was reported for this command; checking it goes no further."""


@attrs.frozen
class _Given:
    """One input of a command: written in the automation (an :class:`ast.Input`), or given
    from Python (``path`` and a plain value, no place)."""

    path: tuple[str, ...]
    value: Any
    field_span: ast.Span | None
    value_span: ast.Span | None
    written: str

    @classmethod
    def of(cls, item: ast.Input) -> _Given:
        span = item.value.span if hasattr(item.value, "span") else item.span
        return cls(item.field.parts, item.value, item.field.span, span, str(item.field))


class Checker(Values):
    """Checks one automation. Collects every problem rather than stopping at the first.

    ``placeless``: the command was not written in a file (a procedure called from Python
    or the command line), so problems have no line to point at.
    """

    def __init__(self, runtime: Runtime, automation: ast.Automation,
                 given: Iterable[str] = (), columns: Iterable[str] | None = None,
                 *, placeless: bool = False) -> None:
        self.rt = runtime
        self.auto = automation
        self.errors: list[LanguageError] = []
        #: what may follow each verb word's "as" (see _complements; made on first use)
        self._by_word: dict[str, set[str | None]] | None = None
        #: context names available so far: "customer", "customers", "row", ...
        self.produced: set[str] = set(given)
        #: the columns "the row's COLUMN" may name, when the rows are known
        self.columns: set[str] | None = set(columns) if columns is not None else None
        self.books = runtime.plugins.books()
        self.placeless = placeless
        #: results named with "as the ...": the noun of each, and whether it is a list
        self.names: dict[str, tuple[str, bool]] = {}
        #: each book's time zone, read once (reading it looks at the stored connection)
        self.zones: dict[str, str] = {}
        #: the inputs of each procedure by name, made once (never changed)
        self.accepted: dict[tuple[str, str, str], dict[str, Field]] = {}
        #: each book's check of a call (see Plugins.call_checker), found once
        self.call_checkers: dict[str, Callable[[Call], list[Problem]]] = {}
        #: what each command's words name (see procedure_for), found once
        self.procedures_named: dict[tuple[Any, ...], tuple[Book, Noun, Procedure]] = {}
        #: the procedure of each book, noun, verb and number (see _procedure), found once
        self.procedures_found: dict[tuple[str, str, str, bool], Procedure | None] = {}
        #: the book and noun each word names (see find_noun), found once
        self.nouns_found: dict[tuple[str, str | None], tuple[Book, Noun] | None] = {}

    # ---------------------------------------------------------------- helpers

    def error(self, span: ast.Span | None, message: str, hint: str | None = None) -> None:
        if span is NOWHERE or self.placeless:
            span = None
        self.errors.append(LanguageError.at(span, self.auto, message, hint=hint))

    def all_verbs(self) -> list[str]:
        """Every verb an automation may start with, as written (``mark ... as
        uncollectible``)."""
        verbs = {v for b in self.books for n in b.nouns for v in n.verbs}
        verbs.update(f"{a.word} ... as {a.complement}" if a.complement else a.word
                     for b in self.books for n in b.nouns for a in n.actions)
        return sorted(verbs)

    def verb_words(self) -> KeysView[str]:
        """The words that start a command: record duties and every action's word (made
        once an automation: the books do not change while it is checked)."""
        return self._complements().keys()

    def complements(self, word: str) -> set[str | None]:
        """What may follow ``as`` after ``word`` (None: nothing)."""
        return self._complements().get(word, set())

    def _complements(self) -> dict[str, set[str | None]]:
        found = self._by_word
        if found is None:
            found = {}
            for b in self.books:
                for n in b.nouns:
                    for verb in n.verbs:
                        found.setdefault(verb, set()).add(None)
                    for a in n.actions:
                        found.setdefault(a.word, set()).add(a.complement)
            self._by_word = found
        return found

    @staticmethod
    def verb_of(noun: Noun, word: str, complement: str | None,
                phrase: str | None = None) -> str | None:
        """The procedure verb ``word`` (``as complement``, and ``phrase``) names for
        ``noun``."""
        if complement is None and phrase is None and word in noun.verbs:
            return word
        action = noun.action_for(word, complement, phrase)
        return action.name if action is not None else None

    def all_nouns(self, book: Book | None = None) -> list[str]:
        names: list[str] = []
        for b in [book] if book else self.books:
            for n in b.nouns:
                names.extend([n.name, n.plural, *n.aliases])
        return names

    def find_noun(self, word: str, book: Book | None = None) -> tuple[Book, Noun] | None:
        key = (word, book.name if book else None)
        if key in self.nouns_found:
            return self.nouns_found[key]
        found = None
        for b in [book] if book else self.books:
            noun = b.noun(word)
            if noun is not None:
                found = b, noun
                break
        self.nouns_found[key] = found
        return found

    # ---------------------------------------------------------------- entry

    def check(self) -> Program:
        """Every statement, blocks included: the steps in the order written (each
        command's index is its place among them), and the tree they run in."""
        self.steps: list[Step] = []
        self.left: dict[str, int] = {}  # names known only inside a block, and its line
        zones = [s for s in self.auto.statements if isinstance(s, ast.Zone)]
        for extra in zones[1:]:
            self.error(extra.span, '"in time zone" is given twice; first on line '
                       f"{zones[0].line}", hint="keep only one of them")
        if zones:
            from .model import ConfigurationError
            from .runtime import zone_problem

            try:
                zone_problem(zones[0].name.value, "the time zone")
                self.fixed_zone: str | None = zones[0].name.value
            except ConfigurationError as exc:
                self.error(zones[0].name.span, exc.message, hint=exc.hint)
        body = self.block(self.auto.statements)
        LanguageErrors.raise_if_any(self.errors)
        return Program(self.steps, tuple(body))

    def block(self, statements: Iterable[Any]) -> list[Any]:
        """Check statements in the scope as it is; what they produce is known after them
        (the caller decides whether beyond the block)."""
        nodes: list[Any] = []
        for statement in statements:
            node = self.statement(statement)
            if node is not None:
                nodes.append(node)
        return nodes

    def scoped(self, statements: Iterable[Any], line: int,
               extra: Iterable[str] = ()) -> tuple[Any, ...]:
        """A block whose names stay inside it (a loop's record, what its steps made)."""
        before = set(self.produced)
        self.produced.update(extra)
        nodes = self.block(statements)
        for name in self.produced - before:
            self.left.setdefault(name, line)
        self.produced = before
        return tuple(nodes)

    def statement(self, statement: Any) -> Any:
        if isinstance(statement, ast.Command) and statement.owner is not None:
            statement = self.owned(statement)
            if statement is None:
                return None
        if isinstance(statement, ast.Command):
            bulk = self.bulk(statement)
            if bulk is not None:
                return bulk or None  # (False: refused, and said why)
            return self.command_step(statement)
        if isinstance(statement, ast.ForEach):
            return self.loop(statement)
        if isinstance(statement, ast.If):
            branches = []
            for branch in statement.branches:
                check = self.condition(branch.check)
                body = self.scoped(branch.body, branch.span.line)
                branches.append((check, body))
            otherwise = (self.scoped(statement.otherwise, statement.line)
                         if statement.otherwise is not None else None)
            return Decide(tuple(branches), otherwise, statement.line)
        if isinstance(statement, ast.Say):
            return Output("say", statement.line, statement.line_text.strip(),
                          self.template(statement.text))
        if isinstance(statement, ast.Show):
            value = statement.value
            shown = (self.reference(value) if isinstance(value, ast.Reference)
                     else self.tally(value) if isinstance(value, ast.Aggregate)
                     else self.literal(value))
            return Output("show", statement.line, statement.line_text.strip(), (shown,))
        if isinstance(statement, ast.Zone):
            return None  # (read before the first statement: see check)
        if isinstance(statement, ast.Stop):
            return Halt(False, "", statement.line)
        if isinstance(statement, ast.When | ast.Every):
            # (kbooks listen checks each such block as its own automation: handlers.py)
            self.error(statement.span, f'"{statement.text.strip()}" runs when its event '
                       "happens or at its times, not as part of a run",
                       hint="listen for it: kbooks listen FILE (kbooks listen --check FILE "
                       "checks it)")
            return None
        assert isinstance(statement, ast.Fail)
        return Halt(True, statement.reason.value, statement.line)

    def owned(self, cmd: ast.Command) -> ast.Command | None:
        """``get the invoice's customer`` as ``get a customer with the id is the invoice's
        customer``, and ``get the customer's invoices`` as ``get all invoices for the
        customer``: through the relations the book declares (None after reporting why
        not)."""
        owner = cmd.owner
        assert owner is not None
        if GET_WORDS_MAP.get(cmd.verb, cmd.verb) != "get":
            what = owner.raw.removeprefix("the ")
            self.error(owner.span, f'"{cmd.verb} {owner.raw}": a command names what it acts '
                       "on, not a field of it", hint=f"get it first: get {owner.raw}, then "
                       f"{cmd.verb} the {what.rsplit(chr(39) + 's ', 1)[-1]}")
            return None
        found = self.find_noun(owner.noun)
        if found is None or len(owner.path) != 1:
            hint = ("name one record and one of its fields, like: get the invoice's customer"
                    if found is not None else None)
            self.error(owner.span, f'"{owner.raw}" names no record of a book' if found is None
                       else f'"{owner.raw}": only a field of the record itself can be got',
                       hint=hint)
            return None
        book, noun = found
        field = owner.path[0]
        relation = next((r for r in noun.relations if r.field == field), None)
        other = self.find_noun(cmd.noun, book)
        target = (relation.noun if relation is not None
                  else other[1].name if other is not None and field == other[1].name else None)
        if target is None and other is not None and other[1].relation(noun.name) is not None:
            # the records of another noun that name this one: a list filter
            whole = ast.Reference(owner.noun, (), f"the {owner.noun}", owner.span)
            return attrs.evolve(cmd, determiner="all", noun=other[1].plural, owner=None,
                                preposition="for", preposition_span=owner.span, target=whole)
        if target is None:
            related = sorted(r.field.replace("_", " ") for r in noun.relations)
            self.error(owner.span, f'"{owner.raw}" is not a record {book.name} relates to '
                       f"{_article(noun.name)} {noun.name}",
                       hint=(f"{_article(noun.name)} {noun.name} names: " + ", ".join(related))
                       if related else f"{_article(noun.name)} {noun.name} names no other "
                       f"record; to use the field, write it as a value: {owner.raw}")
            return None
        value = ast.Reference(owner.noun, owner.path, owner.raw, owner.span)
        given = ast.Input(ast.FieldPath(("id",), "id", owner.span), value, owner.span, cmd.text)
        return attrs.evolve(cmd, determiner="a", noun=target, owner=None,
                            inputs=(*cmd.inputs, given))

    def command_step(self, command: ast.Command) -> Step | None:
        index = len(self.steps)
        before = len(self.errors)
        step = self.check_command(index, command)
        if step is None:
            # a placeholder keeps each later command's index its place among the commands
            self.steps.append(None)  # type: ignore[arg-type]
            return None
        self.steps.append(step)
        # (when it had errors, later references to its result are not errors of their own)
        self.produced.update(step.produces)
        return step if len(self.errors) == before else None

    def bulk(self, cmd: ast.Command) -> Loop | bool | None:
        """``void all invoices from stripe whose ...``: a verb that acts on one record,
        said of every record a get finds, is that get and a loop doing it to each."""
        verb = GET_WORDS_MAP.get(cmd.verb, cmd.verb)
        if verb == "get" or verb == "add":
            return None
        found = self.find_noun(cmd.noun)
        if found is None:
            return None
        book, noun = found
        named = self.verb_of(noun, verb, cmd.complement, cmd.phrase)
        plural = cmd.noun == noun.plural or cmd.determiner in PLURAL_DETERMINERS
        if not plural or named is None or named == "create":
            return None
        source: Any
        if cmd.determiner == "the" and cmd.whose is None and cmd.target is None:
            # "void the invoices": the list an earlier step got, not every invoice
            source = self.reference(ast.Reference(noun.plural, (), f"the {noun.plural}",
                                                  cmd.noun_span))
            if source is None:
                return False
        elif cmd.determiner in ("all", "every"):
            get = attrs.evolve(cmd, verb="get", determiner="all", complement=None,
                               complement_span=None, inputs=(), inputs_keyword=None,
                               inputs_keyword_span=None, phrase=None, phrase_span=None,
                               time=None, by=None, time_span=None)
            source = self.command_step(get)
            if source is None:
                return False
            self.produced.discard(noun.plural)
        else:
            return None  # (refused as acting on one record at a time)
        each = attrs.evolve(cmd, determiner="the", noun=noun.name, preposition=None,
                            preposition_span=None, target=None, whose=None)
        body = self.scoped((each,), cmd.line, (noun.name,))
        return Loop(noun.name, book.name, source, body, cmd.line, cmd.text.strip())

    def loop(self, statement: ast.ForEach) -> Loop | None:
        found = self.find_noun(statement.noun)
        if found is None:
            close = closest(statement.noun, self.all_nouns())
            self.error(statement.noun_span, f'unknown noun "{statement.noun}"'
                       + (f'; did you mean "{close[0]}"?' if close else ""))
            return None
        book, noun = found
        source: Any
        if isinstance(statement.source, ast.Command):
            source = self.command_step(statement.source)
            if source is None:
                return None
            self.produced.discard(noun.plural)  # the loop's list, not remembered
        else:
            written = statement.source or ast.Reference(
                noun.plural, (), f"the {noun.plural}", statement.noun_span)
            source = self.list_source(written, noun, statement)
            if source is None:
                return None
        body = self.scoped(statement.body, statement.line, (noun.name,))
        return Loop(noun.name, book.name, source, body, statement.line,
                    statement.text.strip())

    def list_source(self, ref: ast.Reference, noun: Noun, statement: ast.ForEach) -> Any:
        """What a loop goes over: a remembered list of the noun, or a related list
        (``the customer's invoices``, a get by the relation's filter)."""
        found = self.find_noun(ref.noun)
        if found is not None and ref.path == (noun.plural.replace(" ", "_"),) or (
                found is not None and len(ref.path) == 1
                and self.find_noun(ref.path[0].replace("_", " ")) is not None):
            owner = found[1] if found else None
            related = self.find_noun(ref.path[0].replace("_", " "))
            assert related is not None and owner is not None
            if related[1].name != noun.name:
                self.error(ref.span, f'"{ref.raw}" are {related[1].plural}, not '
                           f"{noun.plural}", hint=f"for each {related[1].name} in {ref.raw}")
                return None
            relation = noun.relation(owner.name)
            if relation is None:
                self.error(ref.span, f"{_article(noun.name)} {noun.name} is not related to "
                           f"{_article(owner.name)} {owner.name}",
                           hint=f"{noun.plural} are related to: "
                           + (", ".join(r.noun for r in noun.relations) or "nothing"))
                return None
            from .language.parser import parse_command

            get = parse_command(f"get all {noun.plural} for the {owner.name}")
            step = self.command_step(get)
            self.produced.discard(noun.plural)
            return step
        produced = self.reference(ref)
        if produced is None:
            return None
        named = self.names.get(produced.noun)
        if named == (noun.name, True) and not produced.path:
            return produced
        if produced.noun != noun.plural or produced.path:
            self.error(ref.span, f'"{ref.raw}" is not a list of {noun.plural}',
                       hint=f"loop over {noun.plural}: for each {noun.name} in the "
                       f"{noun.plural}")
            return None
        return produced

    def text(self, node: ast.Text, field: Field) -> Any:
        """A text written in the automation: with references in braces it is filled in
        when the step runs (:class:`Filled`); ``{{`` and ``}}`` are braces themselves. (A
        value given from Python or a CSV cell is taken as it is: see :func:`_node`.)"""
        if node.span is NOWHERE or ("{" not in node.value and "}" not in node.value) or \
                field.type not in ("string", "any"):
            return super().text(node, field)
        parts = self.template(node)
        if all(isinstance(part, str) for part in parts):
            return super().text(attrs.evolve(node, value="".join(parts)), field)
        if field.choices:
            self.error(node.span, f'"{field.name}" is one of fixed choices, not a text '
                       "filled in when the step runs", hint="one of: "
                       + ", ".join(field.choices))
            return None
        return Filled(parts, node.raw, node.span)

    def template(self, text: ast.Text) -> tuple[Any, ...]:
        """The parts of a text: plain text, and the references in braces."""
        parts: list[Any] = []
        for piece in _TEMPLATE.split(text.value):
            if piece.startswith("{") and piece.endswith("}") and not piece.startswith("{{"):
                try:
                    node = _parse_reference(piece[1:-1])
                except LanguageError as exc:
                    self.error(text.span, f"in {{{piece[1:-1]}}}: {exc.message}",
                               hint='write references in braces: "{the customer\'s name}"')
                    continue
                node = attrs.evolve(node, span=text.span)
                found = (self.tally(node) if isinstance(node, ast.Aggregate)
                         else self.reference(node))
                if found is not None:
                    parts.append(found)
            elif piece:
                parts.append(piece.replace("{{", "{").replace("}}", "}"))
        return tuple(parts)

    def tally(self, node: ast.Aggregate) -> Tally | None:
        """Check ``the number of NOUNS`` / ``the total of the NOUNS' FIELD``."""
        ref = node.ref
        listed = ast.Reference(ref.noun, (), f"the {ref.noun}", ref.span)
        found = self.reference(listed)
        if found is None:
            return None
        named = self.names.get(found.noun)
        noun = self.find_noun(named[0] if named and named[1] else ref.noun)
        if noun is None or (found.noun != noun[1].plural and not (named and named[1])):
            self.error(ref.span, f'"{listed.raw}" is not a list to count or add up',
                       hint="like: the number of invoices, after getting them")
            return None
        money = False
        if node.kind == "total":
            book, one = noun
            field = self.record_path(ast.Reference(one.name, ref.path, ref.raw, ref.span),
                                     book, one, one.name)
            if field is False:
                return None
            if isinstance(field, Field) and field.type not in ("integer", "number", "any"):
                self.error(ref.span, f'"{ref.raw}" is {_TYPE_WORDS.get(field.type)}; only '
                           "numbers and amounts add up")
                return None
            fields = self.rt.inputs(book.name, one.name, "get")
            money = any(f.name == "currency" for f in fields)
        return Tally(node.kind, found, ref.path, money, node.raw)

    def literal(self, node: Any) -> Any:
        if isinstance(node, ast.Text):
            return node.value
        return getattr(node, "value", None)

    def condition(self, check: Any) -> Any:
        """An ``if``'s condition: references resolved in scope, types checked, values
        converted, as ``whose`` conditions are."""
        if isinstance(check, ast.Not):
            inner = self.condition(check.item)
            return None if inner is None else Unless(inner)
        if isinstance(check, (ast.Both, ast.Either)):
            items = tuple(self.condition(item) for item in check.items)
            if any(item is None for item in items):
                return None
            return And(items) if isinstance(check, ast.Both) else Or(items)
        if isinstance(check, ast.Empty):
            ref = self.reference(check.ref)
            if ref is None:
                return None
            found = self.find_noun(check.ref.noun)
            named = self.names.get(ref.noun, ("", False))[1]
            if not named and (found is None or ref.noun != found[1].plural or ref.path):
                self.error(check.ref.span, f'"{check.ref.raw}" is not a list',
                           hint="like: there are no invoices, after getting them")
                return None
            return Emptiness(ref, check.negated)
        assert isinstance(check, ast.Test)
        left: Any
        if isinstance(check.left, ast.Aggregate):
            left = self.tally(check.left)
            if left is None:
                return None
            kind, name = "integer", "number" if left.kind == "number" else left.path[-1]
        elif isinstance(check.left, ast.Reference):
            left = self.reference(check.left)
            if left is None:
                return None
            kind = left.kind or "any"
            name = left.path[-1] if left.path else "id"
        else:
            left = self.literal(check.left)
            kind, name = _literal_kind(check.left), "value"
        field = Field(name, kind if kind in _FIELD_KINDS else "any")  # type: ignore[arg-type]
        where = self.where(ast.Condition(ast.FieldPath((name,), name, check.left.span),
                                         check.op, check.op_raw, check.right, check.span,
                                         check.op_span), {name: field}, _VALUE_NOUN, "compare")
        if where is None:
            return None
        money = check.right.currency if isinstance(check.right, ast.Money) else None
        if isinstance(check.right, ast.Money) and money is None:
            money = check.right.assumed_currency
        return Compare(left, _rename(where, name), money, check.left.span)

    def check_command(self, index: int, cmd: ast.Command,
                      extra: Iterable[_Given] = ()) -> Step | None:
        found = self.procedure_for(cmd)
        if found is None:
            return None
        book, noun, proc = found
        self.zone = getattr(self, "fixed_zone", None) or self.zones.get(book.name) \
            or self.zones.setdefault(book.name, self.rt.time_zone(book.name))
        key = (book.name, noun.name, proc.verb)
        accepted = self.accepted.get(key)
        if accepted is None:
            accepted = self.accepted[key] = {f.name: f for f in self.rt.inputs(*key)}
        given = [_Given.of(item) for item in cmd.inputs]
        if cmd.amount is not None:
            amount = self.amount_of(cmd, noun, proc.verb)
            if amount is None:
                return None
            extra = (*extra, amount)
        action = noun.action(proc.verb)
        if action is not None and action.things:
            cmd, said = self.on_target(cmd, noun, action)
            # (inputs given from Python say them instead: "id=..., discounts=[...]")
            extra = (*extra, *(item for item in said
                               if all(other.path != item.path for other in extra)))
        elif cmd.thing is not None:
            raw = cmd.text[cmd.thing.span.column - 1:cmd.thing.span.end_column - 1]
            self.error(cmd.thing.span, f'{raw} means nothing to "{cmd.verb} the '
                       f'{cmd.noun}"', hint=f"delete {raw}; to name the "
                       f"{noun.name}: ... with the id is {raw}")
            return None
        if cmd.time_span is not None:
            moved_to = self.time_of(cmd, noun, proc.verb)
            if moved_to is None:
                return None
            extra = (*extra, moved_to)
        for item in extra:
            earlier = next((g for g in given if g.path == item.path), None)
            if earlier is not None:
                self.error(earlier.field_span, f'"{item.written}" is given twice: in the '
                           "command and as an input", hint="keep only one of them")
                continue
            given.append(item)
        step = self.build_step(index, cmd, book, noun, proc, accepted, given)
        if step is not None:
            self.book_check(step)
        return step

    def on_target(self, cmd: ast.Command, noun: Noun,
                  action: Action) -> tuple[ast.Command, list[_Given]]:
        """``apply the coupon "SUMMER25" to the subscription``: the command as one on the
        target record, and the inputs its words give (the record's id, the thing's)."""
        target = cmd.target
        assert isinstance(target, ast.Reference)
        said = [_Given(("id",), target, target.span, target.span, "the id")]
        if action.thing_input is not None:
            thing: Any = cmd.thing
            if thing is None:  # "apply the coupon to ...": the one remembered
                thing = ast.Reference(cmd.noun, ("id",), f"the {cmd.noun}'s id", cmd.noun_span)
            said.append(_Given((action.thing_input,), thing, cmd.noun_span, thing.span,
                               f"the {action.thing_input.replace('_', ' ')}"))
        return attrs.evolve(cmd, target=None, preposition=None, preposition_span=None), said

    def time_of(self, cmd: ast.Command, noun: Noun, verb: str) -> _Given | None:
        """``to 2027-01-01`` or ``by 1 month``: the time input the action declares for it,
        set or moved from the record's own (None after reporting that it takes none)."""
        action = noun.action(verb)
        span = cmd.time_span
        assert span is not None
        written = cmd.text[span.column - 1:span.end_column - 1]
        if action is None or action.time is None:
            takes = [a.english(noun.name) for a in noun.actions if a.time]
            self.error(span, f'"{written}" means nothing to "{cmd.verb} the {noun.name}"',
                       hint=f'delete "{written}"' + (
                           f" (a time is said for: {', '.join(takes)})" if takes else ""))
            return None
        name = f"the {action.time.replace('_', ' ')}"
        if cmd.time is not None:
            return _Given((action.time,), cmd.time, span, getattr(cmd.time, "span", span),
                          name)
        assert cmd.by is not None
        if noun.name not in self.produced or cmd.input("id") is not None:
            self.error(span, f'"{written}" moves the {noun.name}\'s {name[4:]} from what it '
                       f"is, but no {noun.name} is known here to read it from",
                       hint=f"get or create the {noun.name} first, or say {name[4:]} with "
                       f"to: {cmd.verb} the {noun.name} to 2027-01-01")
            return None
        ref = Ref(noun.name, (action.time,), cmd.by.span, f"the {noun.name}'s {name[4:]}",
                  needed=True, kind="timestamp", zone=self.zone)
        return _Given((action.time,), Moved(ref, cmd.by.count, cmd.by.unit, self.zone,
                                            cmd.by.raw), span, cmd.by.span, name)

    def amount_of(self, cmd: ast.Command, noun: Noun, verb: str) -> _Given | None:
        """``refund $5.00 of the charge``: the sum as the input the action declares for it
        (None after reporting that the verb takes none)."""
        action = noun.action(verb)
        span = cmd.amount_span
        written = cmd.text[span.column - 1:span.end_column - 1] if span else "... of"
        if action is None or action.amount is None:
            takes = [a.english(noun.name) for a in noun.actions if a.amount]
            self.error(span, f'"{written}" means nothing to "{cmd.verb}": it acts on the '
                       f"whole {noun.name}",
                       hint=f'delete "{written}"' + (
                           f" (a sum is said for: {', '.join(takes)})" if takes else ""))
            return None
        value_span = getattr(cmd.amount, "span", span)
        return _Given((action.amount,), cmd.amount, span, value_span,
                      f"the {action.amount.replace('_', ' ')}")

    def procedure_for(self, cmd: ast.Command) -> tuple[Book, Noun, Procedure] | None:
        """The book, noun and procedure a command names (None after reporting why not).
        The same words name the same ones all through an automation: each is found once."""
        target = cmd.target
        key = (cmd.verb, cmd.complement, cmd.phrase, cmd.noun, cmd.determiner,
               ("book", target.name) if isinstance(target, ast.TargetWord) else
               ("record", target.noun) if isinstance(target, ast.Reference) else None)
        found = self.procedures_named.get(key)
        if found is None:
            found = self.find_procedure(cmd)
            if found is not None:
                self.procedures_named[key] = found
        return found

    def find_procedure(self, cmd: ast.Command) -> tuple[Book, Noun, Procedure] | None:
        word = GET_WORDS_MAP.get(cmd.verb, cmd.verb)
        words = self.verb_words()
        if isinstance(cmd.target, ast.Reference) and word in words:
            try:
                on = self.thing_form(cmd, word)
            except _Reported:
                return None
            if on is not None:
                return on
        if word in words and cmd.complement is None and None not in self.complements(word):
            takes = sorted(c for c in self.complements(word) if c)
            self.error(cmd.verb_span, f'"{cmd.verb}" says what the record becomes: '
                       + " or ".join(f'"{cmd.verb} ... as {c}"' for c in takes),
                       hint=f"write: {cmd.verb} the {cmd.noun} as {takes[0]}")
            return None
        if word in words and cmd.complement not in self.complements(word):
            assert cmd.complement_span is not None
            meant = _PARTICIPLES.get(cmd.complement or "", cmd.complement)
            takes = sorted(c for c in self.complements(word) if c)
            if not takes:
                self.error(cmd.complement_span, f'"as {cmd.complement}" means nothing to '
                           f'"{cmd.verb}"; it would be ignored',
                           hint=f'delete "as {cmd.complement}" (only '
                           + ", ".join(f'"{v}"' for v in self.all_verbs() if " as " in v)
                           + " take one)")
            elif meant in words:
                # "mark the invoice as paid": the verb is "pay"
                self.error(cmd.verb_span.to(cmd.complement_span),
                           f'unknown verb "{cmd.verb} ... as {cmd.complement}"; did you mean '
                           f'"{meant}"?', hint=f"write: {meant} the {cmd.noun}")
            else:
                self.error(cmd.verb_span.to(cmd.complement_span),
                           f'unknown verb "{cmd.verb} ... as {cmd.complement}"',
                           hint=f'"{cmd.verb}" takes: '
                           + ", ".join(f"as {c}" for c in takes))
            return None
        if word not in words:
            close = closest(word, sorted(words), cutoff=_VERB_CUTOFF)
            self.error(cmd.verb_span, f'unknown verb "{word}"'
                       + (f'; did you mean "{close[0]}"?' if close else ""),
                       hint="verbs: " + ", ".join(self.all_verbs()))
            return None
        try:
            book = self.resolve_book(cmd)
        except _Reported:
            return None
        found = self.find_noun(cmd.noun, book)
        if found is None:
            close = closest(cmd.noun, self.all_nouns(book))
            where = f" in {book.target}" if book else ""
            self.error(cmd.noun_span, f'unknown noun "{cmd.noun}"{where}'
                       + (f'; did you mean "{close[0]}"?' if close else ""),
                       hint="nouns: " + ", ".join(n.name for b in ([book] if book else
                                                                   self.books) for n in b.nouns))
            return None
        book, noun = found
        plural = cmd.noun == noun.plural or (cmd.determiner in PLURAL_DETERMINERS)
        verb = self.verb_of(noun, word, cmd.complement, cmd.phrase)
        said = word + (f" ... as {cmd.complement}" if cmd.complement else "")
        if verb is None and cmd.phrase is not None \
                and self.verb_of(noun, word, cmd.complement) is not None:
            assert cmd.phrase_span is not None
            forms = [a.english(noun.name) for a in noun.actions
                     if a.word == word and a.phrase]
            self.error(cmd.phrase_span, f'"{cmd.phrase}" means nothing to "{said} the '
                       f'{noun.name}"', hint=(f"{_article(noun.name)} {noun.name} takes: "
                                              + ", ".join(forms)) if forms else
                       f'delete "{cmd.phrase}"')
            return None
        if verb is None:
            doable = ", ".join([*noun.verbs, *(a.english(noun.name) for a in noun.actions)])
            self.error(cmd.verb_span, f'{book.title} cannot {said} {_article(noun.name)} '
                       f'{noun.name}', hint=f"{_article(noun.name)} {noun.name} can: {doable}")
            return None
        if plural and verb != "get":
            written = " ".join(filter(None, (cmd.determiner, cmd.noun)))
            self.error(cmd.noun_span, f'"{said}" acts on one {noun.name} at a time, not on '
                       f'"{written}"',
                       hint=f"write {_article(noun.name)} {noun.name} or the {noun.name}, or all "
                 f"{noun.plural} ... whose ... to {said} every one found")
            return None
        return book, noun, self._procedure(book, noun, verb, plural)

    def thing_form(self, cmd: ast.Command, word: str) -> tuple[Book, Noun, Procedure] | None:
        """``apply the coupon "SUMMER25" to the subscription``: the action of the target's
        noun that puts the thing the command names on it (None when no noun declares
        ``word`` the ``thing``; :class:`_Reported` when the target's cannot)."""
        target = cmd.target
        assert isinstance(target, ast.Reference)
        declared = [(b, n, a) for b in self.books for n in b.nouns for a in n.actions
                    if a.word == word and cmd.noun in a.things]
        if not declared:
            return None
        found = self.find_noun(target.noun)
        if found is None or target.path:
            return None  # (reported as any target is)
        book, noun = found
        action = noun.action_on(word, cmd.noun)
        if action is None:
            said = f"{cmd.verb} the {cmd.noun}"
            refusal = noun.refusal(word, cmd.noun)
            takers = sorted({n.name for _, n, _ in declared})
            if refusal is not None:
                self.error(target.span, refusal.message, hint=refusal.hint)
            else:
                self.error(target.span, f'{_article(noun.name)} {noun.name} takes no '
                           f'"{said}"', hint=f'"{said}" is said of: ' + ", ".join(takers))
            raise _Reported
        if cmd.thing is not None and action.thing_input is None:
            self.error(cmd.thing.span, f'"{cmd.verb} the {cmd.noun}" names no one of them: '
                       f"it acts on every one on the {noun.name}",
                       hint=f"write: {action.english(noun.name)}")
            raise _Reported
        if target.noun == noun.plural:
            self.error(target.span, f'"{cmd.verb} the {cmd.noun}" acts on one {noun.name} '
                       f"at a time, not on {target.raw}",
                       hint=f"for each {noun.name} in {target.raw}, {action.english(noun.name)}")
            raise _Reported
        return book, noun, self._procedure(book, noun, action.name, False)

    def _procedure(self, book: Book, noun: Noun, verb: str, many: bool) -> Procedure:
        key = (book.name, noun.name, verb, many)
        if key not in self.procedures_found:
            self.procedures_found[key] = next(
                (proc for proc in self.rt.procedures(book.name, with_inputs=False)
                 if proc.noun == noun.name and proc.verb == verb and proc.many == many), None)
        found = self.procedures_found[key]
        if found is None:
            raise AssertionError(f"no procedure for {verb} {noun.name}")  # derived from nouns
        return found

    def resolve_book(self, cmd: ast.Command) -> Book | None:
        """The book named by the command's target, or None when the noun must decide.
        Raises :class:`_Reported` after reporting why no book fits."""
        target = cmd.target
        if isinstance(target, ast.TargetWord):
            for b in self.books:
                if target.name in (b.target.lower(), b.name):
                    return b
            words = [b.target for b in self.books]
            close = closest(target.name, words)
            self.error(target.span, f'no installed book answers to "{target.name}"'
                       + (f'; did you mean "{close[0]}"?' if close else ""),
                       hint="kbooks books lists the installed books")
            raise _Reported
        if isinstance(target, ast.Reference):
            found = self.find_noun(target.noun)
            owners = [b for b in self.books if b.noun(cmd.noun)]
            if found and found[0] in owners:
                return found[0]
        owners = [b for b in self.books if b.noun(cmd.noun)]
        if len(owners) > 1:
            self.error(cmd.noun_span, f'several books know "{cmd.noun}"; say which',
                       hint=" or ".join(f"... in {b.target}" for b in owners))
            raise _Reported
        return None

    # ---------------------------------------------------------------- building

    def build_step(self, index: int, cmd: ast.Command, book: Book, noun: Noun,
                   proc: Procedure, accepted: Mapping[str, Field],
                   given: list[_Given]) -> Step | None:
        verb = proc.verb
        record_id: Any = None
        target_id: Any = None
        fields: dict[str, Any] = {}
        conditions: list[Any] = []
        id_span: ast.Span | None = None
        errors_before = len(self.errors)

        # the block's currency, for money literals and amounts
        currency_input = next((g for g in given if g.path == ("currency",)), None)
        block_currency = None
        if currency_input is not None:
            raw_currency = currency_input.value
            if isinstance(raw_currency, ast.Text):
                block_currency = raw_currency.value.lower()
            elif isinstance(raw_currency, str):
                block_currency = raw_currency.lower()

        for item in given:
            path = item.path
            if verb == "add" and noun.parent and path == (noun.parent.replace(" ", "_"),):
                continue  # names the parent added to (see the target below)
            if path == ("id",) and verb == "create" and "id" not in accepted:
                # it would be dropped without a word: the service picks new ids
                self.error(item.field_span, f'{book.title} chooses the id of a new '
                           f'{noun.name}; "id" cannot be given',
                           hint=f"delete this line; later steps can use the {noun.name}'s id")
                continue
            if path == ("id",) and verb != "create":
                # names the record acted on (on create, an id of one's choosing is a field)
                record_id = self.value(self.node(item, Field("id")), Field("id"),
                                       block_currency, needed=True)
                id_span = item.value_span
                continue
            field = self.field(path, item.field_span, accepted, noun, verb)
            if field is None:
                continue
            node = self.node(item, field)
            if verb == "get":
                conditions.append(Condition(path, "is", self.value(node, field, block_currency,
                                                                   needed=True)))
                continue
            converted = self.value(node, field, block_currency, needed=field.required)
            if isinstance(node, ast.Money) and "currency" in accepted and (
                    currency_input is None) and "currency" not in fields and (
                    node is not cmd.amount):
                # "the amount is 15.00 usd" also says which currency ("$5.00 of the charge"
                # is in the charge's)
                fields["currency"] = _money_currency(node)
            _put(fields, path, converted)

        if cmd.whose is not None:
            if verb != "get":
                self.error(cmd.whose.span, f'"whose" only selects records to get; to {verb} '
                           f'{_article(noun.name)} {noun.name} name it with "the id is ..."')
                return None
            where = self.where(cmd.whose, accepted, noun, verb)
            if isinstance(where, Condition) and where.field == ("id",) and where.op == "is":
                record_id = where.value
                id_span = _whose_value_span(cmd.whose)
            elif where is not None:
                conditions.append(where)

        related = self.related(cmd, noun, verb, accepted, fields, given)
        if related is not None:
            conditions.append(related)
        if verb == "add" and noun.parent:
            target_id = self.parent_ref(cmd, noun, given)
        elif verb not in ("get", "create") and record_id is None:
            # "send the invoice": the one remembered last
            record_id = self.remembered(cmd, noun)
        if record_id is not None and verb == "get" and conditions:
            self.error(cmd.span, "give either an id or conditions, not both")

        if verb != "get" and len(self.errors) == errors_before:
            # (a misspelled field would also show up as missing; say it once)
            missing = [f.name for f in accepted.values() if f.required and f.name not in fields]
            if missing:
                hint = (f"pass {missing[0]}=..." if self.placeless else
                        f"add a line under the command: the {missing[0]} is ..."
                        + ("" if cmd.inputs_keyword else ' (end the command with "with")'))
                self.error(cmd.span, f'missing required input "{missing[0]}" to {verb} '
                           f'{_article(noun.name)} {noun.name}', hint=hint)

        where_filter: Any = None
        if len(conditions) == 1:
            where_filter = conditions[0]
        elif conditions:
            where_filter = And(tuple(conditions))
        produces = (noun.plural,) if proc.many else (noun.name,)
        action = noun.action(verb)
        if action is not None and action.returns:
            produces = (action.returns,)  # (refunding a charge answers with a refund)
        if cmd.named is not None:
            if self.find_noun(cmd.named) is not None:
                self.error(cmd.named_span, f'"the {cmd.named}" already names a kind of '
                           "record; choose a name of your own",
                           hint=f"like: as the open {noun.plural}")
            produces = (cmd.named,)
            self.names[cmd.named] = (action.returns if action and action.returns
                                     else noun.name, proc.many)
        has_refs = bool(_refs(fields, where_filter, record_id, target_id))
        return Step(index=index, command=cmd, procedure=proc, id=record_id,
                    target_id=target_id, where=where_filter, fields=fields,
                    produces=produces, id_span=id_span, has_refs=has_refs)

    def node(self, item: _Given, field: Field) -> Any:
        """An input's value as the language reads it (a value from Python made one)."""
        if isinstance(item.value, (ast.Text, ast.Number, ast.Boolean, ast.Date,
                                   ast.DateTime, ast.Money, ast.Reference, ast.ListValue,
                                   ast.Moment, ast.Aggregate, Moved)):
            return item.value
        return _node(item.value, field)

    def related(self, cmd: ast.Command, noun: Noun, verb: str, accepted: Mapping[str, Field],
                fields: dict[str, Any], given: list[_Given]) -> Condition | None:
        """What a target that names a remembered record means: for ``get``, the records
        related to it (a condition on the relation's field); for ``create``, the relation's
        field set to it. Anywhere else it would change nothing, so it is refused."""
        target = cmd.target
        if not isinstance(target, ast.Reference):
            return None
        written = f"{cmd.preposition} {target.raw}"
        if verb == "add" and noun.parent:
            return None  # the parent added to (parent_ref)
        found = self.find_noun(target.noun)
        other = found[1].name if found else target.noun
        relation = noun.relation(other)
        # An action whose inputs hold the relation's field takes it from the target
        # ("attach the payment method to the customer"); update and delete never do.
        takes = noun.action(verb) is not None and any(r.field in accepted
                                                      for r in noun.relations)
        if verb not in ("get", "create") and not takes:
            self.error(target.span, f'"{written}" means nothing to "{verb}": it acts on the '
                       f"{noun.name} alone and would ignore it",
                       hint=f'delete "{written}"')
            return None
        if verb not in ("get", "create") and relation is not None \
                and relation.field not in accepted:
            relation = None  # (the action takes no such record)
        if relation is None or target.path or (found and target.noun == found[1].plural):
            links = ", ".join(r.noun for r in noun.relations)
            self.error(target.span, f"{_article(noun.name)} {noun.name} is not related to "
                       f'{target.raw}: "{written}" cannot say which {noun.plural} to {verb}',
                       hint=(f"{noun.plural} are related to: {links}" if links
                             else f"{noun.plural} are related to nothing else")
                       + f"; or name the {noun.name} by id")
            return None
        ref = self.reference(target, want_id=True)
        if ref is None:
            return None
        field = accepted.get(relation.field) or Field(relation.field)
        ref = attrs.evolve(ref, field=Field(field.name, "string"), needed=True)
        if verb == "get":
            return Condition((relation.field,), "is", ref)
        if any(g.path == (relation.field,) for g in given):
            self.error(target.span, f'the {relation.field.replace("_", " ")} is given twice: '
                       f'"{written}" and an input', hint="keep only one of them")
            return None
        fields[relation.field] = ref
        return None

    def book_check(self, step: Step) -> None:
        """Ask the book about the parts known now (ids written as text)."""
        def static(value: Any) -> Any:
            return None if isinstance(value, (Ref, Moved)) or hasattr(value, "stamp") \
                else value

        call = Call(book=step.book, verb=step.verb, noun=step.noun, id=static(step.id),
                    where=_resolve_filter(step.where, static),
                    fields=_resolve_fields(step.fields, static), many=step.many,
                    target_id=static(step.target_id))
        check = self.call_checkers.get(step.book)
        if check is None:
            check = self.call_checkers[step.book] = self.rt.plugins.call_checker(step.book)
        problems = check(call)
        for problem in problems:
            span = step.command.span
            if problem.field == "id" and step.id_span is not None:
                span = step.id_span
            elif problem.field:
                item = step.command.input(*problem.field.split("."))
                if item is not None:
                    span = item.value.span if hasattr(item.value, "span") else item.span
            self.error(span, problem.message, hint=problem.hint)
            self.errors[-1].field = problem.field  # type: ignore[attr-defined]

    def parent_ref(self, cmd: ast.Command, noun: Noun, given: list[_Given]) -> Any:
        parent = noun.parent or ""
        named = next((g for g in given if g.path == (parent.replace(" ", "_"),)), None)
        if named is not None:
            return self.value(self.node(named, Field(parent)), Field(parent), None,
                              needed=True)
        target = cmd.target
        if isinstance(target, ast.Reference):
            found = self.find_noun(target.noun)
            if found is None or found[1].name != parent or target.path:
                self.error(target.span, f"{_article(noun.name)} {noun.name} is added to "
                           f"{_article(parent)} {parent}, not to {target.raw}",
                           hint=f"write: add {_article(noun.name)} {noun.name} to the {parent}")
                return None
            return self.reference(target, want_id=True, needed=True)
        return self.remembered(cmd, None, parent)

    def remembered(self, cmd: ast.Command, noun: Noun | None, name: str | None = None) -> Any:
        name = name or (noun.name if noun else "")
        if name in self.produced:
            return Ref(name, ("id",), cmd.noun_span, f"the {name}", needed=True)
        if name in getattr(self, "left", {}):
            self.error(cmd.noun_span, f'"the {name}" is known only inside the block that '
                       f"made it (line {self.left[name]})",
                       hint=f"act on it inside that block, or get {_article(name)} {name} "
                       "again here")
            return None
        if self.placeless:
            self.error(None, f"no {name} to act on",
                       hint=f"pass {name.replace(' ', '_')}=... or id=..., or get or create "
                       f"{_article(name)} {name} first")
            return None
        self.error(cmd.noun_span, f'no earlier step gives {_article(name)} {name} to act on',
                   hint=f'get or create {_article(name)} {name} in an earlier line, or name '
                   f'one in a with-block: the id is "..."')
        return None

    def field(self, parts: tuple[str, ...], span: ast.Span | None,
              accepted: Mapping[str, Field], noun: Noun, verb: str) -> Field | None:
        top = parts[0]
        field = accepted.get(top)
        if field is None:
            close = closest(top, list(accepted))
            self.error(span, f'unknown field "{top.replace("_", " ")}" for '
                       f'{_article(noun.name)} {noun.name}'
                       + (f'; did you mean "{close[0]}"?' if close else ""),
                       hint=None if close else f"kbooks procedures lists the fields of "
                       f"{verb} {noun.name}")
            return None
        for part in parts[1:]:
            if field.children is None:  # any key (metadata)
                return Field(part, "string", help=_FREE_FORM if field.name == "metadata"
                             else "")
            child = field.child(part)
            if child is None:
                names = [c.name for c in field.children]
                close = closest(part, names)
                self.error(span, f'"{field.name}" has no field "{part}"'
                           + (f'; did you mean "{close[0]}"?' if close else ""),
                           hint=("fields: " + ", ".join(names)) if names and not close
                           else None)
                return None
            field = child
        return field

    def where(self, node: ast.Where, accepted: Mapping[str, Field], noun: Noun,
              verb: str) -> Any:
        if isinstance(node, ast.Condition):
            if node.field.parts == ("id",) and "id" not in accepted:
                return Condition(("id",), node.op, self.value(node.value, Field("id"), None,
                                                              needed=True))
            field = self.field(node.field.parts, node.field.span, accepted, noun, verb)
            if field is None:
                return None
            if node.op == "one of":
                items = [self.day_or_value(node, v, field) for v in _items(node.value)]
                if any(isinstance(item, (And, Or)) for item in items):
                    return Or(tuple(item if isinstance(item, (And, Or)) else
                                    Condition(node.field.parts, "is", item) for item in items))
                return Condition(node.field.parts, "one of", items)
            if node.op in (">", "<", ">=", "<=") and field.type not in (
                    "integer", "number", "timestamp", "any"):
                self.error(node.op_span, f'"{node.op_raw}" compares numbers and dates, but '
                           f'"{node.field}" is {field.type}')
                return None
            if node.op in ast.TEXT_OPS and field.type not in ("string", "any"):
                self.error(node.op_span, f'"{node.op_raw}" works on text, but "{node.field}" '
                           f"is {field.type}")
                return None
            if isinstance(node.value, ast.Date) and field.type == "timestamp":
                return _whole_day(node.field.parts, node.op, _timestamp(node.value, self.zone),
                                  self.zone)
            if isinstance(node.value, ast.Moment) and field.type == "timestamp":
                span = _moment_span(node.value, node.op, self.zone)
                if span is not None:
                    return _whole_period(node.field.parts, node.op, *span)
            return Condition(node.field.parts, node.op, self.value(node.value, field, None,
                                                                   needed=True))
        parts = tuple(self.where(item, accepted, noun, verb) for item in node.items)
        if any(part is None for part in parts):
            return None
        return And(parts) if isinstance(node, ast.AllOf) else Or(parts)

    def day_or_value(self, node: ast.Condition, value: ast.Value, field: Field) -> Any:
        """An item of ``is one of``: a date means its whole day."""
        if isinstance(value, ast.Date) and field.type == "timestamp":
            return _whole_day(node.field.parts, "is", _timestamp(value, self.zone), self.zone)
        if isinstance(value, ast.Moment) and field.type == "timestamp":
            span = _moment_span(value, "is", self.zone)
            if span is not None:
                return _whole_period(node.field.parts, "is", *span)
        return self.value(value, field, None, needed=True)

    # ---------------------------------------------------------------- values

    def value(self, node: Any, field: Field, currency: str | None,
              *, needed: bool = False) -> Any:
        """A literal converted for ``field``, a :class:`Ref` (to be converted when the
        step runs), or None after an error."""
        if isinstance(node, Moved):
            return node
        if isinstance(node, ast.Reference):
            ref = self.reference(node)
            if ref is None:
                return None
            if not _fits(field, ref.kind):
                self.error(node.span, f'"{field.name}" takes '
                           f"{_TYPE_WORDS.get(field.type, field.type)}, but {node.raw} is "
                           f"{_TYPE_WORDS.get(ref.kind or '', ref.kind)}")
                return None
            return attrs.evolve(ref, field=field, currency=currency, needed=needed,
                                zone=self.zone)
        if isinstance(node, ast.Aggregate):
            self.error(node.span, f'"{node.raw}" can be said, shown and compared in an if; '
                       "it is not an input's value")
            return None
        if isinstance(node, ast.ListValue) and any(isinstance(v, ast.Reference)
                                                   for v in node.items):
            if field.type not in ("list", "any"):
                self.error(node.span, f'"{field.name}" takes one value, not a list')
                return None
            item_field = field.children[0] if field.children else Field(field.name, "any")
            return [self.value(v, item_field, currency, needed=needed) for v in node.items]
        return super().value(node, field, currency)

    def reference(self, ref: ast.Reference, want_id: bool = False,
                  needed: bool = False) -> Ref | None:
        name = ref.noun
        found = self.find_noun(name)
        canonical = name
        if found is not None:
            noun = found[1]
            canonical = noun.plural if name == noun.plural else noun.name
        elif name in self.names:
            # a result named with "as the ...": its fields are its noun's
            of, many = self.names[name]
            found = self.find_noun(of)
            if found is not None and many and ref.path:
                self.error(ref.span, f'"{ref.raw}": the {name} are a list; it has no field '
                           f'"{ref.path[0].replace("_", " ")}"')
                return None
            if found is not None and not many and ref.path:
                reached = self.record_path(ref, found[0], found[1], found[1].name)
                if reached is False:
                    return None
            if name not in self.produced:
                found = None  # (reported below as referring to nothing)
            else:
                named_kind = "string" if not ref.path and not many else None
                path = ("id",) if want_id and not ref.path else ref.path
                return Ref(name, path, ref.span, ref.raw, needed=needed, kind=named_kind)
        if canonical not in self.produced and canonical in getattr(self, "left", {}):
            self.error(ref.span, f'"{ref.raw}" is known only inside the block that made it '
                       f"(line {self.left[canonical]})",
                       hint="use it inside that block, or get it again here")
            return None
        if canonical not in self.produced:
            produced = sorted(self.produced)
            close = closest(name, produced)
            self.error(ref.span, f'"{ref.raw}" refers to nothing: no earlier step gives '
                       f'{"any" if found and canonical == found[1].plural else _article(name)} '
                       f'{name}' + (f'; did you mean "the {close[0]}"?' if close else ""),
                       hint="references name the result of an earlier step, e.g. "
                       "the customer's id after creating a customer")
            return None
        path = ref.path
        if canonical == "event" and found is None and path and not self.event_field(ref):
            return None
        if canonical == "row" and path and self.columns is not None \
                and path[0] not in self.columns:
            close = closest(path[0], sorted(self.columns))
            self.error(ref.span, f'the rows have no column "{path[0]}"'
                       + (f'; did you mean "{close[0]}"?' if close else ""),
                       hint="columns: " + (", ".join(sorted(self.columns)) or "none"))
            return None
        kind: str | None = None
        if found is not None and canonical == found[1].name:
            kind = "string"  # a record stands for its id
        if found is not None and path:
            reached = self.record_path(ref, found[0], found[1], canonical)
            if reached is False:
                return None
            kind = reached.type if isinstance(reached, Field) else None
        if want_id and not path:
            path = ("id",)
        return Ref(canonical, path, ref.span, ref.raw, needed=needed, kind=kind)

    def event_field(self, ref: ast.Reference) -> bool:
        """Inside a ``when`` block, whether ``the event's ...`` names what an event has
        (after reporting what it has when not)."""
        from .triggers.handlers import EVENT_FIELDS

        part = ref.path[0]
        if part in EVENT_FIELDS and (len(ref.path) == 1 or part == "previous_attributes"):
            return True
        close = closest(part, EVENT_FIELDS)
        self.error(ref.span, f'the event has no field "{part.replace("_", " ")}"'
                   + (f'; did you mean "{close[0].replace("_", " ")}"?' if close else ""),
                   hint="an event has: " + ", ".join(f.replace("_", " ")
                                                     for f in EVENT_FIELDS))
        return False

    def record_path(self, ref: ast.Reference, book: Book, noun: Noun,
                    name: str) -> Field | bool:
        """The field ``ref`` reaches, when it is one a record of ``noun`` has (as its book
        describes them; True inside a free-form object, whose keys are any), else False
        after reporting why not."""
        if name == noun.plural:
            self.error(ref.span, f'"{ref.raw}": the {noun.plural} are a list; it has no '
                       f'field "{ref.path[0].replace("_", " ")}"',
                       hint=f"name one {noun.name} instead: the {noun.name}'s ...")
            return False
        fields: tuple[Field, ...] | None = self.rt.inputs(book.name, noun.name, "get")
        walked = [f"the {ref.noun}"]
        found: Field | None = None
        for part in ref.path:
            if fields is None:
                return Field(part, "string")  # inside a free-form object: any key, text
            found = next((f for f in fields if f.name == part), None)
            if found is None:
                names = [f.name for f in fields]
                close = closest(part, names)
                owner = "'s ".join(walked)
                self.error(ref.span, f'{owner} has no field "{part.replace("_", " ")}"'
                           + (f'; did you mean "{close[0]}"?' if close else ""),
                           hint=None if close else
                           f"kbooks procedures {book.name} lists what {_article(noun.name)} "
                           f"{noun.name} has")
                return False
            walked.append(part.replace("_", " "))
            if found.type != "object" and part != ref.path[-1]:
                owner = "'s ".join(walked)
                related = noun.relation(part) or next(
                    (r for r in noun.relations if r.field == part), None)
                self.error(ref.span, f"{owner} is {_TYPE_WORDS.get(found.type, found.type)}"
                           + (" (an id)" if related else "") + ", with no fields of its own",
                           hint=(f"get the {related.noun} first: get {_article(related.noun)}"
                                 f" {related.noun} with the id is the {ref.noun}'s {part}"
                                 if related else None))
                return False
            fields = found.children if found.type == "object" else ()
        return found if found is not None else True


def _fits(field: Field, kind: str | None) -> bool:
    """Whether a value of type ``kind`` can go to ``field`` (when known: numbers to
    numbers, any plain value to text, named fields to named fields)."""
    wanted = field.type
    if wanted == "list":
        return True  # one value makes a list of one; a list is taken as it is
    if kind is None or kind == "any" or wanted == "any":
        return True
    numeric = ("integer", "number", "timestamp")
    if wanted in numeric:
        return kind in numeric
    if wanted == "boolean":
        return kind == "boolean"
    if wanted == "string":
        return kind in ("string", "boolean", *numeric)
    return kind == wanted


_AMOUNT_FIELDS = {"amount", "unit_amount", "amount_due", "amount_paid"}
#: The help of a field inside a free-form object (metadata): any key, text values.
_FREE_FORM = "metadata"
_TYPE_WORDS = {
    "string": "text", "integer": "a whole number", "number": "a number",
    "boolean": "true or false", "timestamp": "a date", "object": "named fields (the X's Y is)",
    "list": "a list", "text": "text", "money": "money", "date": "a date", "datetime": "a date",
    "plain": "the value",
}
GET_WORDS_MAP = {word: "get" for word in GET_WORDS}


def _when(node: ast.Moment, zone: str, bound: str) -> Any:
    from .times import When

    return When(node.kind, node.count, node.unit, bound, zone, node.raw)


def _moment_span(node: ast.Moment, op: str, zone: str) -> tuple[Any, Any] | None:
    """The bounds of what a said time names, when a comparison means all of it: a period
    (``last month``, ``today``), or the day of an instant compared with ``is``
    (``created is 3 days ago``); None for an instant compared as one."""
    from .times import DayOf

    if node.period:
        return _when(node, zone, "start"), _when(node, zone, "after")
    if node.kind in ("ago", "in") and op in ("is", "is not"):
        moment = _when(node, zone, "start")
        return DayOf(moment, "start"), DayOf(moment, "after")
    return None


def _whole_day(path: tuple[str, ...], op: str, start: int, zone: str = "UTC") -> Any:
    """A date compared with a moment: ``is`` means any time that day (in the connection's
    time zone), ``is before`` before it begins, ``is after`` after it ends."""
    return _whole_period(path, op, start, _day_end(start, zone))


def _whole_period(path: tuple[str, ...], op: str, start: Any, end: Any) -> Any:
    """A stretch of time (``start`` up to, not including, ``end``) compared with a moment:
    ``is`` means within it, ``is not`` outside it, ``is before`` before it begins, ``is
    after`` after it ends, ``is at most`` up to its end, ``is at least`` from its start."""
    if op == "is":
        return And((Condition(path, ">=", start), Condition(path, "<", end)))
    if op == "is not":
        return Or((Condition(path, "<", start), Condition(path, ">=", end)))
    if op == ">":
        return Condition(path, ">=", end)
    if op == "<=":
        return Condition(path, "<", end)
    return Condition(path, op, start)  # "<" before it begins, ">=" from its start


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _put(fields: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = fields
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _items(value: ast.Value) -> tuple[ast.Value, ...]:
    return value.items if isinstance(value, ast.ListValue) else (value,)


def _money_currency(node: ast.Money) -> str | None:
    return node.currency or node.assumed_currency


def _whose_value_span(node: ast.Where) -> ast.Span | None:
    return node.value.span if isinstance(node, ast.Condition) else None


def given_inputs(inputs: Mapping[str, Any]) -> list[_Given]:
    """Keyword inputs from Python (or ``kbooks call``) as a command's inputs: field names
    in any case and spacing, dotted (``metadata.plan``) or nested mappings for fields of
    fields; ``None`` leaves an input out."""
    from .runtime import field_key

    found: list[_Given] = []

    def add(path: tuple[str, ...], value: Any, written: str) -> None:
        if value is None:
            return
        if isinstance(value, Mapping) and value and all(isinstance(k, str) for k in value):
            for key, inner in value.items():
                add((*path, field_key(key)), inner, f"{written}.{key}")
            return
        found.append(_Given(path, value, None, None, written))

    for key, value in inputs.items():
        add(tuple(field_key(part) for part in str(key).split(".")), value, str(key))
    return found


def check_one(runtime: Runtime, command: ast.Command, inputs: Mapping[str, Any],
              given: Iterable[str]) -> Step:
    """Check one command called from Python or the command line, with ``inputs`` given as
    values rather than written; :class:`InvalidCall` names every problem."""
    checker = Checker(runtime, ast.Automation("<call>", (command,), (command.text,)),
                      given, placeless=True)
    step = checker.check_command(0, command, given_inputs(inputs))
    if checker.errors:
        text = command.text.strip()

        def said(error: LanguageError) -> str:
            field = getattr(error, "field", None)
            return (f"({field}) " if field else "") + error.message

        first = checker.errors[0]
        field = getattr(first, "field", None)
        rest = "".join(f"; {said(e)}" for e in checker.errors[1:])
        raise InvalidCall(f"{text}{f' ({field})' if field else ''}: {first.message}{rest}",
                          hint=first.hint)
    assert step is not None
    return step


def find_procedure(runtime: Runtime, text: str) -> Procedure:
    """The procedure an English command names, however it is worded ("update the note",
    "add an item to the invoice", "get every customer from stripe"). Raises
    :class:`LanguageError` when it names none."""
    from .language.parser import parse_command

    command = parse_command(text)
    if command.whose is not None or command.inputs:
        raise InvalidCall(f"{text!r} has conditions or inputs; a procedure name has none",
                          hint="pass them as keyword arguments, or run the text with "
                          "Runtime.run")
    checker = Checker(runtime, ast.Automation("<procedure>", (command,), (command.text,)))
    found = checker.procedure_for(command)
    LanguageErrors.raise_if_any(checker.errors)
    assert found is not None
    return found[2]


def check(runtime: Runtime, automation: ast.Automation, given: Iterable[str] = (),
          columns: Iterable[str] | None = None) -> list[Step]:
    """Check ``automation``; return its steps or raise :class:`LanguageErrors`.

    ``given`` names context entries that exist before the first step (``row`` in bulk
    runs); ``columns``, when known, the only columns ``the row's COLUMN`` may name.
    """
    from .language.parser import full_collections_put_off

    with full_collections_put_off(len(automation.lines)):  # (as parsing does: see there)
        return Checker(runtime, automation, given, columns).check()


__all__ = ["Checker", "Ref", "Step", "StepInputError", "Unknown", "check", "check_one",
           "convert", "find_procedure"]
