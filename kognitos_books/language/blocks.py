"""Lines and blocks: which lines of an automation make up each statement.

Indentation alone says where a block ends: a loop's, an ``if``'s, a ``when``'s or a
schedule's block is the lines indented deeper than its opener, and a command ending in
``with`` or ``where`` takes the lines under it as its inputs (or, for a text that lost its
indentation, the lines at its own indentation that start with ``the``). ``when`` and
schedule blocks go at the top only, and an automation that has them does nothing outside
them. After an error the parser skips what looks like the broken statement's block and
carries on, so that every problem is reported at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from .ast import (
    Automation,
    Branch,
    Command,
    Every,
    Fail,
    ForEach,
    If,
    Input,
    Say,
    Show,
    Statement,
    Stop,
    When,
    Zone,
)
from .errors import LanguageError, LanguageErrors, source_lines
from .keywords import SCHEDULE_OPENERS
from .line import BadLine, Line
from .statements import Head, Reader
from .tokens import check_characters, tokenize
from .triggers import schedule_tokens

__all__ = ["Parser"]

_THE = re.compile(r"the(?![\w'’])", re.IGNORECASE)
_SPACES_AND_TABS = re.compile(r"[ \t]*")
#: the start of a schedule line, which has tokens of its own (times like 9am, days like 1st)
_SCHEDULE = re.compile(rf"(?:{'|'.join(SCHEDULE_OPENERS)})(?![\w'’])", re.IGNORECASE)


def _indent_of(text: str) -> str:
    """The blanks a line starts with: spaces, tabs and the other spaces of Unicode."""
    index = _SPACES_AND_TABS.match(text).end()  # type: ignore[union-attr]
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


class Parser:
    """Reads the lines of one automation into its statements, gathering every error."""

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
            if len(text) > len(line.indent) and not text.startswith("#", len(line.indent)):
                code.append(line)
        base = min((line.indent for line in code), key=len, default="")
        self.first = next((line for line in code if line.indent == base), None)
        body, _ = self.statements(code, 0, base, top=True)
        self.refuse_loose(body)
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
                if _THE.match(line.text, len(line.indent)):
                    raise BadLine(self.stray_input(line, index == 1))
                scheduled = _SCHEDULE.match(line.text, len(line.indent))
                reader = Reader(line, (schedule_tokens if scheduled else tokenize)(line))
                read = _STATEMENTS[reader.statement_kind()]
                statement, index = read(self, reader, line, code, index, base)
                if statement is not None:
                    found.append(statement)
            except BadLine as fail:
                self.errors.append(fail.error)
                index = self.skip_block(code, index, base)
        return found, index

    def command(self, reader: Reader, line: Line, code: list[Line], index: int,
                base: str) -> tuple[Statement | None, int]:
        """A command line, and its inputs on the lines under it if it ends in "with"."""
        try:
            head = reader.command()
            reader.finish()
        except BadLine as fail:
            self.errors.append(fail.error)
            return None, self.skip_block(code, index, base)
        inputs = self.inputs_unique(head.inputs) if head.inputs else ()
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

    # -- one reader per kind of line (see _STATEMENTS); each returns the statement, or None
    # after an error it has recorded, and the index of the line after its block

    def otherwise(self, reader: Reader, line: Line, code: list[Line], index: int,
                  base: str) -> tuple[Statement | None, int]:
        raise line.fail(f'"{reader.word()}" without an "if" before it', 1 + len(
            line.indent), hint='an "otherwise" block follows an "if" block at '
            "the same indentation")

    def stop(self, reader: Reader, line: Line, code: list[Line], index: int,
             base: str) -> tuple[Statement | None, int]:
        return Stop(line.span(reader.take())), index

    def zone(self, reader: Reader, line: Line, code: list[Line], index: int,
             base: str) -> tuple[Statement | None, int]:
        first = reader.peek()
        assert first is not None
        for _ in range(3):
            keyword = reader.take()
        name = reader.quoted(keyword, 'in time zone')
        reader.finish()
        self.at_top(line, base, "in time zone")
        return Zone(name, line.span(first, reader.last)), index

    def when(self, reader: Reader, line: Line, code: list[Line], index: int,
             base: str) -> tuple[Statement | None, int]:
        self.at_top(line, base, "when")
        phrase, phrase_span, target, target_span = reader.when()
        span = line.span(reader.tokens[0], reader.last)
        body, index = self.body(code, index, base, line, f"when {phrase} in {target}")
        return When(phrase, phrase_span, target, target_span, tuple(body), line.text,
                    span), index

    def every(self, reader: Reader, line: Line, code: list[Line], index: int,
              base: str) -> tuple[Statement | None, int]:
        self.at_top(line, base, reader.tokens[0].raw.lower())
        schedule, schedule_span, zone = reader.schedule()
        span = line.span(reader.tokens[0], reader.last)
        body, index = self.body(code, index, base, line, schedule.text)
        return Every(schedule, schedule_span, zone, tuple(body), line.text, span), index

    def fail(self, reader: Reader, line: Line, code: list[Line], index: int,
             base: str) -> tuple[Statement | None, int]:
        first = reader.take()
        keyword = reader.take()
        reason = reader.quoted(keyword, "fail with")
        reader.finish()
        return Fail(reason, line.span(first, reader.last)), index

    def say(self, reader: Reader, line: Line, code: list[Line], index: int,
            base: str) -> tuple[Statement | None, int]:
        first = reader.take()
        text = reader.quoted(first, "say")
        reader.finish()
        return Say(text, line.text, line.span(first, reader.last)), index

    def show(self, reader: Reader, line: Line, code: list[Line], index: int,
             base: str) -> tuple[Statement | None, int]:
        first = reader.take()
        value = reader.single_value(first)
        reader.finish()
        return Show(value, line.text, line.span(first, reader.last)), index

    def loop(self, reader: Reader, line: Line, code: list[Line], index: int,
             base: str) -> tuple[Statement | None, int]:
        first = reader.peek()
        assert first is not None
        noun, noun_span, source = reader.loop()
        span = line.span(first, reader.last)
        body, index = self.body(code, index, base, line, f"for each {noun}")
        made = source.command(line.text, ()) if isinstance(source, Head) else source
        return ForEach(noun, noun_span, made, tuple(body), line.text, span), index

    def if_(self, reader: Reader, line: Line, code: list[Line], index: int,
            base: str) -> tuple[Statement | None, int]:
        """An ``if`` line and its block, and the ``otherwise`` lines after it."""
        branches: list[Branch] = []
        otherwise: tuple[Statement, ...] | None = None
        first = reader.take()
        check = reader.check()
        reader.finish()
        body, index = self.body(code, index, base, line, "if")
        branches.append(Branch(check, tuple(body), line.text, line.span(first, reader.last)))
        while index < len(code) and code[index].indent == base:
            nxt = code[index]
            follow = Reader(nxt, tokenize(nxt))
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

    # -- blocks

    def at_top(self, line: Line, base: str, what: str) -> None:
        """Refuse a line that goes at the top of the automation (``in time zone``, ``when``,
        a schedule) in a block."""
        if base == (self.first.indent if self.first else ""):
            return
        hint = None if what == "in time zone" else (
            "trigger and schedule blocks hold the lines to run; they are not inside a loop, "
            "an if or one another: write it without indentation")
        raise line.fail(f'"{what}" goes at the top of the automation, not in a block',
                        len(line.indent) + 1, hint=hint)

    def refuse_loose(self, body: list[Statement]) -> None:
        """In an automation with ``when`` or schedule blocks, refuse the statements at the
        top outside them (but ``in time zone``): nothing would run them."""
        opened = next((s for s in body if isinstance(s, When | Every)), None)
        if opened is None:
            return
        for statement in body:
            if isinstance(statement, When | Every | Zone):
                continue
            span = statement.span
            self.errors.append(LanguageError(
                "this line is outside the automation's \"when\" and \"every\" blocks (the "
                f"first is on line {opened.line}); nothing runs it",
                source_name=self.source_name, line=span.line, column=span.column,
                length=span.length, line_text=self.lines[span.line - 1],
                hint="indent it under the block it belongs to, or move it to an automation "
                "of its own",
            ))

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
                reader = Reader(line, tokenize(line))
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


#: The reader of each kind of line, as
#: :meth:`~kognitos_books.language.statements.Reader.statement_kind` names them.
_STATEMENTS: dict[str, Callable[[Parser, Reader, Line, list[Line], int, str],
                                tuple[Statement | None, int]]] = {
    "command": Parser.command, "loop": Parser.loop, "if": Parser.if_,
    "otherwise": Parser.otherwise, "stop": Parser.stop, "zone": Parser.zone,
    "fail": Parser.fail, "say": Parser.say, "show": Parser.show, "when": Parser.when,
    "schedule": Parser.every,
}


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
        elif isinstance(statement, When | Every):
            _commands_of(statement.body, into)
