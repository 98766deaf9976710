"""The parts of a command after its record: a form its action declares (``at the end of
the period``), a time (``to 2027-01-01``) or a duration (``by 1 month``), and an id said
after a thing put on a record (``apply the coupon "SUMMER25" to the subscription``)."""

import datetime

import pytest

from kognitos_books.language import (
    Date,
    DateTime,
    LanguageError,
    Reference,
    Span,
    Text,
    parse_command,
)
from kognitos_books.language.ast import Moment


def test_a_form_runs_to_the_inputs():
    command = parse_command("cancel the subscription at the end of the period")
    assert (command.verb, command.noun, command.phrase) == (
        "cancel", "subscription", "at the end of the period")
    assert command.phrase_span == Span(1, 25, 49)
    assert command.target is None
    with_inputs = parse_command("cancel the subscription at the end of the period with the "
                                "proration behavior is \"none\"")
    assert with_inputs.phrase == "at the end of the period"
    assert [item.field.parts for item in with_inputs.inputs] == [("proration_behavior",)]


@pytest.mark.parametrize("text,count,unit", [
    ("advance the test clock by 1 month", 1, "month"),
    ("advance the test clock by 3 days", 3, "day"),
    ("advance the test clock by 2 weeks", 2, "week"),
    ("advance the test clock by 1 year", 1, "year"),
    ("advance the test clock by 10 years", 10, "year"),
])
def test_a_duration_after_by(text, count, unit):
    command = parse_command(text)
    assert command.by is not None and command.time is None
    assert (command.by.kind, command.by.count, command.by.unit) == ("by", count, unit)
    assert command.time_span == Span(1, 24, len(text) + 1)


def test_a_time_after_to():
    date = parse_command("advance the test clock to 2027-01-01")
    assert date.time == Date(datetime.date(2027, 1, 1), "2027-01-01", Span(1, 27, 37))
    assert date.preposition is None and date.target is None
    moment = parse_command("advance the test clock to 2027-01-01 12:30")
    assert isinstance(moment.time, DateTime)
    assert moment.time.value == datetime.datetime(2027, 1, 1, 12, 30)
    tomorrow = parse_command("advance the test clock to tomorrow")
    assert isinstance(tomorrow.time, Moment) and tomorrow.time.kind == "tomorrow"
    # "to" before a record or a book is the preposition, as ever
    target = parse_command("add an invoice item to the invoice")
    assert target.time is None and isinstance(target.target, Reference)


def test_an_id_after_a_thing_put_on_a_record():
    command = parse_command('apply the coupon "SUMMER25" to the subscription')
    assert command.noun == "coupon"
    assert command.thing == Text("SUMMER25", '"SUMMER25"', Span(1, 18, 28))
    assert command.target == Reference("subscription", (), "the subscription",
                                       Span(1, 32, 48))
    removed = parse_command("remove the discounts from the invoice")
    assert (removed.noun, removed.thing, removed.preposition) == ("discounts", None, "from")


@pytest.mark.parametrize("text,column,message", [
    ("cancel the subscription at", 27, 'expected words after "at"'),
    ("advance the test clock by", 26, 'expected a duration after "by"'),
    ("advance the test clock by month", 27, 'expected a duration after "by", found "month"'),
    ("advance the test clock by 1.5 months", 27, "count in whole numbers"),
    ("advance the test clock by 2 weeks by 1 day", 35, 'unexpected "by"'),
    ('get a customer "x"', 16, 'unexpected text "x"'),
])
def test_mistakes_in_the_forms_are_located(text, column, message):
    with pytest.raises(LanguageError) as info:
        parse_command(text)
    assert (info.value.line, info.value.column) == (1, column)
    assert message in info.value.message
