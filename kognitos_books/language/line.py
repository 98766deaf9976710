"""A line being read: its text and place, its tokens, and the error that abandons it."""

from __future__ import annotations

import attrs

from .ast import Span, new_span
from .errors import LanguageError

__all__ = ["LITERALS", "BadLine", "Line", "Token"]


class Token:
    """One token of a line. ``column``/``end`` are 1-based, ``end`` exclusive.

    ``kind`` is ``word`` (``value`` is the lower-case word, and so is ``word``),
    ``possessive`` (``'s``), ``comma``, ``colon``, or a literal: ``text``, ``number``,
    ``money``, ``date``, ``datetime`` (``value`` is the parsed AST value). ``word`` is None
    for all but words.
    """

    # (a plain class with slots: a line makes one a word, and attrs' frozen classes take
    # twice as long to make)
    __slots__ = ("column", "end", "kind", "raw", "value", "word")

    def __init__(self, kind: str, raw: str, column: int, end: int, value: object = None) -> None:
        self.kind = kind
        self.raw = raw
        self.column = column
        self.end = end
        self.value = value
        self.word: str | None = value if kind == "word" else None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.raw!r}, {self.column}, {self.end}, {self.value!r})"


LITERALS = frozenset({"text", "number", "money", "date", "datetime"})


class BadLine(Exception):
    """Abandons the current line; the parser records ``error`` and moves on."""

    def __init__(self, error: LanguageError) -> None:
        super().__init__(error.message)
        self.error = error


@attrs.define
class Line:
    number: int
    text: str
    indent: str
    source_name: str

    @property
    def content(self) -> str:
        return self.text[len(self.indent):]

    def fail(self, message: str, column: int, end: int | None = None,
             hint: str | None = None) -> BadLine:
        length = (end - column) if end is not None else 1
        return BadLine(LanguageError(message, source_name=self.source_name, line=self.number,
                                     column=column, length=length, line_text=self.text,
                                     hint=hint))

    def span(self, first: Token, last: Token | None = None) -> Span:
        """Where the tokens from ``first`` to ``last`` (or ``first`` alone) are written."""
        return new_span(self.number, first.column, (last or first).end)
