"""Turn automation text into :mod:`~kognitos_books.language.ast` objects.

The parser is written by hand: a tokenizer per line and a recursive-descent reader per
command. That keeps every position exact and lets each error say, in the user's words,
what was expected (see ``docs/LANGUAGE.md``). It knows no verbs, nouns or fields: a
command's shape is found from a handful of keywords (determiners, prepositions, ``as``,
``whose``, ``with``, ``where``, the comparisons), and everything else is the user's words.

Problems in different commands are all reported at once: after an error the parser skips
to the next command (or the next input line) and carries on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import attrs

from .ast import (
    UNITS,
    Aggregate,
    AllOf,
    AnyOf,
    Automation,
    Boolean,
    Both,
    Branch,
    Check,
    Command,
    Condition,
    Either,
    Empty,
    Fail,
    FieldPath,
    ForEach,
    If,
    Input,
    ListValue,
    Moment,
    Not,
    Reference,
    Say,
    Show,
    Span,
    Statement,
    Stop,
    Target,
    TargetWord,
    Test,
    Text,
    Value,
    Where,
    Zone,
)
from .errors import LanguageError, LanguageErrors, source_lines
from .keywords import (
    COMPARISONS_HINT,
    DETERMINERS,
    FIELD_STOPS,
    FIELD_STOPS_BEFORE,
    IS,
    IS_NOT,
    NAME_STOPS,
    NEGATED,
    NOT_TEXT,
    PREPOSITIONS,
    STATEMENT_WORDS,
    TIME_WORDS,
    VALUE_EXAMPLES,
)
from .line import LITERALS, BadLine, Line, Token
from .source import AUTOMATION, MAX_AUTOMATION_SIZE, TextKind, read_automation, read_text
from .tokens import check_characters, tokenize

__all__ = [
    "MAX_AUTOMATION_SIZE",
    "TextKind",
    "parse",
    "parse_command",
    "parse_reference",
    "parse_value",
    "read_automation",
    "read_text",
]


_THE = re.compile(r"the(?![\w'’])", re.IGNORECASE)


# --------------------------------------------------------------------------- public API


def parse(text: str, source_name: str = "<automation>") -> Automation:
    """Parse a whole automation.

    Raises :class:`LanguageError` for a syntax error, or :class:`LanguageErrors` (also a
    ``LanguageError``) when there are several; nothing else, whatever the text. Blank
    lines and ``#`` comments are skipped. An empty text gives an automation with no
    commands.
    """
    if len(text) > MAX_AUTOMATION_SIZE:
        raise AUTOMATION.too_large(len(text), "characters", source_name)
    return _Parser(text, source_name).automation()


def parse_command(text: str, source_name: str = "<command>") -> Command:
    """Parse exactly one command, e.g. ``"create a customer in stripe"`` (its ``with``
    block may follow on the next lines). Raises :class:`LanguageError` when the text
    holds no command or more than one.
    """
    automation = parse(text, source_name)
    if not automation.commands:
        raise LanguageError(
            "expected a command, like: create a customer in stripe",
            source_name=source_name,
        )
    if len(automation.commands) > 1:
        extra = automation.commands[1]
        raise LanguageError.at(
            extra.verb_span,
            automation,
            f"expected one command, but another starts on line {extra.line}",
            hint="run several commands as an automation instead",
        )
    return automation.commands[0]


# --------------------------------------------------------------------------- tokens


def _indent_of(text: str) -> str:
    index = 0
    while index < len(text) and (text[index] in " \t" or unicodedata.category(text[index]) == "Zs"):
        index += 1
    return text[:index]


def _describe_indent(indent: str) -> str:
    if not indent:
        return "no indentation"
    parts = []
    for char, name in ((" ", "space"), ("\t", "tab")):
        count = indent.count(char)
        if count:
            parts.append(f"{count} {name}{'s' if count > 1 else ''}")
    others = len(indent) - indent.count(" ") - indent.count("\t")
    if others:
        parts.append(f"{others} other blank{'s' if others > 1 else ''}")
    return " and ".join(parts)


# --------------------------------------------------------------------------- one line


def _span_of(item: Check) -> Span:
    return item.span


def _join(words: list[Token], between: str = " ") -> str:
    return between.join(token.word or "" for token in words)


@attrs.define
class _Head:
    """A command line's parts while it is being read; becomes a :class:`Command`."""

    verb: str
    verb_span: Span
    noun: str = ""
    noun_span: Span | None = None
    determiner: str | None = None
    determiner_span: Span | None = None
    complement: str | None = None
    complement_span: Span | None = None
    preposition: str | None = None
    preposition_span: Span | None = None
    target: Target | None = None
    whose: Where | None = None
    inputs_keyword: str | None = None
    inputs_keyword_span: Span | None = None
    inputs: tuple[Input, ...] = ()
    span: Span | None = None
    named: str | None = None
    named_span: Span | None = None

    def command(self, text: str, inputs: tuple[Input, ...]) -> Command:
        assert self.noun_span is not None and self.span is not None
        return Command(
            verb=self.verb, verb_span=self.verb_span,
            determiner=self.determiner, determiner_span=self.determiner_span,
            noun=self.noun, noun_span=self.noun_span,
            complement=self.complement, complement_span=self.complement_span,
            preposition=self.preposition, preposition_span=self.preposition_span,
            target=self.target, whose=self.whose,
            inputs_keyword=self.inputs_keyword, inputs_keyword_span=self.inputs_keyword_span,
            inputs=inputs, text=text, span=self.span, named=self.named,
            named_span=self.named_span,
        )


class _Reader:
    """Recursive descent over the tokens of one line."""

    def __init__(self, line: Line, tokens: list[Token]) -> None:
        self.line = line
        self.tokens = tokens
        self.index = 0

    # -- looking and moving

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.index + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str | None:
        token = self.peek(ahead)
        return token.word if token else None

    def kind(self, ahead: int = 0) -> str | None:
        token = self.peek(ahead)
        return token.kind if token else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_end(self) -> bool:
        return self.index >= len(self.tokens)

    @property
    def last(self) -> Token:
        return self.tokens[self.index - 1]

    def fail_here(self, message: str, hint: str | None = None) -> BadLine:
        """An error at the next token, or just after the last one at the end of the line."""
        token = self.peek()
        if token is not None:
            return self.line.fail(message, token.column, token.end, hint)
        column = self.tokens[-1].end if self.tokens else len(self.line.text) + 1
        return self.line.fail(message, column, hint=hint)

    def words(self, stops: frozenset[str]) -> list[Token]:
        found = []
        while (word := self.word()) is not None and word not in stops:
            found.append(self.take())
        return found

    def found(self) -> str:
        token = self.peek()
        if token is None:
            return "the end of the line"
        if token.kind == "text":
            return f"text {token.raw}"
        return f'"{token.raw}"'

    # -- a command line

    def command(self) -> _Head:
        """The parts of a command line (its inputs too when they are on the line)."""
        first = self.peek()
        if first is None or first.word is None or first.word in NAME_STOPS:
            raise self.fail_here(
                f"a command starts with a verb, like get or create; found {self.found()}"
            )
        verb = self.take()
        head = _Head(first.word, self.line.span(verb))
        if self.word() in DETERMINERS:
            determiner = self.take()
            end = determiner
            if determiner.word == "all" and self.word() == "the":
                end = self.take()  # "all the invoices"
            head.determiner = determiner.word
            head.determiner_span = self.line.span(determiner, end)
        noun = self.words(NAME_STOPS)
        if not noun:
            said = self.line.text[verb.column - 1:self.last.end - 1]
            raise self.fail_here(
                f'expected a noun after "{said}", found {self.found()}',
                hint=f"say what to {verb.word}, like: {verb.word} a customer",
            )
        head.noun = _join(noun)
        head.noun_span = self.line.span(noun[0], noun[-1])
        self.clauses(head)
        head.span = self.line.span(verb, self.last)
        return head

    def clauses(self, head: _Head) -> None:
        while not self.at_end():
            word = self.word()
            if word == "as" and self.word(1) == "the" and head.named is None:
                self.take()
                the = self.take()
                words = self.words(NAME_STOPS)
                if not words:
                    raise self.fail_here(f'expected a name after "as the", found {self.found()}',
                                         hint='like: get all invoices from stripe whose status '
                                         'is "open" as the open invoices')
                head.named = _join(words)
                head.named_span = self.line.span(the, words[-1])
            elif word == "as" and head.complement is None:
                self.take()
                words = self.words(NAME_STOPS)
                if not words:
                    raise self.fail_here(
                        f'expected a word after "as", found {self.found()}',
                        hint="like: mark the invoice as uncollectible",
                    )
                head.complement = _join(words)
                head.complement_span = self.line.span(words[0], words[-1])
            elif word in PREPOSITIONS and head.preposition is None:
                preposition = self.take()
                head.preposition = preposition.word
                head.preposition_span = self.line.span(preposition)
                head.target = self.target(preposition)
            elif word == "whose" and head.whose is None:
                head.whose = self.where(self.take())
                if not self.at_end() and self.word() not in ("as", "with", "where",
                                                             *PREPOSITIONS):
                    raise self.fail_here(f"unexpected {self.found()} after the condition; "
                                         f'expected "and", "or", {self.expected(head)}')
            elif word in ("with", "where"):
                keyword = self.take()
                head.inputs_keyword = keyword.word
                head.inputs_keyword_span = self.line.span(keyword)
                if self.kind() == "colon":
                    self.take()  # "with:" is a common way to introduce a list
                if not self.at_end():
                    head.inputs = self.inline_inputs()
                return
            else:
                token = self.peek()
                if token is not None and token.kind == "possessive" and self.index:
                    raise self.fail_here(
                        f'unexpected apostrophe after "{self.last.raw}"',
                        hint="a command names what it acts on; to use a field of something "
                        "from an earlier step, write it as a value: the customer's id")
                raise self.fail_here(f"unexpected {self.found()}; expected {self.expected(head)}")

    def expected(self, head: _Head) -> str:
        options = []
        if head.complement is None:
            options.append('"as"')
        if head.preposition is None:
            options.append("a preposition (in, from, to, ...)")
        if head.whose is None:
            options.append('"whose"')
        options += ['"with"', '"where"']
        return ", ".join(options) + " or the end of the line"

    def target(self, preposition: Token) -> Target:
        word = self.word()
        if word == "the":
            return self.reference(self.take())
        if word is None or word in NAME_STOPS:
            raise self.fail_here(
                f'expected a book (like stripe) or something named earlier (like the '
                f'invoice) after "{preposition.raw}", found {self.found()}'
            )
        words = self.words(NAME_STOPS)
        raw = self.line.text[words[0].column - 1:words[-1].end - 1]
        return TargetWord(_join(words), raw,
                          self.line.span(words[0], words[-1]))

    # -- references, fields, values

    def reference(self, the: Token) -> Reference:
        """``the NOUN {'s FIELD}``; ``the`` has been taken."""
        token = self.peek()
        if token is not None and token.kind == "possessive":
            raise self.line.fail(
                f'empty reference: "{the.raw}" is followed by "{token.raw}"',
                the.column, token.end, hint="say whose, like: the customer's id",
            )
        noun = self.words(NAME_STOPS)
        if not noun:
            raise self.fail_here(f'expected a noun after "{the.raw}", found {self.found()}',
                                 hint="like: the customer, the customer's id")
        path: list[str] = []
        while (token := self.peek()) is not None and token.kind == "possessive":
            self.take()
            words = self.words(NAME_STOPS)
            if not words:
                raise self.fail_here(f"expected a field after \"'s\", found {self.found()}",
                                     hint="like: the customer's id")
            path.append(_join(words, "_"))
        last = self.last
        return Reference(_join(noun), tuple(path),
                         self.line.text[the.column - 1:last.end - 1], self.line.span(the, last))

    def field_words(self) -> list[Token]:
        """The words of one part of a field name, up to a comparison or a joining word."""
        found = []
        while (word := self.word()) is not None and word not in FIELD_STOPS \
                and not (word in FIELD_STOPS_BEFORE
                         and self.word(1) == FIELD_STOPS_BEFORE[word]):
            found.append(self.take())
        return found

    def field(self, after: Token) -> FieldPath:
        """``WORDS {'s WORDS}`` up to a comparison."""
        start = self.peek()
        parts: list[str] = []
        while True:
            words = self.field_words()
            if not words:
                if parts:
                    raise self.fail_here(f"expected a field after \"'s\", found {self.found()}",
                                         hint="like: the metadata's plan")
                if start is not None and start.kind == "possessive":
                    raise self.fail_here(f"expected a field before \"'s\", found {self.found()}")
                raise self.fail_here(f'expected a field after "{after.raw}", found '
                                     f"{self.found()}", hint='like: email, unit amount, '
                                     "metadata's plan")
            parts.append(_join(words, "_"))
            token = self.peek()
            if token is None or token.kind != "possessive":
                break
            self.take()
        assert start is not None
        last = self.last
        return FieldPath(tuple(parts), self.line.text[start.column - 1:last.end - 1],
                         self.line.span(start, last))

    def comparison(self, field: FieldPath) -> tuple[str, str, Span]:
        """The comparison after a field: ``(op, wording, span)``."""
        word = self.word()
        first = self.peek()
        if first is None or word is None:
            raise self.fail_here(f'missing comparison after "{field.raw}", found '
                                 f"{self.found()}", hint=COMPARISONS_HINT)
        op: str
        if word in IS_NOT:
            self.take()
            op = "is not"
        elif word in NOT_TEXT:
            self.take()
            if word in ("does", "do") and self.word() == "not":
                self.take()
            said = self.line.text[first.column - 1:self.last.end - 1]
            text_op = self.text_comparison(said)
            if text_op is None:
                raise self.fail_here(
                    f'expected "contain", "start with" or "end with" after "{said}", found '
                    f"{self.found()}", hint='to say a field differs from a value, write "is not"')
            op = NEGATED[text_op]
        elif (text_op := self.text_comparison()) is not None:
            op = text_op
        elif word in IS:
            self.take()
            op = self.after_is()
        else:
            raise self.fail_here(f'missing comparison after "{field.raw}", found '
                                 f"{self.found()}", hint=COMPARISONS_HINT)
        last = self.last
        return op, self.line.text[first.column - 1:last.end - 1], self.line.span(first, last)

    def text_comparison(self, said: str | None = None) -> str | None:
        """``contains``, ``starts with`` or ``ends with`` (in any of their wordings) when one
        comes next, else None with nothing taken. ``said`` is the negation before it, for
        errors."""
        word = self.word()
        if word in ("contains", "contain"):
            self.take()
            return "contains"
        if word not in ("starts", "start", "ends", "end"):
            return None
        verb = self.take()
        if self.word() != "with":
            wording = f"{said} {verb.raw}" if said else verb.raw
            raise self.fail_here(f'expected "with" after "{wording}", found {self.found()}')
        self.take()
        return "starts with" if word in ("starts", "start") else "ends with"

    def after_is(self) -> str:
        """The rest of a comparison that starts with ``is``, which has been taken."""
        word = self.word()
        following = self.word(1)
        if word == "not":
            self.take()
            if self.word() == "one" and self.word(1) == "of":
                raise self.fail_here(
                    '"is not one of" is not supported',
                    hint='join conditions instead: status is not "a" and status is not "b"',
                )
            return "is not"
        if word in ("greater", "more", "less"):
            if following != "than":
                self.take()
                raise self.fail_here(f'expected "than" after "{word}", found {self.found()}')
            self.take()
            self.take()
            if self.word() == "or" and self.word(1) == "equal" and self.word(2) == "to":
                for _ in range(3):
                    self.take()
                return "<=" if word == "less" else ">="
            return "<" if word == "less" else ">"
        if word == "at" and following in ("least", "most"):
            self.take()
            self.take()
            return ">=" if following == "least" else "<="
        if word in ("after", "before"):
            self.take()
            return ">" if word == "after" else "<"
        if word == "one":
            self.take()
            if self.word() != "of":
                raise self.fail_here(f'expected "of" after "one", found {self.found()}')
            self.take()
            return "one of"
        if word == "equal" and following == "to":
            self.take()
            self.take()
        return "is"

    def value(self, after: Token) -> Value:
        """A value, or a list: ``"a", "b" and "c"``. ``and``/``or`` followed by a word
        joins conditions instead, so ``"a" and email is ...`` ends the list.
        """
        first = self.single_value(after)
        items = [first]
        conjunction = None
        while (token := self.peek()) is not None:
            if token.kind == "comma":
                items.append(self.single_value(self.take()))
            elif token.word in ("and", "or") and self._literal_follows():
                conjunction = token.word
                items.append(self.single_value(self.take()))
            else:
                break
        if len(items) == 1:
            return first
        return ListValue(tuple(items), conjunction, items[0].span.to(items[-1].span))

    def _literal_follows(self) -> bool:
        token = self.peek(1)
        return token is not None and (token.kind in LITERALS or token.word in ("true", "false"))

    def single_value(self, after: Token) -> Value:
        token = self.peek()
        if token is None:
            raise self.fail_here(f'missing value after "{after.raw}"',
                                 hint=f"a value is {VALUE_EXAMPLES}")
        word = token.word
        moment = self.moment()
        if moment is not None:
            return moment
        if word == "the" and self.word(1) in ("number", "total") and self.word(2) == "of":
            return self.aggregate()
        if token.kind in LITERALS:
            self.take()
            return token.value  # type: ignore[return-value]
        if word in ("true", "false"):
            self.take()
            return Boolean(word == "true", token.raw, self.line.span(token))
        if word == "the":
            return self.reference(self.take())
        if word is not None and word not in NAME_STOPS:
            words = self.words(NAME_STOPS)
            raw = self.line.text[words[0].column - 1:words[-1].end - 1]
            hint = (f"to use something from an earlier step write: the {raw}'s ..."
                    if self.kind() == "possessive" else f'put text in quotes: "{raw}"')
            raise self.line.fail(f"unquoted text {raw}", words[0].column, words[-1].end, hint)
        raise self.fail_here(f'expected a value after "{after.raw}", found {self.found()}',
                             hint=f"a value is {VALUE_EXAMPLES}")

    def aggregate(self) -> Aggregate:
        """``the number of NOUNS`` / ``the total of the NOUNS' FIELD``."""
        first = self.take()
        kind = self.take().word or ""
        of = self.take()
        if kind == "number":
            noun = self.words(NAME_STOPS)
            if self.word() == "the" and not noun:
                self.take()
                noun = self.words(NAME_STOPS)
            if not noun:
                raise self.fail_here(f'expected what to count after "{of.raw}", found '
                                     f"{self.found()}", hint="like: the number of invoices")
            raw = self._raw(noun[0], noun[-1])
            ref = Reference(_join(noun), (), f"the {raw}", self.line.span(noun[0], noun[-1]))
        else:
            if self.word() != "the":
                raise self.fail_here(f'expected "the" after "{of.raw}", found {self.found()}',
                                     hint="like: the total of the invoices' amount due")
            ref = self.reference(self.take())
            if not ref.path:
                raise self.line.fail(f'"the total of {ref.raw}" needs a field to add up',
                                     ref.span.column, ref.span.end_column,
                                     hint="like: the total of the invoices' amount due")
        return Aggregate(kind, ref, self._raw(first, self.last),
                         self.line.span(first, self.last))

    def _unit(self, ahead: int) -> str | None:
        word = self.word(ahead)
        if word is None:
            return None
        singular = word[:-1] if word.endswith("s") else word
        return singular if singular in UNITS else None

    def moment(self) -> Moment | None:
        """A time people say (see :class:`~kognitos_books.language.ast.Moment`), or None
        (nothing taken) when the next words are not one."""
        first = self.peek()
        if first is None:
            return None
        word = first.word
        if word in TIME_WORDS:
            self.take()
            return Moment(word, 0, "day", None, first.raw, self.line.span(first))
        if first.kind == "number" and self._unit(1) and self.word(2) == "ago":
            return self._counted(first, "ago")
        if word == "in" and self.kind(1) == "number" and self._unit(2):
            self.take()
            return self._counted(first, "in", self.peek())
        if word in ("last", "this", "next") and self._unit(1):
            self.take()
            unit = self._unit(0)
            last = self.take()
            assert unit is not None
            return Moment(word, 0, unit, None, self._raw(first, last),
                          self.line.span(first, last))
        if word == "the" and self.word(1) in ("start", "end") and self.word(2) == "of":
            edge = self.word(1)
            period = self.word(3)
            unit = self._unit(4) if period in ("last", "this", "next") else None
            if period in ("today", "yesterday", "tomorrow"):
                for _ in range(4):
                    last = self.take()
                return Moment(period, 0, "day", edge, self._raw(first, last),
                              self.line.span(first, last))
            if unit is None:
                return None
            for _ in range(5):
                last = self.take()
            return Moment(period or "this", 0, unit, edge, self._raw(first, last),
                          self.line.span(first, last))
        return None

    def _counted(self, first: Token, kind: str, number: Token | None = None) -> Moment:
        number = number or first
        count = number.value.value  # type: ignore[attr-defined]
        if not isinstance(count, int) or count < 0:
            raise self.line.fail(f"{number.raw} {self.word(1) or ''}: count in whole "
                                 "numbers", number.column, number.end,
                                 hint="like: 3 days ago, in 2 weeks")
        self.take()
        unit = self._unit(0)
        last = self.take()
        if kind == "ago":
            last = self.take()
        assert unit is not None
        return Moment(kind, count, unit, None, self._raw(first, last),
                      self.line.span(first, last))

    def _raw(self, first: Token, last: Token) -> str:
        return self.line.text[first.column - 1:last.end - 1]

    # -- statements that are not commands

    def statement_kind(self) -> str:
        """What the line is: ``loop``, ``if``, ``otherwise``, ``stop``, ``fail``, ``say``,
        ``show``, or a ``command``."""
        first, second = self.word(), self.word(1)
        if first == "in" and second == "time" and self.word(2) == "zone":
            return "zone"
        if first not in STATEMENT_WORDS:
            return "command"
        if first in ("for", "process") and second == "each":
            return "loop"
        if first in ("if", "otherwise", "else", "say", "show"):
            return first if first != "else" else "otherwise"
        if first == "stop" and len(self.tokens) == 1:
            return "stop"
        if first == "fail" and second == "with":
            return "fail"
        return "command"

    def loop(self) -> tuple[str, Span, Reference | _Head | None]:
        """``for each NOUN [in SOURCE] [whose ...] [as follows]``: the noun, where it is
        written, and the source (a reference, a get, or None for the remembered list)."""
        opener = self.take()
        each = self.take()
        noun = self.words(NAME_STOPS)
        if not noun:
            raise self.fail_here(f'expected a noun after "{opener.raw} {each.raw}", found '
                                 f"{self.found()}", hint="like: for each invoice in the "
                                 "invoices")
        name = _join(noun)
        noun_span = self.line.span(noun[0], noun[-1])
        source: Reference | _Head | None = None
        if self.word() in ("in", "of", "from"):
            preposition = self.take()
            if self.word() == "the":
                source = self.reference(self.take())
                if self.word() == "whose":
                    raise self.fail_here(
                        '"whose" picks records from a book, not from a list',
                        hint=f'get them with it: for each {name} in stripe whose ...')
            else:
                head = _Head("get", self.line.span(opener, each), determiner="all",
                             determiner_span=self.line.span(each), noun=name,
                             noun_span=noun_span, preposition=preposition.word,
                             preposition_span=self.line.span(preposition))
                head.target = self.target(preposition)
                if self.word() == "whose":
                    head.whose = self.where(self.take())
                source = head
        if self.word() == "as":
            self.take()
            if self.word() != "follows":
                raise self.fail_here(f'expected "follows" after "as", found {self.found()}',
                                     hint=f"like: process each {name} as follows")
            self.take()
        if not self.at_end():
            raise self.fail_here(f"unexpected {self.found()}; expected \"in\", \"whose\", "
                                 '"as follows" or the end of the line')
        if isinstance(source, _Head):
            source.span = self.line.span(opener, self.last)
        return name, noun_span, source

    def check(self) -> Check:
        """``CHECK {(and|or) CHECK}``; ``and`` binds tighter."""
        if self.at_end():
            raise self.fail_here('"if" needs a condition',
                                 hint="like: if the invoice's amount due is more than $100")
        groups: list[list[Check]] = [[self.check_one()]]
        while self.word() in ("and", "or"):
            joiner = self.take()
            item = self.check_one()
            if joiner.word == "or":
                groups.append([item])
            else:
                groups[-1].append(item)
        alls: list[Check] = [group[0] if len(group) == 1 else
                             Both(tuple(group), _span_of(group[0]).to(_span_of(group[-1])))
                             for group in groups]
        if len(alls) == 1:
            return alls[0]
        return Either(tuple(alls), _span_of(alls[0]).to(_span_of(alls[-1])))

    def check_one(self) -> Check:
        first = self.peek()
        assert first is not None or self.at_end()
        if first is None:
            raise self.fail_here("expected a condition, found the end of the line")
        if first.word == "not":
            self.take()
            item = self.check_one()
            return Not(item, self.line.span(first).to(_span_of(item)))
        if first.word == "there" and self.word(1) in ("is", "are"):
            self.take()
            self.take()
            empty = self.word() == "no"
            if empty:
                self.take()
            noun = self.words(NAME_STOPS)
            if not noun:
                raise self.fail_here(f"expected what there are, found {self.found()}",
                                     hint="like: there are no invoices")
            raw = self.line.text[noun[0].column - 1:noun[-1].end - 1]
            ref = Reference(_join(noun), (), f"the {raw}", self.line.span(noun[0], noun[-1]))
            return Empty(ref, not empty, self.line.span(first, self.last))
        left: Value
        if first.word == "the" and self.word(1) in ("number", "total") and self.word(2) == "of":
            left = self.aggregate()
        elif first.word == "the":
            left = self.check_reference(self.take())
        else:
            left = self.single_value(first)
        if isinstance(left, Reference) and self.word() in IS and (
                self.word(1) == "empty" or (self.word(1) == "not" and self.word(2) == "empty")):
            self.take()
            negated = self.word() == "not"
            if negated:
                self.take()
            self.take()
            return Empty(left, negated, left.span.to(self.line.span(self.last)))
        parts = left.path if isinstance(left, Reference) and left.path else ("value",)
        field = FieldPath(parts, getattr(left, "raw", ""), left.span)
        op, op_raw, op_span = self.comparison(field)
        right = self.value(self.last)
        if op == "one of" and not isinstance(right, ListValue):
            right = ListValue((right,), None, right.span)
        return Test(left, op, op_raw, right, left.span.to(right.span), op_span)

    def check_reference(self, the: Token) -> Reference:
        """``the NOUN {'s FIELD}`` before a comparison (a field's words end where the
        comparison starts: ``the customer's email ends with ...``)."""
        noun = self.words(NAME_STOPS)
        if not noun:
            raise self.fail_here(f'expected a noun after "{the.raw}", found {self.found()}',
                                 hint="like: the invoice's amount due")
        path: list[str] = []
        while (token := self.peek()) is not None and token.kind == "possessive":
            self.take()
            words = self.field_words()
            if not words:
                raise self.fail_here(f"expected a field after \"'s\", found {self.found()}",
                                     hint="like: the invoice's amount due")
            path.append(_join(words, "_"))
        last = self.last
        return Reference(_join(noun), tuple(path),
                         self.line.text[the.column - 1:last.end - 1], self.line.span(the, last))

    def quoted(self, after: Token, what: str) -> Text:
        token = self.peek()
        if token is None or token.kind != "text":
            raise self.fail_here(f'expected text in quotes after "{after.raw}", found '
                                 f"{self.found()}", hint=f'like: {what} "..."')
        self.take()
        return token.value  # type: ignore[return-value]

    # -- whose

    def where(self, whose: Token) -> Where:
        """``whose CONDITION {(and|or) [whose] CONDITION}``; ``and`` binds tighter."""
        if self.at_end():
            raise self.fail_here('"whose" needs a condition',
                                 hint='like: whose email is "jane@example.com"')
        groups: list[list[Where]] = [[self.condition(whose)]]
        while self.word() in ("and", "or"):
            joiner = after = self.take()
            if self.word() == "whose":
                after = self.take()
            condition = self.condition(after)
            if joiner.word == "or":
                groups.append([condition])
            else:
                groups[-1].append(condition)
        alls: list[Where] = [
            group[0] if len(group) == 1 else AllOf(tuple(group), group[0].span.to(group[-1].span))
            for group in groups
        ]
        if len(alls) == 1:
            return alls[0]
        return AnyOf(tuple(alls), alls[0].span.to(alls[-1].span))

    def condition(self, after: Token) -> Condition:
        field = self.field(after)
        op, op_raw, op_span = self.comparison(field)
        value = self.value(self.last)
        if op == "one of" and not isinstance(value, ListValue):
            value = ListValue((value,), None, value.span)
        return Condition(field, op, op_raw, value, field.span.to(value.span), op_span)

    # -- inputs

    def input(self) -> Input:
        """``the FIELD is VALUE``."""
        the = self.peek()
        if the is None or the.word != "the":
            raise self.fail_here(f'expected an input like: the email is "...", found '
                                 f"{self.found()}",
                                 hint='each input reads "the FIELD is VALUE"; a new command '
                                 "is not indented")
        self.take()
        field = self.field(the)
        first = self.peek()
        op, op_raw, _ = self.comparison(field)
        if op != "is":
            assert first is not None
            raise self.line.fail(
                f'an input is set with "is", not "{op_raw}"', first.column, self.last.end,
                hint="to choose records by a condition, use whose on the command line",
            )
        value = self.value(self.last)
        return Input(field, value, self.line.span(the, self.last), self.line.text)

    def inline_inputs(self) -> tuple[Input, ...]:
        """Inputs on the command line itself: ``with the id is "x" and the name is "y"``."""
        inputs = [self.input()]
        while self.word() == "and" and self.word(1) == "the":
            self.take()
            inputs.append(self.input())
        return tuple(inputs)

    def finish(self) -> None:
        if not self.at_end():
            raise self.fail_here(f"unexpected {self.found()} after the value",
                                 hint="a line holds one command or one input")


# --------------------------------------------------------------------------- lines and blocks


class _Parser:
    def __init__(self, text: str, source_name: str) -> None:
        self.first: Line | None = None
        self.source_name = source_name
        self.lines = source_lines(text.removeprefix("\ufeff"))
        self.errors: list[LanguageError] = []

    def automation(self) -> Automation:
        code: list[Line] = []
        for number, text in enumerate(self.lines, start=1):
            line = Line(number, text, _indent_of(text), self.source_name)
            try:
                check_characters(line)
            except BadLine as fail:
                self.errors.append(fail.error)
                continue
            if line.content and not line.content.startswith("#"):
                code.append(line)
        base = min((line.indent for line in code), key=len, default="")
        self.first = next((line for line in code if line.indent == base), None)
        body, _ = self.statements(code, 0, base, top=True)
        LanguageErrors.raise_if_any(sorted(self.errors, key=lambda e: (e.line, e.column)))
        commands: list[Command] = []
        _commands_of(body, commands)
        return Automation(self.source_name, tuple(commands), tuple(self.lines), tuple(body))

    def statements(self, code: list[Line], index: int, base: str, *,
                   top: bool = False) -> tuple[list[Statement], int]:
        """The statements at indentation ``base`` from ``code[index]`` on, each with its
        block; returns them and the index of the first line after them (a line indented
        less, which ends the block)."""
        # Commands sit at the smallest indentation, so a whole automation may be indented
        # (as in a Python string) and a stray indented first line is reported as such.
        found: list[Statement] = []
        while index < len(code):
            line = code[index]
            if line.indent != base:
                if not top and (len(line.indent) < len(base)
                                or not line.indent.startswith(base)):
                    return found, index  # the block ends
                assert self.first is not None
                self.errors.append(self.misplaced(line, base, self.first, index == 0))
                index += 1
                continue
            index += 1
            try:
                if _THE.match(line.content):
                    raise BadLine(self.stray_input(line, index == 1))
                reader = _Reader(line, tokenize(line))
                kind = reader.statement_kind()
                if kind == "command":
                    command, index = self.command(reader, line, code, index, base)
                    if command is not None:
                        found.append(command)
                    continue
                if kind == "otherwise":
                    raise line.fail(f'"{reader.word()}" without an "if" before it', 1 + len(
                        line.indent), hint='an "otherwise" block follows an "if" block at '
                        "the same indentation")
                statement, index = self.other(kind, reader, line, code, index, base)
                found.append(statement)
            except BadLine as fail:
                self.errors.append(fail.error)
                index = self.skip_block(code, index, base)
        return found, index

    def command(self, reader: _Reader, line: Line, code: list[Line], index: int,
                base: str) -> tuple[Command | None, int]:
        try:
            head = reader.command()
            reader.finish()
        except BadLine as fail:
            self.errors.append(fail.error)
            return None, self.skip_block(code, index, base)
        inputs = self.inputs_unique(head.inputs)
        if head.inputs:
            index = self.refuse_block(code, index, base)
        elif head.inputs_keyword is not None:
            block, index = self.block(code, index, base)
            if not block:
                keyword = head.inputs_keyword
                span = head.inputs_keyword_span
                assert span is not None
                self.errors.append(LanguageError(
                    f'nothing follows "{keyword}": its inputs are missing',
                    source_name=self.source_name, line=line.number, column=span.column,
                    length=span.length, line_text=line.text,
                    hint=f'put the inputs on the lines under "{keyword}", indented, one '
                    'a line, like: the email is "jane@example.com"',
                ))
                return None, index
            inputs = self.inputs(block)
        return head.command(line.text, inputs), index

    def other(self, kind: str, reader: _Reader, line: Line, code: list[Line], index: int,
              base: str) -> tuple[Statement, int]:
        """A statement that is not a command, with its block if it opens one."""
        first = reader.peek()
        assert first is not None
        if kind == "stop":
            return Stop(line.span(first)), index
        if kind == "zone":
            for _ in range(3):
                keyword = reader.take()
            name = reader.quoted(keyword, 'in time zone')
            reader.finish()
            if base != (self.first.indent if self.first else ""):
                raise line.fail('"in time zone" goes at the top of the automation, not in a '
                                "block", len(line.indent) + 1)
            return Zone(name, line.span(first, reader.last)), index
        if kind == "fail":
            reader.take()
            keyword = reader.take()
            reason = reader.quoted(keyword, "fail with")
            reader.finish()
            return Fail(reason, line.span(first, reader.last)), index
        if kind == "say":
            reader.take()
            text = reader.quoted(first, "say")
            reader.finish()
            return Say(text, line.text, line.span(first, reader.last)), index
        if kind == "show":
            reader.take()
            value = reader.single_value(first)
            reader.finish()
            return Show(value, line.text, line.span(first, reader.last)), index
        if kind == "loop":
            noun, noun_span, source = reader.loop()
            span = line.span(first, reader.last)
            body, index = self.body(code, index, base, line, f"for each {noun}")
            made = source.command(line.text, ()) if isinstance(source, _Head) else source
            return ForEach(noun, noun_span, made, tuple(body), line.text, span), index
        assert kind == "if"
        branches: list[Branch] = []
        otherwise: tuple[Statement, ...] | None = None
        reader.take()
        check = reader.check()
        reader.finish()
        body, index = self.body(code, index, base, line, "if")
        branches.append(Branch(check, tuple(body), line.text, line.span(first, reader.last)))
        while index < len(code) and code[index].indent == base:
            nxt = code[index]
            follow = _Reader(nxt, tokenize(nxt))
            if follow.statement_kind() != "otherwise":
                break
            index += 1
            word = follow.take()
            if follow.word() == "if":
                follow.take()
                check = follow.check()
                follow.finish()
                body, index = self.body(code, index, base, nxt, f"{word.raw} if")
                branches.append(Branch(check, tuple(body), nxt.text,
                                       nxt.span(word, follow.last)))
                continue
            follow.finish()
            block, index = self.body(code, index, base, nxt, word.raw)
            otherwise = tuple(block)
            break
        return If(tuple(branches), otherwise, branches[0].span), index

    def body(self, code: list[Line], index: int, base: str, opener: Line,
             what: str) -> tuple[list[Statement], int]:
        """The block under a line that opens one: the lines indented deeper than it."""
        if index < len(code) and code[index].indent != base \
                and code[index].indent.startswith(base):
            return self.statements(code, index, code[index].indent)
        raise opener.fail(f'nothing follows "{what}": its block is missing',
                          len(opener.indent) + 1,
                          hint="indent the lines of the block under it, deeper than it")

    def stray_input(self, line: Line, at_start: bool) -> LanguageError:
        above = ("no command comes before it" if at_start
                 else 'the command above it does not end in "with"')
        return LanguageError(
            f'this line reads like an input ("the FIELD is VALUE"), but {above}',
            source_name=self.source_name, line=line.number, column=len(line.indent) + 1,
            length=3, line_text=line.text,
            hint='inputs go on the lines under a command ending in "with", like: create a '
            "customer in stripe with",
        )

    def misplaced(self, line: Line, base: str, first: Line, at_start: bool) -> LanguageError:
        column = len(line.indent) + 1
        if line.indent.startswith(base):
            if _THE.match(line.content):
                return self.stray_input(line, at_start)
            message = ('this line is indented, but the command above it does not end in '
                       '"with" or "where"')
            hint = ("indent only the inputs under such a command; to start a new command, "
                    "do not indent it")
        else:
            message = (f"inconsistent indentation: {_describe_indent(line.indent)} here, "
                       f"{_describe_indent(base)} on line {first.number}")
            hint = "indent with the same spaces or tabs throughout"
        return LanguageError(message, source_name=self.source_name, line=line.number,
                             column=column, length=1, line_text=line.text, hint=hint)

    def refuse_block(self, code: list[Line], index: int, base: str) -> int:
        """Report indented lines under a command that gave its inputs on its own line."""
        while index < len(code) and code[index].indent != base \
                and code[index].indent.startswith(base):
            line = code[index]
            self.errors.append(LanguageError(
                "this line is indented, but the command above it already has its inputs on "
                "its own line",
                source_name=self.source_name, line=line.number, column=len(line.indent) + 1,
                line_text=line.text,
                hint='give the inputs either after "with" on the command line or on the '
                "indented lines under it, not both",
            ))
            index += 1
        return index

    def skip_block(self, code: list[Line], index: int, base: str) -> int:
        """After a broken command, skip what looks like its inputs, so one mistake is not
        reported again for every line under it."""
        while index < len(code) and (
            (code[index].indent != base and code[index].indent.startswith(base))
            or (code[index].indent == base and _THE.match(code[index].content))
        ):
            index += 1
        return index

    def block(self, code: list[Line], index: int, base: str) -> tuple[list[Line], int]:
        """The input lines under a command ending in ``with``/``where``.

        They are the lines indented deeper than the command, all by the same amount, or,
        for text whose indentation was lost (pasted from a web page), lines at the
        command's own indentation that start with ``the``.
        """
        block: list[Line] = []
        indent: str | None = None
        flat = False
        while index < len(code):
            line = code[index]
            starts_with_the = bool(_THE.match(line.content))
            if line.indent == base:
                if not starts_with_the:
                    break
                if indent is None:
                    indent, flat = base, True
                elif not flat:
                    self.errors.append(self.unaligned(line, block[0]))
                    index += 1
                    continue
            elif line.indent.startswith(base):
                if indent is None:
                    indent = line.indent
                elif line.indent != indent:
                    self.errors.append(self.unaligned(line, block[0]))
                    index += 1
                    continue
            else:
                break
            block.append(line)
            index += 1
        return block, index

    def unaligned(self, line: Line, first: Line) -> LanguageError:
        return LanguageError(
            f"inconsistent indentation: {_describe_indent(line.indent)} here, "
            f"{_describe_indent(first.indent)} on line {first.number}",
            source_name=self.source_name, line=line.number, column=len(line.indent) + 1,
            line_text=line.text,
            hint="indent every input under a command by the same spaces or tabs",
        )

    def inputs(self, block: list[Line]) -> tuple[Input, ...]:
        found: list[Input] = []
        for line in block:
            try:
                reader = _Reader(line, tokenize(line))
                found.append(reader.input())
                reader.finish()
            except BadLine as fail:
                self.errors.append(fail.error)
        return self.inputs_unique(tuple(found))

    def inputs_unique(self, inputs: tuple[Input, ...]) -> tuple[Input, ...]:
        seen: dict[tuple[str, ...], Input] = {}
        kept = []
        for item in inputs:
            earlier = seen.get(item.field.parts)
            if earlier is not None:
                self.errors.append(LanguageError(
                    f'"{item.field}" is given twice; first on line {earlier.span.line}',
                    source_name=self.source_name, line=item.span.line,
                    column=item.field.span.column, length=item.field.span.length,
                    line_text=item.text, hint="keep only one of them",
                ))
                continue
            seen[item.field.parts] = item
            kept.append(item)
        return tuple(kept)


def _commands_of(body: Iterable[Statement], into: list[Command]) -> None:
    """Every command of ``body``, blocks included, in the order written."""
    for statement in body:
        if isinstance(statement, Command):
            into.append(statement)
        elif isinstance(statement, ForEach):
            if isinstance(statement.source, Command):
                into.append(statement.source)
            _commands_of(statement.body, into)
        elif isinstance(statement, If):
            for branch in statement.branches:
                _commands_of(branch.body, into)
            _commands_of(statement.otherwise or (), into)


def parse_reference(text: str) -> Reference | Aggregate:
    """One reference, as in a ``say`` text's braces: ``the customer's name``, ``the number
    of invoices``."""
    line = Line(1, text.strip(), "", "<reference>")
    try:
        check_characters(line)
        tokens = tokenize(line)
        reader = _Reader(line, tokens)
        if reader.word() != "the":
            raise line.fail(f"{text.strip()!r} is not a reference", 1, len(line.text) + 1)
        found: Reference | Aggregate
        if reader.word(1) in ("number", "total") and reader.word(2) == "of":
            found = reader.aggregate()
        else:
            found = reader.reference(reader.take())
        reader.finish()
    except BadLine as fail:
        raise fail.error from None
    return found


def parse_value(text: str) -> Value:
    """One literal written as in an automation: a number, an amount of money, a date, a
    date and time, ``true`` or ``false`` (or quoted text). How text given for a number,
    date or yes/no field (a CSV cell, ``kbooks call FIELD=VALUE``) is read. Raises
    :class:`LanguageError` when ``text`` is not one such literal.
    """
    line = Line(1, text.strip(), "", "<value>")
    try:
        check_characters(line)
        tokens = tokenize(line)
        if not tokens or (tokens[0].kind not in LITERALS
                          and tokens[0].word not in ("true", "false")):
            raise line.fail(f"{text.strip()!r} is not a number, an amount, a date or "
                            "true/false", 1, len(line.text) + 1)
        reader = _Reader(line, tokens)
        value = reader.single_value(tokens[0])
        reader.finish()
    except BadLine as fail:
        raise fail.error from None
    return value
