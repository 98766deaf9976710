"""Whatever the text, the parser answers with an automation or a LanguageError; and
commands built from the grammar come back as they were written.
"""

import datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kognitos_books.language import (
    AllOf,
    AnyOf,
    Automation,
    LanguageError,
    ListValue,
    Money,
    Reference,
    parse,
)

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# Pieces that steer random text into every corner of the grammar.
PIECES = [
    "get", "create", "send", "mark", " ", " ", " ", "  ", "\t", "\n", "\n  ", "\n\t", "\r\n",
    "a ", "an ", "the ", "all ", "customer", "invoice item", " from ", " in ", " to ",
    " as ", "stripe", " whose ", " with", " where", " and ", " or ", " is ", " is not ",
    " contains ", " starts with ", " ends with ", " does not contain ", " doesn't ",
    " is greater than ", " is at least ", " is one of ",
    " is after ", "'s", "’s", "'", '"', "“", "”", '"x"', "'y'", "\\", ",", ", ", ":", ".",
    "#", "# c", "42", "-3", "3.5", "1,500", "1.2.3", "$", "$15.00", "15 usd", "€", "¥1500",
    "2025-01-31", "2025-02-30", " 14:00", "25:61", "true", "false", "email", "unit amount",
    "metadata's plan", "\x00", "\x1b", "\u2028", "\u200b", "\ufeff", "名前", "-",
]

pieces = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
any_text = st.text(st.characters(exclude_categories=()), max_size=200)

MANUAL = (
    'get a customer from stripe whose email is "[email protected]"\n'
    'create a customer in stripe with\n  the email is "[email protected]"\n'
    '  the name is "John Doe"\n'
    "create a price in stripe with\n  the unit_amount is 1000\n  the currency is \"usd\"\n"
    "add a item to the invoice with\n  the amount is 1500\nsend the invoice\n"
)


@st.composite
def mutated_manual(draw):
    text = MANUAL
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 6))
        text = text[:at] + draw(st.sampled_from(["", *PIECES])) + text[at + cut:]
    return text


def check_outcome(text: str) -> None:
    try:
        automation = parse(text, "fuzz.kog")
    except LanguageError as caught:
        lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for error in caught.errors:
            assert 1 <= error.line <= len(lines)
            assert 1 <= error.column <= len(lines[error.line - 1]) + 1
            assert error.length >= 1
            assert error.message
            error.render().encode("utf-8")
        return
    assert isinstance(automation, Automation)
    for command in automation.commands:
        line = automation.line_text(command.span.line)
        assert line[command.verb_span.column - 1:command.verb_span.end_column - 1].lower() \
            == command.verb
        noun = line[command.noun_span.column - 1:command.noun_span.end_column - 1]
        assert " ".join(noun.lower().split()) == command.noun
        for item in command.inputs:
            input_line = automation.line_text(item.span.line)
            span = item.field.span
            assert input_line[span.column - 1:span.end_column - 1] == item.field.raw
            value = item.value
            if not isinstance(value, ListValue):
                span = value.span
                assert input_line[span.column - 1:span.end_column - 1] == value.raw


@FUZZ
@given(any_text)
def test_any_text(text):
    check_outcome(text)


@FUZZ
@given(pieces)
def test_text_made_of_language_pieces(text):
    check_outcome(text)


@FUZZ
@given(mutated_manual())
def test_mutations_of_a_valid_automation(text):
    check_outcome(text)


# --------------------------------------------------------------------------- round trip

NOUNS = ["customer", "invoice", "invoice item", "price", "product", "tax rate"]
# "end", "start" and "do" are field words too unless a comparison follows ("period end")
FIELD_WORDS = ["email", "name", "unit", "amount", "status", "metadata", "city", "created",
               "end", "start", "do"]
OPS = [("is", "is"), ("is not", "is not"), ("isn't", "is not"), ("contains", "contains"),
       ("starts with", "starts with"), ("ends with", "ends with"), ("end with", "ends with"),
       ("does not contain", "does not contain"), ("doesn't contain", "does not contain"),
       ("does not start with", "does not start with"),
       ("doesn't end with", "does not end with"), ("is greater than", ">"), ("is more than", ">"),
       ("is after", ">"), ("is less than", "<"), ("is before", "<"), ("is at least", ">="),
       ("is at most", "<=")]

text_chars = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"),
                           exclude_characters='"“”\\')


@st.composite
def values(draw):
    """(written, expected plain value)."""
    kind = draw(st.sampled_from(["text", "int", "decimal", "bool", "date", "datetime",
                                 "money", "reference"]))
    if kind == "text":
        value = draw(st.text(text_chars, max_size=20))
        return f'"{value}"', value
    if kind == "int":
        value = draw(st.integers(-10**12, 10**12))
        return str(value), value
    if kind == "decimal":
        value = draw(st.decimals(-10**6, 10**6, places=2, allow_nan=False,
                                 allow_infinity=False))
        return str(value), value
    if kind == "bool":
        value = draw(st.booleans())
        return str(value).lower(), value
    if kind == "date":
        value = draw(st.dates(datetime.date(1000, 1, 1)))
        return value.isoformat(), value
    if kind == "datetime":
        value = draw(st.datetimes(datetime.datetime(1000, 1, 1))).replace(microsecond=0)
        return value.strftime("%Y-%m-%d %H:%M:%S"), value
    if kind == "money":
        amount = draw(st.decimals(0, 10**6, places=2, allow_nan=False, allow_infinity=False))
        form = draw(st.sampled_from(["${}", "{} usd", "€{}", "{} JPY"]))
        return form.format(amount), ("money", amount)
    noun = draw(st.sampled_from(NOUNS))
    path = tuple(draw(st.lists(st.sampled_from(FIELD_WORDS), max_size=2)))
    return "the " + "".join([noun, *(f"'s {p}" for p in path)]), ("ref", noun, path)


@st.composite
def fields(draw):
    parts = draw(st.lists(st.lists(st.sampled_from(FIELD_WORDS), min_size=1, max_size=2),
                          min_size=1, max_size=2))
    return "'s ".join(" ".join(words) for words in parts), tuple("_".join(w) for w in parts)


@st.composite
def commands(draw):
    verb = draw(st.sampled_from(["get", "create", "update", "delete", "add", "send", "copy"]))
    determiner = draw(st.sampled_from([None, "a", "an", "the", "some", "all", "every"]))
    noun = draw(st.sampled_from(NOUNS))
    words = [verb, *([determiner] if determiner else []), noun]
    expected = {"verb": verb, "determiner": determiner, "noun": noun, "target": None,
                "whose": None, "inputs": ()}
    if draw(st.booleans()):
        preposition = draw(st.sampled_from(["in", "from", "to", "on", "into", "for", "of"]))
        if draw(st.booleans()):
            words += [preposition, "stripe"]
            expected["target"] = "stripe"
        else:
            target = draw(st.sampled_from(NOUNS))
            words += [preposition, "the", target]
            expected["target"] = ("ref", target, ())
    if draw(st.booleans()):
        groups = []
        clauses = []
        for index in range(draw(st.integers(1, 3))):
            field, parts = draw(fields())
            wording, op = draw(st.sampled_from(OPS))
            written, value = draw(values())
            joiner = draw(st.sampled_from(["and", "or"]))
            if index == 0 or joiner == "or":
                groups.append([])
            groups[-1].append((parts, op, value))
            lead = "whose" if index == 0 else f"{joiner} whose" if draw(st.booleans()) else joiner
            clauses.append(f"{lead} {field} {wording} {written}")
        words += clauses
        alls = [("and", *g) if len(g) > 1 else g[0] for g in groups]
        expected["whose"] = ("or", *alls) if len(alls) > 1 else alls[0]
    lines = [" ".join(words)]
    if draw(st.booleans()):
        lines[0] += " with"
        indent = draw(st.sampled_from(["  ", "    ", "\t"]))
        inputs = {}
        for _ in range(draw(st.integers(1, 4))):
            field, parts = draw(fields())
            written, value = draw(values())
            if parts not in inputs:
                inputs[parts] = value
                lines.append(f"{indent}the {field} is {written}")
        expected["inputs"] = tuple(inputs.items())
    return "\n".join(lines), expected


def plain(value):
    if isinstance(value, Reference):
        return ("ref", value.noun, value.path)
    if isinstance(value, Money):
        return ("money", value.amount)
    return value.value


def where(node):
    if isinstance(node, AllOf):
        return ("and", *map(where, node.items))
    if isinstance(node, AnyOf):
        return ("or", *map(where, node.items))
    return (node.field.parts, node.op, plain(node.value))


@FUZZ
@given(st.lists(commands(), min_size=1, max_size=4))
def test_commands_built_from_the_grammar_come_back(built):
    automation = parse("\n".join(text for text, _ in built))
    assert len(automation.commands) == len(built)
    for command, (_, expected) in zip(automation.commands, built, strict=True):
        target = command.target
        found = {
            "verb": command.verb,
            "determiner": command.determiner,
            "noun": command.noun,
            "target": None if target is None else (
                ("ref", target.noun, target.path) if isinstance(target, Reference)
                else target.name),
            "whose": None if command.whose is None else where(command.whose),
            "inputs": tuple((item.field.parts, plain(item.value)) for item in command.inputs),
        }
        assert found == expected


def test_decimal_values_keep_their_digits():
    value = parse("get a thing whose total is 10.50").commands[0].whose.value
    assert value.value == Decimal("10.50") and str(value.value) == "10.50"
