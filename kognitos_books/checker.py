"""Checking a parsed automation against the installed books, before anything runs.

Every command becomes a :class:`Step`: the book and procedure it maps to, its id and
inputs with literal values already converted (money to minor units, dates to Unix
timestamps), and references to earlier results kept for the run to resolve. Every problem
found is reported at once, each with its line, column and a suggestion; when there is any,
no step runs.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .language import ast
from .language.errors import LanguageError, LanguageErrors, closest
from .model import And, Book, Call, Condition, Field, Noun, Or, Procedure
from .money import DECIMALS, SYMBOLS, MoneyError, minor_units

if TYPE_CHECKING:
    from .runtime import Runtime

PLURAL_DETERMINERS = ("all", "some", "every")


@attrs.frozen
class Ref:
    """A value taken from an earlier result at run time: ``the customer's id``."""

    noun: str
    path: tuple[str, ...]
    span: ast.Span
    raw: str


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

    @property
    def line(self) -> int:
        return self.command.line

    @property
    def text(self) -> str:
        return self.command.text.strip()

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

    def call(self, resolve: Callable[[Any], Any], idempotency_key: str | None) -> Call:
        """The :class:`Call` for this step, with references resolved by ``resolve``."""
        return Call(
            book=self.book, verb=self.verb, noun=self.noun, id=resolve(self.id),
            where=_resolve_filter(self.where, resolve),
            fields=_resolve_fields(self.fields, resolve), many=self.many,
            idempotency_key=idempotency_key, target_id=resolve(self.target_id),
        )


def _resolve_fields(fields: Mapping[str, Any], resolve: Callable[[Any], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, Mapping):
            out[key] = _resolve_fields(value, resolve)
        elif isinstance(value, list):
            out[key] = [resolve(v) for v in value]
        else:
            out[key] = resolve(value)
    return out


def _resolve_filter(where: Any, resolve: Callable[[Any], Any]) -> Any:
    if where is None:
        return None
    if isinstance(where, Condition):
        value = where.value
        value = [resolve(v) for v in value] if isinstance(value, list) else resolve(value)
        return Condition(where.field, where.op, value)
    kind = And if isinstance(where, And) else Or
    return kind(tuple(_resolve_filter(item, resolve) for item in where.items))


# --------------------------------------------------------------------------- checking


class _Reported(Exception):
    """An error was reported for this command; checking it goes no further."""


class Checker:
    """Checks one automation. Collects every problem rather than stopping at the first."""

    def __init__(self, runtime: Runtime, automation: ast.Automation,
                 given: Iterable[str] = (), columns: Iterable[str] | None = None) -> None:
        self.rt = runtime
        self.auto = automation
        self.errors: list[LanguageError] = []
        #: context names available so far: "customer", "customers", "row", ...
        self.produced: set[str] = set(given)
        #: the columns "the row's COLUMN" may name, when the rows are known
        self.columns: set[str] | None = set(columns) if columns is not None else None
        self.books = runtime.plugins.books()

    # ---------------------------------------------------------------- helpers

    def error(self, span: ast.Span | None, message: str, hint: str | None = None) -> None:
        self.errors.append(LanguageError.at(span, self.auto, message, hint=hint))

    def all_verbs(self) -> list[str]:
        verbs = {v for b in self.books for n in b.nouns for v in n.verbs}
        return sorted(v.replace("_", " ") for v in verbs)

    def all_nouns(self, book: Book | None = None) -> list[str]:
        names: list[str] = []
        for b in [book] if book else self.books:
            for n in b.nouns:
                names.extend([n.name, n.plural, *n.aliases])
        return names

    def find_noun(self, word: str, book: Book | None = None) -> tuple[Book, Noun] | None:
        for b in [book] if book else self.books:
            noun = b.noun(word)
            if noun is not None:
                return b, noun
        return None

    # ---------------------------------------------------------------- entry

    def check(self) -> list[Step]:
        steps: list[Step] = []
        for index, command in enumerate(self.auto.commands):
            before = len(self.errors)
            step = self.check_command(index, command)
            if step is not None and len(self.errors) == before:
                steps.append(step)
                self.produced.update(step.produces)
            elif step is not None:
                # Later references to this step's result are not errors of their own.
                self.produced.update(step.produces)
        LanguageErrors.raise_if_any(self.errors)
        return steps

    def check_command(self, index: int, cmd: ast.Command) -> Step | None:
        found = self.procedure_for(cmd)
        if found is None:
            return None
        book, noun, proc = found
        accepted = {f.name: f for f in self.rt.inputs(book.name, noun.name, proc.verb)}
        step = self.build_step(index, cmd, book, noun, proc, accepted)
        if step is not None:
            self.book_check(step)
        return step

    def procedure_for(self, cmd: ast.Command) -> tuple[Book, Noun, Procedure] | None:
        """The book, noun and procedure a command names (None after reporting why not)."""
        verb = cmd.verb
        if verb == "mark" and cmd.complement:
            verb = f"mark_{cmd.complement.replace(' ', '_')}"
        known_verbs = {v for b in self.books for n in b.nouns for v in n.verbs}
        if verb not in known_verbs:
            shown = verb.replace("_", " ")
            close = closest(shown, self.all_verbs())
            self.error(cmd.verb_span, f'unknown verb "{shown}"'
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
        if verb not in noun.verbs:
            doable = ", ".join(v.replace("_", " ") for v in noun.verbs)
            self.error(cmd.verb_span, f'{book.title} cannot {verb.replace("_", " ")} '
                       f'{_article(noun.name)} {noun.name}', hint=f"a {noun.name} can: {doable}")
            return None
        if plural and verb != "get":
            written = " ".join(filter(None, (cmd.determiner, cmd.noun)))
            self.error(cmd.noun_span, f'"{verb}" acts on one {noun.name} at a time, not on '
                       f'"{written}"',
                       hint=f"write {_article(noun.name)} {noun.name} or the {noun.name}")
            return None
        return book, noun, self._procedure(book, noun, verb, plural)

    def _procedure(self, book: Book, noun: Noun, verb: str, many: bool) -> Procedure:
        for proc in self.rt.procedures(book.name, with_inputs=False):
            if proc.noun == noun.name and proc.verb == verb and proc.many == many:
                return proc
        raise AssertionError(f"no procedure for {verb} {noun.name}")  # derived from nouns

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
            if found:
                return found[0]
        owners = [b for b in self.books if b.noun(cmd.noun)]
        if len(owners) > 1:
            self.error(cmd.noun_span, f'several books know "{cmd.noun}"; say which',
                       hint=" or ".join(f"... in {b.target}" for b in owners))
            raise _Reported
        return None

    # ---------------------------------------------------------------- building

    def build_step(self, index: int, cmd: ast.Command, book: Book, noun: Noun,
                   proc: Procedure, accepted: Mapping[str, Field]) -> Step | None:
        verb = proc.verb
        record_id: Any = None
        target_id: Any = None
        fields: dict[str, Any] = {}
        conditions: list[Any] = []
        id_span: ast.Span | None = None
        errors_before = len(self.errors)

        # the block's currency, for money literals and amounts
        currency_input = cmd.input("currency")
        block_currency = (currency_input.value.value.lower()
                          if currency_input and isinstance(currency_input.value, ast.Text)
                          else None)

        for item in cmd.inputs:
            path = item.field.parts
            if path == ("id",) and verb == "create" and "id" not in accepted:
                # it would be dropped without a word: the service picks new ids
                self.error(item.field.span, f'{book.title} chooses the id of a new '
                           f'{noun.name}; "id" cannot be given',
                           hint=f"delete this line; later steps can use the {noun.name}'s id")
                continue
            if path == ("id",) and verb != "create":
                # names the record acted on (on create, an id of one's choosing is a field)
                record_id = self.value(item.value, Field("id"), block_currency)
                id_span = item.value.span if hasattr(item.value, "span") else item.span
                continue
            field = self.field(item.field, accepted, noun, verb)
            if field is None:
                continue
            if verb == "get":
                conditions.append(Condition(path, "is", self.value(item.value, field,
                                                                   block_currency)))
                continue
            converted = self.value(item.value, field, block_currency)
            if isinstance(item.value, ast.Money) and "currency" in accepted and (
                    currency_input is None) and "currency" not in fields:
                # "the amount is 15.00 usd" also says which currency
                fields["currency"] = _money_currency(item.value)
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

        if verb == "add" and noun.parent:
            target_id = self.parent_ref(cmd, noun.parent)
        elif verb not in ("get", "create") and record_id is None:
            # "send the invoice": the one remembered last
            record_id = self.remembered(cmd, noun)
        if record_id is not None and verb == "get" and conditions:
            self.error(cmd.span, "give either an id or conditions, not both")

        if verb != "get" and len(self.errors) == errors_before:
            # (a misspelled field would also show up as missing; say it once)
            missing = [f.name for f in accepted.values() if f.required and f.name not in fields]
            if missing:
                self.error(cmd.span, f'missing required input "{missing[0]}" to {verb} '
                           f'{_article(noun.name)} {noun.name}',
                           hint=f'add a line under the command: the {missing[0]} is ...'
                           + ("" if cmd.inputs_keyword else ' (end the command with "with")'))

        where_filter: Any = None
        if len(conditions) == 1:
            where_filter = conditions[0]
        elif conditions:
            where_filter = And(tuple(conditions))
        produces = (noun.plural,) if proc.many else (noun.name,)
        return Step(index=index, command=cmd, procedure=proc, id=record_id, target_id=target_id,
                    where=where_filter, fields=fields, produces=produces, id_span=id_span)

    def book_check(self, step: Step) -> None:
        """Ask the book about the parts known now (ids written as text)."""
        def static(value: Any) -> Any:
            return None if isinstance(value, Ref) else value

        call = step.call(static, None)
        problems = self.rt.plugins.call(step.book, "check_call", call=call) or []
        for problem in problems:
            span = step.command.span
            if problem.field == "id" and step.id_span is not None:
                span = step.id_span
            elif problem.field:
                item = step.command.input(*problem.field.split("."))
                if item is not None:
                    span = item.value.span if hasattr(item.value, "span") else item.span
            self.error(span, problem.message, hint=problem.hint)

    def parent_ref(self, cmd: ast.Command, parent: str) -> Any:
        given = cmd.input(parent.replace(" ", "_"))
        if given is not None:
            return self.value(given.value, Field(parent), None)
        if isinstance(cmd.target, ast.Reference):
            return self.reference(cmd.target, want_id=True)
        return self.remembered(cmd, None, parent)

    def remembered(self, cmd: ast.Command, noun: Noun | None, name: str | None = None) -> Any:
        name = name or (noun.name if noun else "")
        if name in self.produced:
            return Ref(name, ("id",), cmd.noun_span, f"the {name}")
        self.error(cmd.noun_span, f'no earlier step gives {_article(name)} {name} to act on',
                   hint=f'get or create {_article(name)} {name} in an earlier line, or name '
                   f'one in a with-block: the id is "..."')
        return None

    def field(self, path: ast.FieldPath, accepted: Mapping[str, Field], noun: Noun,
              verb: str) -> Field | None:
        top = path.parts[0]
        field = accepted.get(top)
        if field is None:
            close = closest(top, list(accepted))
            self.error(path.span, f'unknown field "{top.replace("_", " ")}" for '
                       f'{_article(noun.name)} {noun.name}'
                       + (f'; did you mean "{close[0]}"?' if close else ""),
                       hint=None if close else f"kbooks procedures lists the fields of "
                       f"{verb} {noun.name}")
            return None
        for part in path.parts[1:]:
            if field.children is None:  # any key (metadata)
                return Field(part, "string")
            child = field.child(part)
            if child is None:
                names = [c.name for c in field.children]
                close = closest(part, names)
                self.error(path.span, f'"{field.name}" has no field "{part}"'
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
                return Condition(("id",), node.op, self.value(node.value, Field("id"), None))
            field = self.field(node.field, accepted, noun, verb)
            if field is None:
                return None
            if node.op == "one of":
                values = [self.value(v, field, None) for v in _items(node.value)]
                return Condition(node.field.parts, "one of", values)
            if node.op in (">", "<", ">=", "<=") and field.type not in (
                    "integer", "number", "timestamp", "any"):
                self.error(node.op_span, f'"{node.op_raw}" compares numbers and dates, but '
                           f'"{node.field}" is {field.type}')
                return None
            if node.op in ast.TEXT_OPS and field.type not in ("string", "any"):
                self.error(node.op_span, f'"{node.op_raw}" works on text, but "{node.field}" '
                           f"is {field.type}")
                return None
            return Condition(node.field.parts, node.op, self.value(node.value, field, None))
        items = tuple(self.where(item, accepted, noun, verb) for item in node.items)
        if any(item is None for item in items):
            return None
        return And(items) if isinstance(node, ast.AllOf) else Or(items)

    # ---------------------------------------------------------------- values

    def reference(self, ref: ast.Reference, want_id: bool = False) -> Ref | None:
        name = ref.noun
        found = self.find_noun(name)
        canonical = name
        if found is not None:
            noun = found[1]
            canonical = noun.plural if name == noun.plural else noun.name
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
        if canonical == "row" and path and self.columns is not None \
                and path[0] not in self.columns:
            close = closest(path[0], sorted(self.columns))
            self.error(ref.span, f'the rows have no column "{path[0]}"'
                       + (f'; did you mean "{close[0]}"?' if close else ""),
                       hint="columns: " + (", ".join(sorted(self.columns)) or "none"))
            return None
        if want_id and not path:
            path = ("id",)
        return Ref(canonical, path, ref.span, ref.raw)

    def value(self, node: ast.Value, field: Field, currency: str | None) -> Any:
        """A literal converted for ``field``, a :class:`Ref`, or None after an error."""
        kind = field.type
        if isinstance(node, ast.Reference):
            return self.reference(node)
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
            return self.money(node, currency)
        if isinstance(node, ast.Text):
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
        if isinstance(node, ast.Boolean):
            return node.value if kind in ("boolean", "any") else self.wrong_type(node, field)
        if isinstance(node, ast.Number):
            if kind == "integer" or kind == "timestamp":
                if not isinstance(node.value, int):
                    self.error(node.span, f'"{field.name}" takes a whole number, not '
                               f"{node.raw}", hint="amounts are in the smallest unit "
                               "(cents); write $15.00 or 15.00 usd for money")
                    return None
                if node.value < 0 and field.name in _AMOUNT_FIELDS:
                    self.error(node.span, f'"{field.name}" cannot be negative')
                    return None
                if abs(node.value) >= 2**63:
                    self.error(node.span, f"{node.raw} is too large")
                    return None
                return node.value
            if kind in ("number", "any"):
                return node.value
            return self.wrong_type(node, field)
        if isinstance(node, (ast.Date, ast.DateTime)):
            if kind not in ("timestamp", "any", "integer"):
                return self.wrong_type(node, field)
            moment = node.value
            if isinstance(moment, datetime.datetime):
                stamp = moment.replace(tzinfo=datetime.UTC)
            else:
                stamp = datetime.datetime(moment.year, moment.month, moment.day,
                                          tzinfo=datetime.UTC)
            return int(stamp.timestamp())
        return self.wrong_type(node, field)

    def wrong_type(self, node: Any, field: Field) -> None:
        wanted = _TYPE_WORDS.get(field.type, field.type)
        got = _TYPE_WORDS.get(type(node).__name__.lower(), "this value")
        hint = None
        if isinstance(node, ast.Number) and field.type == "string":
            hint = f'put it in quotes: "{node.raw}"'
        elif field.choices:
            hint = "one of: " + ", ".join(field.choices)
        self.error(node.span, f'"{field.name}" takes {wanted}, not {got} {node.raw}', hint=hint)
        return None

    def money(self, node: ast.Money, currency: str | None) -> int | None:
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
        if node.amount < 0:
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


_AMOUNT_FIELDS = {"amount", "unit_amount", "amount_due", "amount_paid"}
_TYPE_WORDS = {
    "string": "text", "integer": "a whole number", "number": "a number",
    "boolean": "true or false", "timestamp": "a date", "object": "named fields (the X's Y is)",
    "list": "a list", "text": "text", "money": "money", "date": "a date", "datetime": "a date",
}


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


def find_procedure(runtime: Runtime, text: str) -> Procedure:
    """The procedure an English command names, however it is worded ("update the note",
    "add an item to the invoice", "get every customer from stripe"). Raises
    :class:`LanguageError` when it names none."""
    from .language.parser import parse_command

    command = parse_command(text)
    if command.whose is not None or command.inputs:
        from .model import InvalidCall

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
    return Checker(runtime, automation, given, columns).check()


__all__ = ["Checker", "Ref", "Step", "check", "find_procedure"]
