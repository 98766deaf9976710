"""Turn automation text into :mod:`~kognitos_books.language.ast` objects.

The parser is written by hand: a tokenizer per line and a recursive-descent reader per
line. That keeps every position exact and lets each error say, in the user's words, what
was expected (see ``docs/LANGUAGE.md``). It knows no verbs, nouns or fields: a command's
shape is found from a handful of keywords (determiners, prepositions, ``as``, ``whose``,
``with``, ``where``, the comparisons), and everything else is the user's words.

Problems in different commands are all reported at once: after an error the parser skips
to the next command (or the next input line) and carries on.

This module is the way in; the work is done, from the bottom up, by:

- :mod:`.keywords`: the words the language knows, in the tables the readers look words up in;
- :mod:`.source`: reading an automation's file (UTF-8, bounded);
- :mod:`.line`, :mod:`.literals`, :mod:`.tokens`: one line into tokens, its literals read
  there (text in quotes, numbers, money, dates), and the cursor every reader moves with;
- :mod:`.values`, :mod:`.conditions`, :mod:`.statements`: the readers of one line, each
  built on the one before: values (references, times, lists), then ``whose`` conditions and
  ``if`` checks, then the line that starts a statement (a command, a loop, an input);
- :mod:`.blocks`: which lines make up each statement, by their indentation.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

from .ast import Automation, Command
from .blocks import Parser
from .errors import LanguageError
from .source import AUTOMATION, MAX_AUTOMATION_SIZE, TextKind, read_automation, read_text
from .values import parse_reference, parse_value

__all__ = [
    "MAX_AUTOMATION_SIZE",
    "TextKind",
    "full_collections_put_off",
    "parse",
    "parse_command",
    "parse_reference",
    "parse_value",
    "read_automation",
    "read_text",
]


def parse(text: str, source_name: str = "<automation>") -> Automation:
    """Parse a whole automation.

    Raises :class:`LanguageError` for a syntax error, or :class:`LanguageErrors` (also a
    ``LanguageError``) when there are several; nothing else, whatever the text. Blank
    lines and ``#`` comments are skipped. An empty text gives an automation with no
    commands.
    """
    if len(text) > MAX_AUTOMATION_SIZE:
        raise AUTOMATION.too_large(len(text), "characters", source_name)
    with full_collections_put_off(text.count("\n") + 1):
        return Parser(text, source_name).automation()


class _FullCollections:
    """Python's full collections put off while a whole automation is read or checked.

    Reading makes a dozen objects a line and frees none of them. The cycle collector's full
    passes go over every object of the process (the SDK's included) and come more often the
    more objects are made, so without this a line took half as long again at 10,000 lines as
    at 1,000. The young generations are still collected as usual, while what they hold is
    fresh in the processor's cache; the next full pass comes when the work is done. Threads
    share the collector: its thresholds are set back when the last of them is done.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._within = 0
        self._thresholds = gc.get_threshold()

    @contextlib.contextmanager
    def put_off(self) -> Iterator[None]:
        with self._lock:
            if not self._within:
                self._thresholds = gc.get_threshold()
                gc.set_threshold(self._thresholds[0], self._thresholds[1], 1 << 30)
            self._within += 1
        try:
            yield
        finally:
            with self._lock:
                self._within -= 1
                if not self._within:
                    gc.set_threshold(*self._thresholds)


_FULL_COLLECTIONS = _FullCollections()
#: An automation of this many lines or fewer makes too few objects to set off a full pass.
_FEW_LINES = 50


def full_collections_put_off(lines: int) -> contextlib.AbstractContextManager[None]:
    """``with full_collections_put_off(lines): ...`` around reading or checking an automation
    of ``lines`` lines (see :class:`_FullCollections`); nothing for a few lines."""
    if lines <= _FEW_LINES:
        return contextlib.nullcontext()
    return _FULL_COLLECTIONS.put_off()


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
