"""Reading the lines that open a trigger block or a schedule block.

``when PHRASE in TARGET`` keeps the event's words as written (the books know the events,
the language does not) and the word of the book they come from: the word after the last
``in`` of the line. A schedule line (``every day at 09:00``, ``every monday and thursday
at 10:00``, ``every 15 minutes``, ``on the last day of every month at 6pm``, each perhaps
followed by ``in time zone "America/New_York"``) becomes a
:class:`~kognitos_books.schedules.Schedule`, its cron expression. Times of day and days of
the month are written as people write them (``9am``, ``1st``), which the tokens of other
lines are not, so a schedule line has tokens of its own (:func:`schedule_tokens`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs

from .ast import Span, Text
from .errors import did_you_mean
from .keywords import (
    CLOCK_WORDS,
    MERIDIEMS,
    NAME_STOPS,
    SCHEDULE_UNITS,
    SCHEDULE_WORDS,
    WEEKDAYS,
)
from .line import Line, Token
from .literals import QUOTES, quoted_text
from .values import ValueReader

if TYPE_CHECKING:
    from ..schedules import Schedule


def _schedules() -> Any:
    """The schedules module, imported when a schedule line is read (croniter's side of the
    language stays out of every other automation's start)."""
    from .. import schedules

    return schedules


__all__ = ["TriggerReader", "schedule_tokens"]

#: The tokens of a schedule line other than text in quotes: a day of the month (``1st``), a
#: time (``09:00``, ``9:30``, or ``:15``, minutes past the hour), a number, a word, a comma.
_SCHEDULE_TOKEN = re.compile(
    r"""(?P<ordinal>[0-9]+(?:st|nd|rd|th))(?!\w)
    |(?P<clock>[0-9]*:[0-9]+)
    |(?P<number>[0-9]+)
    |(?P<word>[^\W\d]\w*)
    |(?P<comma>,)""",
    re.VERBOSE | re.IGNORECASE,
)
_BLANKS = re.compile(r"\s*")
_EVENT_HINT = "like: when an invoice is paid in stripe"
#: The hint of a schedule that is not one: every form the language reads.
def _forms_hint() -> str:
    return "a schedule is one of: " + "; ".join(form.written for form in _schedules().FORMS)
_CLOCK_HINT = ("times are 00:00 to 23:59 on a 24-hour clock, 1am to 12pm on a 12-hour one, "
               "noon or midnight")
#: how many minutes (hours) "every N minutes" ("every N hours") may count: those that
#: divide an hour (a day), so that the slots are evenly spaced, the hour's (day's) first
#: included
_MINUTE_STEPS = tuple(n for n in range(2, 31) if 60 % n == 0)
_HOUR_STEPS = tuple(n for n in range(2, 13) if 24 % n == 0)


def schedule_tokens(line: Line) -> list[Token]:
    """The tokens of a schedule line: words (lower case), ``number`` (an int),
    ``ordinal`` (``1st``: the raw text; its number is read by the reader), ``clock``
    (``9:30``, ``:15``: the raw text), ``comma`` and ``text``."""
    text = line.text
    tokens: list[Token] = []
    index = _BLANKS.match(text, len(line.indent)).end()  # type: ignore[union-attr]
    while index < len(text):
        char = text[index]
        if char in QUOTES:
            token, index = quoted_text(line, index)
            tokens.append(token)
        elif char == "#" and text[index - 1].isspace():
            break  # a comment runs to the end of the line
        elif match := _SCHEDULE_TOKEN.match(text, index):
            kind = match.lastgroup
            assert kind is not None
            raw = match.group()
            value: object = raw.lower() if kind == "word" else (
                int(raw) if kind == "number" else raw)
            tokens.append(Token(kind, raw, index + 1, match.end() + 1, value))
            index = match.end()
        else:
            shown = f'"{char}"' if char.isprintable() else f"U+{ord(char):04X}"
            raise line.fail(f"unexpected {shown} in the schedule", index + 1,
                            hint=_forms_hint())
        index = _BLANKS.match(text, index).end()  # type: ignore[union-attr]
    return tokens


class TriggerReader(ValueReader):
    """The readers of a ``when`` line and of a schedule line."""

    # -- when PHRASE in TARGET

    def when(self) -> tuple[str, Span, str, Span]:
        """The event's words (lower case, single spaces) and where they are written, and
        the target's word and where it is."""
        opener = self.take()
        tokens = self.tokens
        if tokens[-1].kind == "colon" and len(tokens) > 1:
            raise self.line.fail('unexpected ":" at the end of the line', tokens[-1].column,
                                 hint='a "when" line opens its block without a colon; '
                                 "delete it")
        at = max((i for i, token in enumerate(tokens) if token.word == "in"), default=None)
        if at is None:
            phrase = self._phrase(opener, tokens[1:])
            raise self.line.fail("missing the book the event comes from", tokens[-1].end,
                                 hint=f'end the line with "in" and the book, like: when '
                                 f"{phrase} in stripe")
        phrase = self._phrase(opener, tokens[1:at])
        self.index = at + 1
        book = self.peek()
        if book is None or book.word is None or book.word in NAME_STOPS:
            raise self.fail_here(f'expected a book (like stripe) after "in", found '
                                 f"{self.found()}", hint=_EVENT_HINT)
        self.take()
        if not self.at_end():
            raise self.fail_here(f'unexpected {self.found()} after the book "{book.raw}"',
                                 hint='a "when" line ends with "in" and the book the event '
                                 f"comes from, {_EVENT_HINT}")
        return phrase, self.line.span(tokens[1], tokens[at - 1]), book.word, self.line.span(book)

    def _phrase(self, opener: Token, words: list[Token]) -> str:
        if not words:
            self.index = 1
            raise self.fail_here(f'expected an event after "{opener.raw}", found '
                                 f"{self.found()}", hint=_EVENT_HINT)
        said: list[str] = []
        for before, token in zip([None, *words], words, strict=False):
            if token.word is not None:
                said.append(token.word)
            elif token.kind == "possessive" and before is not None \
                    and before.word is not None and before.end == token.column:
                said[-1] += token.raw.replace("’", "'").lower()  # a customer's card
            else:
                raise self.line.fail(
                    f"an event is said in words, found {_shown(token)}", token.column,
                    token.end, hint=f"name the event as its book does, {_EVENT_HINT}; to "
                    'choose among the events, use "if" inside the block')
        return " ".join(said)

    # -- schedules

    def schedule(self) -> tuple[Schedule, Span, Text | None]:
        """A schedule line: the schedule, where it is written, and the time zone it is
        read in when the line names one (checked against the zone database)."""
        first = self.take()
        made = self._every(first) if first.word == "every" else self._monthly(first)
        span = self.line.span(first, self.last)
        zone = None
        if self.word() == "in":
            zone = self._zone()
        if not self.at_end():
            raise self.fail_here(
                f"unexpected {self.found()} after the schedule",
                hint='a schedule line ends with the schedule, then perhaps its time zone: '
                'every day at 09:00 in time zone "America/New_York"')
        written = self.line.text[span.column - 1:span.end_column - 1]
        return attrs.evolve(made, text=written), span, zone

    def _every(self, every: Token) -> Schedule:
        token = self.peek()
        word = self.word()
        if token is None:
            raise self.fail_here(f'expected a schedule after "{every.raw}", found the end of '
                                 "the line", hint=_forms_hint())
        if token.kind == "number":
            return self._interval()
        if word == "day":
            self.take()
            return _schedules().Schedule.daily(*self._at())
        if word == "weekday":
            self.take()
            return _schedules().Schedule.weekly(range(1, 6), *self._at())
        if word in WEEKDAYS:
            return self._weekly()
        if word in SCHEDULE_UNITS:
            self.take()
            if word == "minute":
                return _schedules().Schedule.minutely()
            return _schedules().Schedule.hourly(self._past())
        if word is not None and word.removesuffix("s") in SCHEDULE_UNITS:
            raise self.fail_here(f'expected how many {word} after "{every.raw}"',
                                 hint=f"like: every 2 {word}, or every {word[:-1]}")
        if word == "month":
            raise self.fail_here('"every month" needs its day: say it as: on the 1st of '
                                 "every month at 08:00",
                                 hint="or: on the last day of every month at 08:00")
        if word is None:
            raise self.fail_here(f'unexpected {self.found()} after "{every.raw}"',
                                 hint=_forms_hint())
        raise self.fail_here(f'unknown schedule {self.found()} after "{every.raw}"'
                             f"{did_you_mean(word, SCHEDULE_WORDS)}", hint=_forms_hint())

    def _interval(self) -> Schedule:
        """``every 15 minutes``, ``every 2 hours [at :30]``."""
        number = self.take()
        n: int = number.value  # type: ignore[assignment]
        name = (self.word() or "").removesuffix("s")
        if name not in SCHEDULE_UNITS:
            raise self.fail_here(f'expected "minutes" or "hours" after "{number.raw}", found '
                                 f"{self.found()}", hint="like: every 15 minutes, every 2 hours")
        self.take()
        steps = _MINUTE_STEPS if name == "minute" else _HOUR_STEPS
        if n == 1:
            made = _schedules().Schedule
            return made.minutely() if name == "minute" else made.hourly(self._past())
        if n not in steps:
            whole, instead = (("an hour", "every hour") if name == "minute"
                              else ("a day", "every day at midnight"))
            if n == (60 if name == "minute" else 24):
                raise self.line.fail(f"every {n} {name}s is {whole}", number.column,
                                     self.last.end, hint=f"say: {instead}")
            raise self.line.fail(
                f"every {n} {name}s does not divide {whole} evenly", number.column,
                self.last.end, hint=f"say one of: {', '.join(map(str, steps))} {name}s")
        if name == "minute":
            return _schedules().Schedule.minutely(n)
        return _schedules().Schedule.hourly(self._past(), n)

    def _weekly(self) -> Schedule:
        """``every monday``, ``every monday and thursday``, ``every monday, wednesday and
        friday``, then ``at TIME``."""
        days: list[int] = []
        while True:
            token = self.take()
            assert token.word is not None
            day = WEEKDAYS.index(token.word)
            if day in days:
                raise self.line.fail(f'"{token.raw}" is said twice', token.column, token.end,
                                     hint="say each day once")
            days.append(day)
            if self.kind() == "comma" or self.word() == "and":
                joiner = self.take()
                if self.word() not in WEEKDAYS:
                    word = self.word()
                    suggestion = did_you_mean(word, WEEKDAYS) if word else ""
                    raise self.fail_here(f'expected a day of the week after "{joiner.raw}", '
                                         f"found {self.found()}{suggestion}",
                                         hint="like: every monday and thursday at 10:00")
                continue
            return _schedules().Schedule.weekly(days, *self._at())

    def _monthly(self, on: Token) -> Schedule:
        """``on the 1st of every month at TIME``, ``on the last day of every month at
        TIME``."""
        hint = "like: on the 1st of every month at 08:00, or on the last day of every month"
        self._expect("the", hint)
        day: int | None
        token = self.peek()
        if token is not None and token.kind == "ordinal":
            day = self._day_of_month(self.take())
        elif self.word() == "last":
            self.take()
            self._expect("day", hint)
            day = None
        else:
            raise self.fail_here(f'expected a day of the month after "the", like 1st or '
                                 f"last day, found {self.found()}", hint=hint)
        for word in ("of", "every", "month"):
            self._expect(word, hint)
        return _schedules().Schedule.monthly(day, *self._at())

    def _day_of_month(self, token: Token) -> int:
        digits, suffix = token.raw[:-2], token.raw[-2:].lower()
        day = int(digits)
        if not 1 <= day <= 31:
            raise self.line.fail(f"no such day of the month: the {token.raw}", token.column,
                                 token.end, hint="days go from the 1st to the 31st; for the "
                                 "month's end say: on the last day of every month")
        if suffix != _suffix(day):
            raise self.line.fail(f"bad day {token.raw}", token.column, token.end,
                                 hint=f"write the {day}{_suffix(day)}")
        return day

    def _expect(self, word: str, hint: str) -> Token:
        if self.word() != word:
            said = f' after "{self.last.raw}"' if self.index else ""
            raise self.fail_here(f'expected "{word}"{said}, found {self.found()}', hint=hint)
        return self.take()

    def _at(self) -> tuple[int, int]:
        """``at TIME``: the hour and minute (24-hour clock)."""
        if self.word() != "at":
            raise self.fail_here(f'expected "at" and a time after "{self.last.raw}", found '
                                 f"{self.found()}", hint="say when in the day, like: every day "
                                 "at 09:00 (or 9am, 9:30 pm, noon, midnight)")
        at = self.take()
        token = self.peek()
        if token is not None and token.word in CLOCK_WORDS:
            self.take()
            return CLOCK_WORDS[token.word]
        if token is None or token.kind not in ("clock", "number") or token.raw.startswith(":"):
            raise self.fail_here(f'expected a time after "{at.raw}", found {self.found()}',
                                 hint="like: 09:00, 9am, 9:30 pm, noon or midnight")
        self.take()
        hour_text, _, minute_text = token.raw.partition(":")
        hour, minute = int(hour_text), int(minute_text or 0)
        meridiem = self.word() if self.word() in MERIDIEMS else None
        end = token.end
        if meridiem is not None:
            end = self.take().end
        elif token.kind == "number":
            raise self.line.fail(f"{token.raw} needs its minutes or am/pm", token.column,
                                 token.end, hint=f"like: {hour}:00 or {hour}am")
        if token.kind == "clock" and len(minute_text) != 2:
            raise self.line.fail(f"bad time {token.raw}", token.column, token.end,
                                 hint="write the minutes with two digits, like 9:05")
        if (minute > 59 or (hour > 23 if meridiem is None else not 1 <= hour <= 12)):
            written = self.line.text[token.column - 1:end - 1]
            raise self.line.fail(f"no such time {written}", token.column, end, hint=_CLOCK_HINT)
        if meridiem is not None:
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        return hour, minute

    def _past(self) -> int:
        """``at :15``: the minutes past the hour, after ``every hour`` (0 when not said)."""
        if self.word() != "at":
            return 0
        at = self.take()
        token = self.peek()
        if token is None or token.kind != "clock" or not token.raw.startswith(":"):
            raise self.fail_here(f'expected the minutes past the hour after "{at.raw}", like '
                                 f":15, found {self.found()}", hint="like: every hour at :15")
        self.take()
        minute = int(token.raw[1:])
        if minute > 59 or len(token.raw) != 3:
            raise self.line.fail(f"no such minute {token.raw}", token.column, token.end,
                                 hint="the minutes past the hour go from :00 to :59")
        return minute

    def _zone(self) -> Text:
        """``in time zone "America/New_York"`` after a schedule, its zone checked."""
        self.take()
        hint = 'like: in time zone "America/New_York"'
        self._expect("time", hint)
        keyword = self._expect("zone", hint)
        name = self.quoted(keyword, "in time zone")
        try:
            _schedules().time_zone(name.value)
        except _schedules().ScheduleError as exc:
            raise self.line.fail(exc.message, name.span.column, name.span.end_column,
                                 hint=exc.hint) from None
        return name


def _suffix(day: int) -> str:
    if day % 10 in (1, 2, 3) and day not in (11, 12, 13):
        return ("st", "nd", "rd")[day % 10 - 1]
    return "th"


def _shown(token: Token) -> str:
    return f"text {token.raw}" if token.kind == "text" else f'"{token.raw}"'

