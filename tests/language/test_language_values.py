"""Values: text, numbers, booleans, dates, money, references and lists."""

import datetime
from decimal import Decimal

import pytest

from kognitos_books.language import (
    Boolean,
    Date,
    DateTime,
    ListValue,
    Money,
    Number,
    Reference,
    Span,
    Text,
    parse_command,
)


def condition_value(written: str):
    return parse_command(f"get a thing whose field is {written}").whose.value


def input_value(written: str):
    return parse_command(f"create a thing with\n  the field is {written}").inputs[0].value


@pytest.mark.parametrize(
    ("written", "kind", "value"),
    [
        ('"hello"', Text, "hello"),
        ("'hello'", Text, "hello"),
        ('""', Text, ""),
        ('"John Doe"', Text, "John Doe"),
        ('"“curly” inside"', Text, "“curly” inside"),
        ("“curly”", Text, "curly"),
        ("‘curly’", Text, "curly"),
        ('"it\'s"', Text, "it's"),
        ("'it's'", Text, "it's"),
        ("'say \"hi\"'", Text, 'say "hi"'),
        ('"say \\"hi\\""', Text, 'say "hi"'),
        ('"back\\\\slash"', Text, "back\\slash"),
        ('"C:\\temp"', Text, "C:\\temp"),
        ('"  spaces kept  "', Text, "  spaces kept  "),
        ('"tab\there"', Text, "tab\there"),
        ('"ünïcödé ✓ 日本"', Text, "ünïcödé ✓ 日本"),
        ('"# not a comment"', Text, "# not a comment"),
        ("42", Number, 42),
        ("0", Number, 0),
        ("-3", Number, -3),
        ("3.5", Number, Decimal("3.5")),
        ("-0.25", Number, Decimal("-0.25")),
        ("1000", Number, 1000),
        ("true", Boolean, True),
        ("false", Boolean, False),
        ("TRUE", Boolean, True),
        ("False", Boolean, False),
        ("2025-01-31", Date, datetime.date(2025, 1, 31)),
        ("2024-02-29", Date, datetime.date(2024, 2, 29)),
        ("2025-01-31 14:00", DateTime, datetime.datetime(2025, 1, 31, 14, 0)),
        ("2025-01-31 09:05:07", DateTime, datetime.datetime(2025, 1, 31, 9, 5, 7)),
        ("2025-01-31T14:00", DateTime, datetime.datetime(2025, 1, 31, 14, 0)),
        ("2025-01-31 0:00", DateTime, datetime.datetime(2025, 1, 31, 0, 0)),
    ],
)
def test_plain_values(written, kind, value):
    for found in (condition_value(written), input_value(written)):
        assert type(found) is kind
        assert found.value == value
        assert type(found.value) is type(value)
        assert found.raw == written


@pytest.mark.parametrize(
    ("written", "amount", "currency", "symbol"),
    [
        ("$15.00", "15.00", None, "$"),
        ("$15", "15", None, "$"),
        ("15.00 usd", "15.00", "usd", None),
        ("15 USD", "15", "usd", None),
        ("15usd", "15", "usd", None),
        ("¥1500", "1500", None, "¥"),
        ("1500 jpy", "1500", "jpy", None),
        ("€12.50", "12.50", "eur", "€"),
        ("12.50€", "12.50", "eur", "€"),
        ("£3", "3", "gbp", "£"),
        ("₹99.99", "99.99", "inr", "₹"),
        ("-$5.00", "-5.00", None, "$"),
        ("$-5.00", "-5.00", None, "$"),
        ("$1,500.00", "1500.00", None, "$"),
        ("1,500.00 usd", "1500.00", "usd", None),
        ("$15.00 cad", "15.00", "cad", "$"),
        ("€15 eur", "15", "eur", "€"),
        ("0.5 kwd", "0.5", "kwd", None),
    ],
)
def test_money(written, amount, currency, symbol):
    for found in (condition_value(written), input_value(written)):
        assert found == Money(Decimal(amount), currency, symbol, written, found.span)
        assert found.span.length == len(written)


def test_an_ambiguous_symbol_has_a_usual_currency():
    assert condition_value("$15").assumed_currency == "usd"
    assert condition_value("¥15").assumed_currency == "jpy"
    assert condition_value("15 cad").assumed_currency == "cad"
    assert condition_value("$15 cad").assumed_currency == "cad"


@pytest.mark.parametrize(
    ("written", "noun", "path"),
    [
        ("the customer", "customer", ()),
        ("the customer's id", "customer", ("id",)),
        ("the customer’s id", "customer", ("id",)),
        ("the invoice's total", "invoice", ("total",)),
        ("the row's email", "row", ("email",)),
        ("the invoice's customer's email", "invoice", ("customer", "email")),
        ("the invoice item's unit amount", "invoice item", ("unit_amount",)),
        ("The Customer's ID", "customer", ("id",)),
        ("the customer's address's postal_code", "customer", ("address", "postal_code")),
        ("the customers", "customers", ()),
    ],
)
def test_references(written, noun, path):
    for found in (condition_value(written), input_value(written)):
        assert found == Reference(noun, path, written, found.span)
        assert found.span.length == len(written)


@pytest.mark.parametrize(
    ("written", "items", "conjunction"),
    [
        ('"a", "b" and "c"', ["a", "b", "c"], "and"),
        ('"a", "b", "c"', ["a", "b", "c"], None),
        ('"a" and "b"', ["a", "b"], "and"),
        ('"a" or "b"', ["a", "b"], "or"),
        ("1, 2 and 3", [1, 2, 3], "and"),
        ("1, 2, 3", [1, 2, 3], None),
        ('"a","b"', ["a", "b"], None),
        ("$5 and $10", [Decimal(5), Decimal(10)], "and"),
        ("2025-01-01 and 2025-12-31",
         [datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)], "and"),
        ("true and false", [True, False], "and"),
        ('"a", the customer\'s id and "c"', ["a", ("customer", ("id",)), "c"], "and"),
        ('the customer\'s id, "b"', [("customer", ("id",)), "b"], None),
    ],
)
def test_lists(written, items, conjunction):
    def plain(value):
        if isinstance(value, Reference):
            return (value.noun, value.path)
        if isinstance(value, Money):
            return value.amount
        return value.value

    for found in (condition_value(written), input_value(written)):
        assert isinstance(found, ListValue)
        assert [plain(item) for item in found.items] == items
        assert found.conjunction == conjunction
        assert found.span.length == len(written)


def test_value_positions():
    command = parse_command('get a thing whose when is 2025-01-31 14:00 and tags is "a", "b"')
    first, second = command.whose.items
    assert first.value.span == Span(1, 27, 43)
    assert second.value.span == Span(1, 56, 64)
    assert [item.span for item in second.value.items] == [Span(1, 56, 59), Span(1, 61, 64)]


def test_text_positions_include_the_quotes():
    assert condition_value('"a b"').span == Span(1, 28, 33)
