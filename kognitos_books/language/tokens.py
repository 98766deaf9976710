"""Reading a line into tokens: words, ``'s``, commas, colons and literals.

Before a line is read it is cleared of characters that are invisible or that break
terminals (:func:`check_characters`). :func:`tokenize` then reads it from left to right; a
``#`` after a blank starts a comment, and values often written without quotes (an email
address, a web address, a phone number) are refused whole, with their quoted form.
"""

from __future__ import annotations

import re
import unicodedata

from .ast import Text, new_span
from .keywords import SYMBOLS
from .line import BadLine, Line, Token
from .literals import (
    APOSTROPHES,
    PHONE_DIGITS,
    QUOTES,
    SINGLE_QUOTES,
    is_digit,
    is_word_char,
    literal,
    quoted_text,
)

__all__ = ["Cursor", "check_characters", "join", "tokenize"]

_WORD = re.compile(r"[^\W\d]\w*(?:-\w+)*")
#: blanks between tokens (the same characters as ``str.isspace``)
_BLANKS = re.compile(r"\s*")
#: Words of ASCII letters, digits, "_" and "-" with one space after each, most of a line:
#: read at once, each just as ``_USUAL`` reads it. (Nothing is run into from such words: a
#: word's apostrophe, or a bare address, starts where no space ends them.)
_WORD_RUN = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)* )+")
#: What most tokens are, and the blanks after them: a word with no apostrophe after it (group
#: 1), a comma, or text in straight double quotes with no backslash in it (group 2). Anything
#: else is read a character at a time.
_USUAL = re.compile(r"""(?>([^\W\d]\w*(?:-\w+)*))(?!['’])\s*|,\s*|("[^"\\]*")\s*""")
#: Values often written without quotes that nothing in the language resembles: an email
#: address, a web address, a phone number starting with + or (. Each is read whole so that
#: the error can show it and its quoted form, instead of stopping at its "@", "/" or "+".
_BARE_VALUE = re.compile(
    r"""(?P<email>[\w.+%-]+@[\w-]+(?:\.[\w-]+)+)(?![\w@/])
    |(?P<web>(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)[^\s"'“”‘’]+)
    |(?P<phone>[+(][0-9][0-9()]*(?:[ .-][0-9()]+)*)(?![\w+])""",
    re.VERBOSE | re.IGNORECASE,
)
#: the blank-free run that ends where a search stops (searched from the left, the first
#: match is the run's start)
_BLANK_FREE_TO_END = re.compile(r"\S*\Z")
#: the characters one of those values may start with
_BARE_FIRST = re.compile(r"[\w.+%(-]")
#: what a line holds if any of those values is on it: "@", "+", "(", "://" or "www." in any
#: case (most lines hold none: no need to look). Written to start with one set of characters,
#: which the expression engine looks for quickly, rather than as "[@+(]|://|www\.".
_MAYBE_BARE = re.compile(r"[@+(:wW](?:(?<=[@+(])|(?<=:)//|(?<=[wW])[wW]{2}\.)")
_CONTROL_NAMES = {0: "NUL", 0x08: "backspace", 0x0B: "vertical tab", 0x0C: "form feed",
                  0x1B: "escape", 0x7F: "delete"}
#: Bidirectional controls: they make a line display in another order than it is read, so a
#: text can look like one value and be another. Refused anywhere, quoted text included.
_BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
#: Invisible characters with no use in a value: two texts that look the same would differ.
#: (Joiners U+200C and U+200D stay: some scripts and emoji need them.)
_ZERO_WIDTH = frozenset((0x200B, 0x2060, 0xFEFF))
#: a line of printable ASCII characters and tabs, which holds none of the above
_PLAIN_LINE = re.compile(r"[\t\x20-\x7e]*\Z")


def check_characters(line: Line) -> None:
    """Refuse characters that are invisible or that break terminals, anywhere in a line."""
    if _PLAIN_LINE.match(line.text):
        return  # printable ASCII and tabs: nothing to refuse (the common case, made quick)
    for index, char in enumerate(line.text):
        category = unicodedata.category(char)
        code = f"U+{ord(char):04X}"
        if ord(char) in _BIDI_CONTROLS:
            raise line.fail(
                f"bidirectional control character {code} "
                f"({unicodedata.name(char).lower()}) in the text", index + 1,
                hint="it makes the line display differently from what it says; delete it")
        if ord(char) in _ZERO_WIDTH:
            raise line.fail(_unexpected_character(char), index + 1,
                            hint="an invisible character; delete it")
        if char == "\t" or category not in ("Cc", "Cs", "Zl", "Zp"):
            continue
        if category == "Cs":
            message = f"invalid character {code} (half of a surrogate pair)"
        elif category in ("Zl", "Zp"):
            message = f"{unicodedata.name(char).lower()} {code} in the middle of a line"
        else:
            name = _CONTROL_NAMES.get(ord(char))
            message = f"control character {code}{f' ({name})' if name else ''} in the text"
        raise line.fail(message, index + 1,
                        hint="automations are plain text; delete the character")


def tokenize(line: Line) -> list[Token]:
    text = line.text
    tokens: list[Token] = []
    append = tokens.append
    start = len(line.indent)
    size = len(text)
    bare_starts = _bare_starts(text, start)
    index = _BLANKS.match(text, start).end()  # type: ignore[union-attr]
    while index < size:
        if bare_starts and index in bare_starts and (bare := _bare_value(text, index)):
            raise line.fail(f"unquoted text {bare}", index + 1, index + len(bare) + 1,
                            hint=f'put text in quotes: "{bare}"')
        if not bare_starts and (run := _WORD_RUN.match(text, index)):
            written = run.group()
            for raw, word in zip(written.split(" "), written.lower().split(" "), strict=True):
                if raw:  # (the last is the empty text after the last space)
                    end = index + len(raw)
                    append(Token("word", raw, index + 1, end + 1, word))
                    index = end + 1
            index = _BLANKS.match(text, index).end()  # type: ignore[union-attr]
            continue
        if match := _USUAL.match(text, index):  # a word, a comma or a plain text
            found = match.lastindex
            if found == 1:
                raw = match.group(1)
                append(Token("word", raw, index + 1, match.end(1) + 1, raw.lower()))
            elif found == 2:
                raw = match.group(2)
                end = match.end(2)
                span = new_span(line.number, index + 1, end + 1)
                append(Token("text", raw, index + 1, end + 1, Text(raw[1:-1], raw, span)))
            else:
                append(Token("comma", ",", index + 1, index + 2))
            index = match.end()
            continue
        char = text[index]
        if match := _WORD.match(text, index):
            end = match.end()
            raw = match.group()
            # isn't, aren't, doesn't: keep the contraction as one word.
            if text[end:end + 1] in APOSTROPHES and raw[-1:].lower() == "n" \
                    and text[end + 1:end + 2].lower() == "t" \
                    and not is_word_char(text[end + 2:end + 3]):
                raw = text[index:end + 2]
                end += 2
                value = raw.lower().replace("’", "'")
            else:
                value = raw.lower()
            append(Token("word", raw, index + 1, end + 1, value))
            index = end
        elif char == ",":
            append(Token("comma", char, index + 1, index + 2))
            index += 1
        elif char == "#" and (index == 0 or text[index - 1].isspace()):
            break  # a comment runs to the end of the line
        elif char in APOSTROPHES and tokens and tokens[-1].kind == "word" \
                and tokens[-1].end == index + 1:
            index = _apostrophe(line, tokens, index)
        elif _stray_possessive(text, index):
            append(Token("possessive", text[index:index + 2], index + 1, index + 3))
            index += 2
        elif char in QUOTES:
            token, index = quoted_text(line, index)
            append(token)
        elif is_digit(char) or char in SYMBOLS or (
            char == "-" and (is_digit(text[index + 1:index + 2])
                             or text[index + 1:index + 2] in SYMBOLS)
        ):
            token, index = literal(line, index)
            append(token)
        elif char == ":":
            append(Token("colon", char, index + 1, index + 2))
            index += 1
        elif char == "." and not text[index + 1:].strip():
            raise line.fail('unexpected "." at the end of the line', index + 1,
                            hint="commands do not end with a full stop; delete it")
        else:
            raise line.fail(_unexpected_character(char), index + 1)
        index = _BLANKS.match(text, index).end()  # type: ignore[union-attr]
    return tokens


def _bare_starts(text: str, start: int) -> set[int]:
    """Where on a line an unquoted email address, web address or phone number may start: at
    the start of the blank-free run of each "@", "+", "(", "://" or "www." (each of them holds
    one, with no blank before it). Empty for most lines, which hold none of them."""
    starts = set()
    index = start
    for hit in _MAYBE_BARE.finditer(text, start):
        # (a later hit's run starts no earlier than the last one's: searched from there)
        run = _BLANK_FREE_TO_END.search(text, index, hit.start())
        assert run is not None  # (it matches the empty text at the end at least)
        index = run.start()
        if _BARE_FIRST.match(text, index):  # (not a quoted text's start: "jane@example.com")
            starts.add(index)
    return starts


def _bare_value(text: str, index: int) -> str | None:
    """The unquoted email address, web address or phone number at ``index``, if one is."""
    match = _BARE_VALUE.match(text, index)
    if match is None:
        return None
    if match["web"]:
        return match["web"].rstrip(".,;:!?")  # punctuation after an address is not part of it
    if match["phone"] and sum(char.isdigit() for char in match["phone"]) < PHONE_DIGITS:
        return None
    return match.group()


def _unexpected_character(char: str) -> str:
    if char.isprintable() and not char.isspace():
        return f'unexpected "{char}"'
    return f"unexpected invisible character U+{ord(char):04X}"


def _stray_possessive(text: str, index: int) -> bool:
    """``'s`` after a blank (``the 's id``): a misplaced possessive rather than the start
    of a text, when no quote on the line would close such a text.
    """
    return (text[index] in APOSTROPHES and text[index + 1:index + 2].lower() == "s"
            and not is_word_char(text[index + 2:index + 3])
            and not any(char in SINGLE_QUOTES for char in text[index + 2:]))


def _apostrophe(line: Line, tokens: list[Token], index: int) -> int:
    """An apostrophe right after a word: ``'s`` nests a field; anything else is a mistake
    (it would otherwise open a quoted text that never ends).
    """
    text = line.text
    if text[index + 1:index + 2].lower() == "s" and not is_word_char(text[index + 2:index + 3]):
        tokens.append(Token("possessive", text[index:index + 2], index + 1, index + 3))
        return index + 2
    word = tokens[-1].raw
    if word[-1:].lower() == "s" and not is_word_char(text[index + 1:index + 2]):
        # a plural's possessive: the invoices' amount due
        tokens.append(Token("possessive", text[index], index + 1, index + 2))
        return index + 1
    raise line.fail(
        f'unexpected apostrophe after "{word}"',
        index + 1,
        hint="write 's to name a field of something (the customer's id); put text in quotes",
    )


def join(words: list[Token], between: str = " ") -> str:
    return between.join([token.word or "" for token in words])


class Cursor:
    """A place in the tokens of one line, and the moves every reader of a line makes:
    look ahead, take, read words up to a stop, fail at the next token."""

    def __init__(self, line: Line, tokens: list[Token]) -> None:
        self.line = line
        self.tokens = tokens
        self.index = 0
        self.size = len(tokens)  # (a line's tokens never change once read)
        self._words = [token.word for token in tokens]  # (looked at most: kept at hand)

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.index + ahead
        return self.tokens[index] if index < self.size else None

    def word(self, ahead: int = 0) -> str | None:
        index = self.index + ahead
        return self._words[index] if index < self.size else None

    def kind(self, ahead: int = 0) -> str | None:
        index = self.index + ahead
        return self.tokens[index].kind if index < self.size else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_end(self) -> bool:
        return self.index >= self.size

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
        """The words from here up to one of ``stops`` or a token that is not a word."""
        start = index = self.index
        words = self._words
        size = self.size
        while index < size and (word := words[index]) is not None and word not in stops:
            index += 1
        self.index = index
        return self.tokens[start:index]

    def found(self) -> str:
        token = self.peek()
        if token is None:
            return "the end of the line"
        if token.kind == "text":
            return f"text {token.raw}"
        return f'"{token.raw}"'

    def raw(self, first: Token, last: Token) -> str:
        return self.line.text[first.column - 1:last.end - 1]

    def finish(self) -> None:
        if not self.at_end():
            raise self.fail_here(f"unexpected {self.found()} after the value",
                                 hint="a line holds one command or one input")
