"""The literals of a line: text in quotes, numbers, amounts of money, dates and dates with
a time. Each reader takes the line and where the literal starts, and gives its
:class:`~kognitos_books.language.line.Token` (its ``value`` the AST literal) and where it
ends, or fails with an error that says how to write it.
"""

from __future__ import annotations

import calendar
import datetime
import re
from decimal import Decimal

from .ast import Date, DateTime, Money, Number, Span, Text
from .keywords import CURRENCY_CODES, SYMBOLS
from .line import Line, Token

__all__ = ["APOSTROPHES", "PHONE_DIGITS", "QUOTES", "SINGLE_QUOTES", "is_digit",
           "is_word_char", "literal", "quoted_text"]

DOUBLE_QUOTES = '"“”'
SINGLE_QUOTES = "'‘’"
QUOTES = DOUBLE_QUOTES + SINGLE_QUOTES
APOSTROPHES = "'’"

_SYMBOL_CLASS = "".join(re.escape(symbol) for symbol in SYMBOLS)
_DIGITS = "0123456789"
_MAX_DIGITS = 30
_DATE = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"
)
_TIME_AFTER_DATE = re.compile(r"[ \t]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?=[\s,#]|\Z)")
_AMOUNT = re.compile(
    rf"""(?P<sign>-)?(?P<before>[{_SYMBOL_CLASS}])?(?P<sign2>-)?
    (?P<number>[0-9]{{1,3}}(?:,[0-9]{{3}})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)
    (?P<after>[{_SYMBOL_CLASS}])?(?P<code>[A-Za-z]{{3}})?""",
    re.VERBOSE,
)
_CODE_AFTER = re.compile(r"[ \t]+([A-Za-z]{3})(?![\w'’])")
#: A phone number has at least this many digits (so "+5" is not one).
PHONE_DIGITS = 7
#: digits joined by hyphens or points, like a phone number (555-123-4567)
_DIGIT_GROUPS = re.compile(r"[0-9]+(?:[-.][0-9]+)+")


def is_digit(char: str) -> bool:
    return len(char) == 1 and char in _DIGITS


def is_word_char(char: str) -> bool:
    return bool(char) and (char.isalnum() or char == "_")


def quoted_text(line: Line, start: int) -> tuple[Token, int]:
    text = line.text
    opener = text[start]
    family = DOUBLE_QUOTES if opener in DOUBLE_QUOTES else SINGLE_QUOTES
    # A straight quote closes a straight one; a curly quote closes a curly one of its
    # family, whichever way it curls (word processors are not always right about that).
    same = opener if opener in "\"'" else family[1:]
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and text[index + 1:index + 2] and text[index + 1] in same + "\\":
            chars.append(text[index + 1])
            index += 2
            continue
        # In 'it's' the middle quote is an apostrophe: letters on both sides.
        inside_word = (family is SINGLE_QUOTES and is_word_char(text[index - 1])
                       and is_word_char(text[index + 1:index + 2]))
        if char in same and not inside_word:
            raw = text[start:index + 1]
            return Token("text", raw, start + 1, index + 2,
                         Text("".join(chars), raw, Span(line.number, start + 1, index + 2))), \
                index + 1
        chars.append(char)
        index += 1
    for index in range(start + 1, len(text)):
        follows = text[index + 1:index + 2]
        if text[index] in QUOTES and (not follows or follows.isspace() or follows in ",#"):
            raise line.fail(
                f"mixed quotes: the text starts with {opener} but ends with {text[index]}",
                start + 1, index + 2, hint="start and end text with the same kind of quote",
            )
    closer = same[0]
    raise line.fail(
        f"unterminated text: the {opener} at column {start + 1} is never closed",
        start + 1, len(text.rstrip()) + 1, hint=f"end the text with {closer} on the same line",
    )


def literal(line: Line, start: int) -> tuple[Token, int]:
    """A number, an amount of money, a date or a date and time starting at ``start``."""
    text = line.text
    end = start
    while end < len(text):
        char = text[end]
        if char.isspace() or char in QUOTES or char == "#":
            break
        # "1,500" and "$1,50" are one chunk (money, or refused as ambiguous: thousands or
        # decimals?); only "1, 2", with a space, is a list.
        if char == "," and not is_digit(text[end + 1:end + 2]):
            break
        end += 1
    if end - start > 1 and text[end - 1] == "." and text[end - 2].isalnum():
        end -= 1  # a full stop after the literal is reported on its own
    chunk = text[start:end]
    if re.match(r"[0-9]{4}-", chunk):
        return _date(line, start, end)
    match = _AMOUNT.fullmatch(chunk)
    if not match:
        message, hint = _bad_literal(chunk)
        raise line.fail(message, start + 1, end + 1, hint)
    before, after, code = match["before"], match["after"], match["code"]
    number = match["number"]
    if len(number) > _MAX_DIGITS:
        raise line.fail(f"number {chunk} is too long", start + 1, end + 1,
                        hint=f"numbers have at most {_MAX_DIGITS} digits")
    if match["sign"] and match["sign2"] or before and after:
        message, hint = _bad_literal(chunk)
        raise line.fail(message, start + 1, end + 1, hint)
    if code is None and after is None:
        follow = _CODE_AFTER.match(text, end)
        if follow and follow.group(1).lower() in CURRENCY_CODES:
            code = follow.group(1)
            end = follow.end()
    raw = text[start:end]
    span = Span(line.number, start + 1, end + 1)
    negative = bool(match["sign"] or match["sign2"])
    if code is None and before is None and after is None:
        if "," in number:
            raise line.fail(
                f"ambiguous number {chunk}",
                start + 1, end + 1,
                hint=f"write {number.replace(',', '')} without separators, or put a space after "
                "each comma to make a list",
            )
        value: int | Decimal = Decimal(number) if "." in number else int(number)
        return Token("number", raw, span.column, span.end_column,
                     Number(-value if negative else value, raw, span)), end
    symbol = before or after
    if code is not None and code.lower() not in CURRENCY_CODES:
        raise line.fail(f"unknown currency {code} in {chunk}", start + 1, end + 1,
                        hint="use an ISO currency code, like usd, eur or jpy")
    named = SYMBOLS.get(symbol) if symbol else None
    currency = code.lower() if code else named
    if named and code and code.lower() != named:
        raise line.fail(f"{symbol} is {named}, but the amount says {code}", start + 1, end + 1,
                        hint=f"drop the {symbol} or the {code}")
    amount = Decimal(number.replace(",", ""))
    return Token("money", raw, span.column, span.end_column,
                 Money(-amount if negative else amount, currency, symbol, raw, span)), end


def _bad_literal(chunk: str) -> tuple[str, str]:
    if any(symbol in chunk for symbol in SYMBOLS) or re.search(r"[0-9][A-Za-z]{3}$", chunk):
        return (f"bad amount of money {chunk}",
                "write amounts like $15.00, 15.00 usd or €12.50 (a point before the cents, "
                "commas only between thousands)")
    if "/" in chunk or re.fullmatch(r"[0-9]{1,2}-[0-9]{1,2}-[0-9]+", chunk):
        return f"bad date {chunk}", "write dates as year-month-day, like 2025-01-31"
    if ":" in chunk:
        return (f"bad time {chunk}",
                "a time goes after a date, like 2025-01-31 14:00")
    if re.fullmatch(r"-?[0-9]+(,[0-9]+)+", chunk):
        return (f"ambiguous number {chunk}",
                "write numbers without separators and with a point before decimals (1.5), "
                "or put a space after each comma to make a list")
    if _DIGIT_GROUPS.fullmatch(chunk) and sum(char.isdigit() for char in chunk) >= PHONE_DIGITS:
        # 555-123-4567, 12345-6789, 10.0.0.1: text made of digits, never a number
        return f"unquoted text {chunk}", f'put text in quotes: "{chunk}"'
    return f"bad number {chunk}", "write numbers like 42, -3 or 3.5"


def _date(line: Line, start: int, end: int) -> tuple[Token, int]:
    text = line.text
    chunk = text[start:end]
    match = _DATE.fullmatch(chunk)
    if not match:
        raise line.fail(f"bad date {chunk}", start + 1, end + 1,
                        hint="write dates as year-month-day, like 2025-01-31, and times as "
                        "2025-01-31 14:00")
    year, month, day = (int(group) for group in match.groups()[:3])
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        if 1 <= month <= 12:
            days = calendar.monthrange(max(year, 1), month)[1]
            hint = (f"{calendar.month_name[month]} {year} has {days} days" if year
                    else "years start at 1")
        else:
            hint = "months go from 01 to 12"
        date_end = start + match.end(3)
        raise line.fail(f"no such date {text[start:date_end]}", start + 1, date_end + 1,
                        hint=hint) from None
    clock = match.groups()[3:]
    time_end = end
    if clock[0] is None and (follow := _TIME_AFTER_DATE.match(text, end)):
        clock = follow.groups()
        time_end = follow.end()
    if clock[0] is None:
        raw = text[start:end]
        return Token("date", raw, start + 1, end + 1,
                     Date(date, raw, Span(line.number, start + 1, end + 1))), end
    hour, minute, second = int(clock[0]), int(clock[1]), int(clock[2] or 0)
    if hour > 23 or minute > 59 or second > 59:
        time_start = time_end - len(":".join(c for c in clock if c is not None))
        raise line.fail(f"no such time {':'.join(c for c in clock if c is not None)}",
                        time_start + 1, time_end + 1,
                        hint="times are 00:00 to 23:59, on a 24-hour clock")
    raw = text[start:time_end]
    span = Span(line.number, start + 1, time_end + 1)
    moment = datetime.datetime(year, month, day, hour, minute, second)
    return Token("datetime", raw, span.column, span.end_column,
                 DateTime(moment, raw, span)), time_end
