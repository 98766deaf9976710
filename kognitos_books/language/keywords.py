"""The words the language knows, in tables the reader looks words up in.

Everything else on a line is the user's words: verbs, nouns, fields and books. The tables
here say where those words end (``NAME_STOPS``, ``FIELD_STOPS``), which lines are not
commands (``STATEMENT_WORDS``), which words are a time (``TIME_WORDS``), the words of a
schedule (``WEEKDAYS``, ``SCHEDULE_UNITS``, ``SCHEDULE_WORDS``, ``CLOCK_WORDS``), and which
signs and codes make a number money (``SYMBOLS``, ``CURRENCY_CODES``). docs/LANGUAGE.md's keyword
table is tested against them (tests/language/test_language_docs.py).
"""

from __future__ import annotations

from ..money import DECIMALS

__all__ = [
    "COMPARISONS_HINT",
    "CLOCK_WORDS",
    "CURRENCY_CODES",
    "DETERMINERS",
    "FIELD_STOPS",
    "FORM_WORDS",
    "FIELD_STOPS_BEFORE",
    "IS",
    "IS_NOT",
    "NAME_STOPS",
    "NEGATED",
    "NOT_TEXT",
    "MERIDIEMS",
    "PREPOSITIONS",
    "SCHEDULE_OPENERS",
    "SCHEDULE_UNITS",
    "SCHEDULE_WORDS",
    "STATEMENT_WORDS",
    "SYMBOLS",
    "TIME_WORDS",
    "VALUE_EXAMPLES",
    "WEEKDAYS",
]

DETERMINERS = frozenset({"a", "an", "the", "some", "all", "every"})
#: The first words of a line that opens a schedule block: ``every day at 09:00``, ``on the
#: 1st of every month at 08:00`` (such a line is read by triggers.schedule_tokens).
SCHEDULE_OPENERS = ("every", "on")
#: The first words of the lines that are not commands (see statements.Reader.statement_kind).
STATEMENT_WORDS = frozenset({"for", "process", "if", "otherwise", "else", "say", "show",
                             "stop", "fail", "when", *SCHEDULE_OPENERS})
#: The days of the week, each at its number in cron (Sunday is 0).
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
#: What a schedule counts in after ``every`` (``every hour``, ``every 15 minutes``; the
#: plural is the unit and an "s").
SCHEDULE_UNITS = ("minute", "hour")
#: The words that may follow ``every``: the suggestions for a word that may not.
SCHEDULE_WORDS = ("day", "weekday", *WEEKDAYS, "minute", "minutes", "hour", "hours")
#: Times of day said in a word, as (hour, minute).
CLOCK_WORDS = {"noon": (12, 0), "midnight": (0, 0)}
#: The words after an hour of a 12-hour clock (``9am``, ``9:30 pm``).
MERIDIEMS = ("am", "pm")
#: Words that are a time by themselves (see values.ValueReader.moment).
TIME_WORDS = frozenset({"today", "yesterday", "tomorrow", "now"})
PREPOSITIONS = ("in", "from", "to", "on", "into", "for", "of")
#: Words that start a part of a command after its record: ``at`` a form its action declares
#: (``at the end of the period``), ``by`` a duration (``by 1 month``).
FORM_WORDS = ("at", "by")
IS = frozenset({"is", "are"})
IS_NOT = frozenset({"isn't", "aren't"})
#: Words that end a noun, a target or a reference. Prepositions and clause words start the
#: next part of the command; the others can never be part of a name and give a clearer
#: error where they stand than inside a long "unknown noun".
NAME_STOPS = frozenset(
    {*PREPOSITIONS, *FORM_WORDS, "as", "whose", "with", "where", "and", "or", "not", *IS, *IS_NOT,
     *DETERMINERS}
)
#: Words that end a field name: the start of a comparison, or a joining word. ("the" too:
#: "whose the email is" is a slip better reported where it stands.)
FIELD_STOPS = frozenset(
    {*IS, *IS_NOT, "contains", "contain", "starts", "ends", "doesn't", "don't", "and", "or",
     "whose", "with", "where", "the"}
)
#: Words that end a field name only when the next word makes them a comparison: "start
#: with", "end with", "does not", "do not". Alone they belong to the field: "period end",
#: "period start".
FIELD_STOPS_BEFORE = {"start": "with", "end": "with", "does": "not", "do": "not"}
#: The words that start a negated text comparison: "does not contain", "doesn't end with".
NOT_TEXT = frozenset({"does", "do", "doesn't", "don't"})
#: Each text comparison and its negation.
NEGATED = {"contains": "does not contain", "starts with": "does not start with",
           "ends with": "does not end with"}

#: Currency symbols and the ISO code each stands for; ``None`` where it stands for several.
SYMBOLS: dict[str, str | None] = {
    "$": None, "¥": None, "€": "eur", "£": "gbp", "₹": "inr", "₩": "krw", "₽": "rub",
    "₺": "try", "₪": "ils", "₫": "vnd", "₱": "php", "₦": "ngn", "₴": "uah", "฿": "thb",
}

#: Currency codes: a number followed by one of these (``15.00 usd``) is money; no keyword of
#: the language is among them. The ISO 4217 codes payment services take (money.py), and three
#: more ISO codes they do not (retired, or not taken), read as money all the same so that the
#: checker can say the currency is unknown rather than the line failing to read.
CURRENCY_CODES = frozenset(DECIMALS) | frozenset(("cuc", "hrk", "ved"))

#: The hint of an error where a comparison is missing.
COMPARISONS_HINT = (
    "a comparison is one of: is, is not, contains, does not contain, starts with, "
    "does not start with, ends with, does not end with, is greater than, is less "
    "than, is at least, is at most, is after, is before, is one of")
#: The hint of an error where a value is missing.
VALUE_EXAMPLES = '"text", 42, true, 2025-01-31, $15.00 or the customer\'s id'
