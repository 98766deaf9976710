"""Reading values: literals, lists, references (``the customer's id``), the totals and counts
of a list (``the number of invoices``), and the times people say (``3 days ago``, ``the end
of last month``). :func:`parse_value` and :func:`parse_reference` read one value alone, as a
CSV cell and the braces of a ``say`` text do.
"""

from __future__ import annotations

from collections.abc import Callable

from .ast import UNITS, Aggregate, Boolean, ListValue, Moment, Reference, Text, Value
from .keywords import NAME_STOPS, TIME_WORDS, VALUE_EXAMPLES
from .line import LITERALS, BadLine, Line, Token
from .tokens import Cursor, check_characters, join, tokenize

__all__ = ["ValueReader", "parse_reference", "parse_value"]

#: The literals a time is never made of (a number is: "3 days ago").
_NOT_COUNTED = LITERALS - {"number"}


def parse_reference(text: str) -> Reference | Aggregate:
    """One reference, as in a ``say`` text's braces: ``the customer's name``, ``the number
    of invoices``."""
    line = Line(1, text.strip(), "", "<reference>")
    try:
        check_characters(line)
        tokens = tokenize(line)
        reader = ValueReader(line, tokens)
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
        reader = ValueReader(line, tokens)
        value = reader.single_value(tokens[0])
        reader.finish()
    except BadLine as fail:
        raise fail.error from None
    return value


class ValueReader(Cursor):
    """Reads values from a line's tokens."""

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
        if token.kind in _NOT_COUNTED:  # (text, money or a date: never part of a time)
            self.index += 1
            return token.value  # type: ignore[return-value]
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

    def reference(self, the: Token) -> Reference:
        """``the NOUN {'s FIELD}``; ``the`` has been taken."""
        token = self.peek()
        if token is not None and token.kind == "possessive":
            raise self.line.fail(
                f'empty reference: "{the.raw}" is followed by "{token.raw}"',
                the.column, token.end, hint="say whose, like: the customer's id",
            )
        return self.reference_after(the, lambda: self.words(NAME_STOPS),
                                    "like: the customer, the customer's id",
                                    "like: the customer's id")

    def reference_after(self, the: Token, field_words: Callable[[], list[Token]],
                        noun_hint: str, field_hint: str) -> Reference:
        """The noun and fields of a reference after ``the``, each field's words read by
        ``field_words``; the hints are those of a missing noun and a missing field."""
        noun = self.words(NAME_STOPS)
        if not noun:
            raise self.fail_here(f'expected a noun after "{the.raw}", found {self.found()}',
                                 hint=noun_hint)
        path: list[str] = []
        while (token := self.peek()) is not None and token.kind == "possessive":
            self.take()
            words = field_words()
            if not words:
                raise self.fail_here(f"expected a field after \"'s\", found {self.found()}",
                                     hint=field_hint)
            path.append(join(words, "_"))
        last = self.last
        return Reference(join(noun), tuple(path),
                         self.line.text[the.column - 1:last.end - 1], self.line.span(the, last))

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
            raw = self.raw(noun[0], noun[-1])
            ref = Reference(join(noun), (), f"the {raw}", self.line.span(noun[0], noun[-1]))
        else:
            if self.word() != "the":
                raise self.fail_here(f'expected "the" after "{of.raw}", found {self.found()}',
                                     hint="like: the total of the invoices' amount due")
            ref = self.reference(self.take())
            if not ref.path:
                raise self.line.fail(f'"the total of {ref.raw}" needs a field to add up',
                                     ref.span.column, ref.span.end_column,
                                     hint="like: the total of the invoices' amount due")
        return Aggregate(kind, ref, self.raw(first, self.last),
                         self.line.span(first, self.last))

    def quoted(self, after: Token, what: str) -> Text:
        token = self.peek()
        if token is None or token.kind != "text":
            raise self.fail_here(f'expected text in quotes after "{after.raw}", found '
                                 f"{self.found()}", hint=f'like: {what} "..."')
        self.take()
        return token.value  # type: ignore[return-value]

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
            return Moment(word, 0, unit, None, self.raw(first, last),
                          self.line.span(first, last))
        if word == "the" and self.word(1) in ("start", "end") and self.word(2) == "of":
            edge = self.word(1)
            period = self.word(3)
            unit = self._unit(4) if period in ("last", "this", "next") else None
            if period in ("today", "yesterday", "tomorrow"):
                for _ in range(4):
                    last = self.take()
                return Moment(period, 0, "day", edge, self.raw(first, last),
                              self.line.span(first, last))
            if unit is None:
                return None
            for _ in range(5):
                last = self.take()
            return Moment(period or "this", 0, unit, edge, self.raw(first, last),
                          self.line.span(first, last))
        return None

    def _unit(self, ahead: int) -> str | None:
        word = self.word(ahead)
        if word is None:
            return None
        singular = word[:-1] if word.endswith("s") else word
        return singular if singular in UNITS else None

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
        return Moment(kind, count, unit, None, self.raw(first, last),
                      self.line.span(first, last))
