"""Errors in an automation, shown the way a compiler shows them::

    invoice.kog:3:7: unknown field "emial" for a customer; did you mean "email"?
        the emial is "[email protected]"
            ^^^^^

The parser raises them for syntax; the checker raises them (with :meth:`LanguageError.at`
and the spans of the parsed commands) for unknown words, wrong types and the like.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..model import KbooksError

if TYPE_CHECKING:
    from .ast import Automation, Command, Span

__all__ = ["LanguageError", "LanguageErrors", "closest", "did_you_mean", "source_lines"]

#: Tab stops used when showing a line; any fixed value works as long as the line and the
#: caret line are laid out with the same one.
TAB_SIZE = 4
_INDENT = "    "
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """Split ``text`` into lines the way the parser numbers them.

    Only ``\\n``, ``\\r\\n`` and ``\\r`` end a line; other separators that
    ``str.splitlines`` knows (form feed, U+2028, ...) stay in the line, where the parser
    reports them.
    """
    return _LINE_BREAK.split(text)


class LanguageError(KbooksError):
    """A problem at a place in an automation.

    ``line`` and ``column`` are 1-based (0 when the problem has no place, e.g. an
    unreadable file); ``length`` is how many characters the caret line marks;
    ``line_text`` is the whole line as written. ``str()`` gives :meth:`render`.

    Several problems at once are raised as :class:`LanguageErrors`, itself a
    ``LanguageError``, so ``except LanguageError`` catches both; :attr:`errors` lists
    the individual problems either way.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source_name: str = "<automation>",
        line: int = 0,
        column: int = 0,
        length: int = 1,
        line_text: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.source_name = source_name
        self.line = line
        self.column = column
        self.length = max(1, length)
        self.line_text = line_text

    @classmethod
    def at(
        cls,
        span: Span | None,
        source: Automation | Command | str,
        message: str,
        *,
        hint: str | None = None,
        source_name: str | None = None,
    ) -> LanguageError:
        """An error pointing at ``span``.

        ``source`` supplies the name and the line text: an :class:`Automation`, a
        :class:`Command` (from ``parse_command``; named ``<command>`` unless
        ``source_name`` says otherwise), or the source text itself. ``span=None`` makes
        an error with no place, for inputs that were not written in the text.
        """
        from .ast import Automation, Command

        if isinstance(source, Automation):
            name = source.source_name
            text = source.line_text(span.line) if span else ""
        elif isinstance(source, Command):
            name = "<command>"
            text = source.line_text(span.line) if span else ""
        else:
            name = "<automation>"
            lines = source_lines(source)
            text = lines[span.line - 1] if span and 0 < span.line <= len(lines) else ""
        if span is None:
            return cls(message, source_name=source_name or name, hint=hint)
        return cls(
            message,
            source_name=source_name or name,
            line=span.line,
            column=span.column,
            length=span.length,
            line_text=text,
            hint=hint,
        )

    @property
    def errors(self) -> tuple[LanguageError, ...]:
        """The individual problems: just this one."""
        return (self,)

    @property
    def location(self) -> str:
        """``name:line:column``, or just the name when the problem has no place."""
        if self.line <= 0:
            return self.source_name
        return f"{self.source_name}:{self.line}:{self.column}"

    def render(self) -> str:
        """The message with its place, the line (indented by four spaces, without its own
        indentation) and a caret line under the culprit; then the hint, if any.
        """
        out = [f"{self.location}: {self.message}"]
        if self.line > 0 and self.line_text.strip():
            out.extend(_show(self.line_text, self.column, self.length))
        if self.hint:
            out.append(f"{_INDENT}hint: {self.hint}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location}: {self.message!r})"


class LanguageErrors(LanguageError):
    """Several problems found at once; renders each in turn.

    Its own ``line``, ``column`` and ``message`` are those of the first problem, so code
    that only looks at one still points somewhere sensible.
    """

    def __init__(self, errors: Iterable[LanguageError]) -> None:
        flat = [single for error in errors for single in error.errors]
        if not flat:
            raise ValueError("LanguageErrors needs at least one error")
        first = flat[0]
        super().__init__(
            first.message,
            source_name=first.source_name,
            line=first.line,
            column=first.column,
            length=first.length,
            line_text=first.line_text,
            hint=first.hint,
        )
        self._errors = tuple(flat)

    @property
    def errors(self) -> tuple[LanguageError, ...]:
        return self._errors

    def __len__(self) -> int:
        return len(self._errors)

    def render(self) -> str:
        return "\n".join(error.render() for error in self._errors)

    def __repr__(self) -> str:
        return f"LanguageErrors({len(self._errors)} problems, first {self._errors[0]!r})"

    @staticmethod
    def raise_if_any(errors: Sequence[LanguageError]) -> None:
        """Raise nothing for no errors, the error itself for one, else ``LanguageErrors``."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise LanguageErrors(errors)


# --------------------------------------------------------------------------- showing a line


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 2
    return 1


def _layout(text: str) -> tuple[str, list[int]]:
    """The text as a terminal shows it, and the display column where each character
    starts (one extra entry for the end), so the caret lines up under wide characters
    and tabs alike.
    """
    shown: list[str] = []
    starts: list[int] = []
    column = 0
    for char in text:
        starts.append(column)
        if char == "\t":
            width = TAB_SIZE - column % TAB_SIZE
            shown.append(" " * width)
        elif not char.isprintable() and not char.isspace():
            # Control characters and lone surrogates would garble (or fail to encode on)
            # the terminal; one replacement character keeps the columns right.
            width = 1
            shown.append("\ufffd")
        else:
            width = _char_width(char)
            shown.append(char)
        column += width
    starts.append(column)
    return "".join(shown), starts


def _show(line_text: str, column: int, length: int) -> list[str]:
    line_text = line_text.rstrip("\r\n")
    # The line is shown without its own indentation (the error's column still counts it).
    indent = len(line_text) - len(line_text.lstrip(" \t"))
    body = line_text[indent:].rstrip()
    start = min(max(column - 1 - indent, 0), len(body))
    end = min(max(start + max(length, 1), start), len(body))
    shown, starts = _layout(body)
    caret_at = starts[start]
    carets = max(starts[end] - caret_at, 1)
    return [f"{_INDENT}{shown}", f"{_INDENT}{' ' * caret_at}{'^' * carets}"]


# --------------------------------------------------------------------------- suggestions


#: How alike two words must be (difflib's ratio) to be suggested; difflib's own default.
_CUTOFF = 0.6


def _key(word: str) -> str:
    return "_".join(word.lower().replace("-", " ").replace("_", " ").split())


def closest(word: str, choices: Iterable[str], n: int = 3,
            cutoff: float = _CUTOFF) -> list[str]:
    """Up to ``n`` of ``choices`` that look like ``word``, best first (ties keep the
    order of ``choices``).

    Case is ignored, and spaces, hyphens and underscores count as the same, so
    ``"unit amount"`` finds ``"unit_amount"`` first. A choice that is one of the words of
    ``word`` comes next, the first word before the others (``"email address"`` finds
    ``"email"`` before ``"address"``), then choices alike by ``cutoff`` (difflib's ratio).
    Returns the choices as given.
    """
    by_key: dict[str, str] = {}
    for choice in choices:
        by_key.setdefault(_key(choice), choice)
    key = _key(word)
    words = key.split("_")
    import difflib

    matcher = difflib.SequenceMatcher(b=key)
    scored = []
    for position, candidate in enumerate(by_key):
        matcher.set_seq1(candidate)
        if candidate == key:
            scored.append((3.0, position, candidate))
        elif len(words) > 1 and candidate in words:
            scored.append((2.0 - words.index(candidate) / len(words), position, candidate))
        elif matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff \
                and (ratio := matcher.ratio()) >= cutoff:
            scored.append((ratio, position, candidate))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [by_key[candidate] for _, _, candidate in scored[:n]]


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """``'; did you mean "email"?'`` for the closest choices, or ``""`` when none is
    close; meant to be appended to a message.
    """
    found = closest(word, choices, n)
    if not found:
        return ""
    quoted = [f'"{choice}"' for choice in found]
    if len(quoted) == 1:
        return f"; did you mean {quoted[0]}?"
    return f"; did you mean {', '.join(quoted[:-1])} or {quoted[-1]}?"
