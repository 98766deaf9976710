"""Trigger blocks (``when EVENT in BOOK``) and schedule blocks (``every day at 09:00``, ``on
the 1st of every month at 08:00``): what they read as, and every error where it stands."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kognitos_books.language import LanguageError, Span, parse
from kognitos_books.language.ast import Command, Every, ForEach, Say, Stop, When, Zone
from kognitos_books.schedules import Schedule

PAID = """\
when an invoice is paid in stripe
  get a customer from stripe with the id is the invoice's customer
  say "paid: {the invoice's number} by {the customer's email}"
"""


def only(text: str):
    (statement,) = parse(text).statements
    return statement


def test_a_when_block_keeps_the_events_words_the_book_and_the_block():
    when = only(PAID)
    assert isinstance(when, When)
    assert (when.phrase, when.target) == ("an invoice is paid", "stripe")
    assert when.phrase_span == Span(1, 6, 24)
    assert when.target_span == Span(1, 28, 34)
    assert when.span == Span(1, 1, 34)
    assert when.text == "when an invoice is paid in stripe"
    get, say = when.body
    assert isinstance(get, Command) and get.verb == "get" and get.span.line == 2
    assert isinstance(say, Say) and say.span.line == 3


def test_the_events_words_are_normalized_and_keep_their_place():
    text = "When  An Invoice   is PAID in Stripe\n  stop\n"
    when = only(text)
    assert (when.phrase, when.target) == ("an invoice is paid", "stripe")
    line = text.splitlines()[0]
    assert line[when.phrase_span.column - 1:when.phrase_span.end_column - 1] \
        == "An Invoice   is PAID"


def test_the_book_is_the_word_after_the_lines_last_in():
    when = only("when a customer in stripe is created in stripe\n  stop\n")
    assert (when.phrase, when.target) == ("a customer in stripe is created", "stripe")
    assert when.target_span == Span(1, 41, 47)


def test_an_events_words_may_name_a_field_of_its_record():
    when = only("when a customer’s card expires in stripe\n  stop\n")
    assert when.phrase == "a customer's card expires"


def test_several_blocks_in_one_file_with_their_zone_at_the_top():
    automation = parse('in time zone "Europe/Paris"\n'
                       + PAID +
                       "\nwhen a payment fails in stripe\n  fail with \"declined\"\n"
                       "every day at 09:00\n  say \"morning\"\n")
    zone, paid, fails, every = automation.statements
    assert isinstance(zone, Zone)
    assert [paid.phrase, fails.phrase] == ["an invoice is paid", "a payment fails"]
    assert isinstance(every, Every) and every.schedule.cron == "0 9 * * *"
    assert every.zone is None
    # the commands of the blocks are the automation's, in the order written
    assert [command.span.line for command in automation.commands] == [3]


def test_blocks_nest_inside_a_when_block():
    when = only("when an invoice is paid in stripe\n"
                "  for each invoice in the invoices\n"
                "    if the invoice's total is more than 5\n"
                "      stop\n"
                "  say \"done\"\n")
    loop, say = when.body
    assert isinstance(loop, ForEach) and isinstance(say, Say)
    assert isinstance(loop.body[0].branches[0].body[0], Stop)


# ----------------------------------------------------------------------- schedules

#: each schedule and its cron expression (the docs' table has one example of each form:
#: tests/language/test_language_docs.py)
SCHEDULES = [
    ("every day at 09:00", "0 9 * * *"),
    ("every day at 9:05", "5 9 * * *"),
    ("every day at 23:59", "59 23 * * *"),
    ("every day at 00:00", "0 0 * * *"),
    ("every day at 9am", "0 9 * * *"),
    ("every day at 9 am", "0 9 * * *"),
    ("every day at 9:30 pm", "30 21 * * *"),
    ("every day at 9:30PM", "30 21 * * *"),
    ("every day at 12am", "0 0 * * *"),
    ("every day at 12:15 am", "15 0 * * *"),
    ("every day at 12pm", "0 12 * * *"),
    ("every day at noon", "0 12 * * *"),
    ("every day at midnight", "0 0 * * *"),
    ("Every Day At 9AM", "0 9 * * *"),
    ("every weekday at 08:00", "0 8 * * 1-5"),
    ("every monday at 08:30", "30 8 * * 1"),
    ("every sunday at 08:30", "30 8 * * 0"),
    ("every saturday at 10am", "0 10 * * 6"),
    ("every monday and thursday at 10:00", "0 10 * * 1,4"),
    ("every friday, monday and wednesday at 9am", "0 9 * * 1,3,5"),
    ("every saturday and sunday at 10:00", "0 10 * * 0,6"),
    ("every monday, tuesday, wednesday, thursday and friday at 7am", "0 7 * * 1-5"),
    ("every hour", "0 * * * *"),
    ("every hour at :15", "15 * * * *"),
    ("every hour at :00", "0 * * * *"),
    ("every 1 hour at :45", "45 * * * *"),
    ("every 2 hours", "0 */2 * * *"),
    ("every 6 hours at :30", "30 */6 * * *"),
    ("every 12 hours", "0 */12 * * *"),
    ("every minute", "* * * * *"),
    ("every 1 minute", "* * * * *"),
    ("every 15 minutes", "*/15 * * * *"),
    ("every 5 minutes", "*/5 * * * *"),
    ("every 30 minutes", "*/30 * * * *"),
    ("on the 1st of every month at 08:00", "0 8 1 * *"),
    ("on the 2nd of every month at 8am", "0 8 2 * *"),
    ("on the 3rd of every month at 8am", "0 8 3 * *"),
    ("on the 11th of every month at 8am", "0 8 11 * *"),
    ("on the 22nd of every month at 8am", "0 8 22 * *"),
    ("on the 31st of every month at 8am", "0 8 31 * *"),
    ("on the last day of every month at 6pm", "0 18 L * *"),
    ("On The Last Day Of Every Month At Midnight", "0 0 L * *"),
]


@pytest.mark.parametrize(("written", "cron"), SCHEDULES)
def test_each_schedule_reads_as_its_cron_expression(written, cron):
    every = only(f"{written}\n  stop\n")
    assert isinstance(every, Every)
    assert every.schedule == Schedule(cron, written)
    assert every.schedule_span == Span(1, 1, len(written) + 1)
    assert every.zone is None
    assert every.body == (Stop(Span(2, 3, 7)),)


def test_a_schedule_names_its_time_zone_on_its_line():
    line = 'every weekday at 8am in time zone "America/New_York"  # the office'
    every = only(f"{line}\n  stop\n")
    assert every.schedule == Schedule("0 8 * * 1-5", "every weekday at 8am")
    assert every.zone.value == "America/New_York"
    assert every.zone.span == Span(1, 35, 53)
    assert every.span == Span(1, 1, 53)
    assert every.text == line


def test_a_schedule_line_may_be_indented_with_the_whole_automation():
    automation = parse("    every hour\n      stop\n    every minute\n      stop\n")
    assert [s.schedule.cron for s in automation.statements] == ["0 * * * *", "* * * * *"]


# ----------------------------------------------------------------------- errors

# (text, line, column, message, words in the hint)
ERRORS = [
    # when
    ("when\n  stop", 1, 5, 'expected an event after "when", found the end of the line',
     "when an invoice is paid in stripe"),
    ("when in stripe\n  stop", 1, 6, 'expected an event after "when", found "in"',
     "when an invoice is paid in stripe"),
    ("when an invoice is paid\n  stop", 1, 24, "missing the book the event comes from",
     'end the line with "in" and the book, like: when an invoice is paid in stripe'),
    ("when a payment fails\n  stop", 1, 21, "missing the book the event comes from",
     "like: when a payment fails in stripe"),
    ("when an invoice is paid in\n  stop", 1, 27,
     'expected a book (like stripe) after "in", found the end of the line', "in stripe"),
    ("when an invoice is paid in the stripe\n  stop", 1, 28,
     'expected a book (like stripe) after "in", found "the"', "in stripe"),
    ('when an invoice is paid in "stripe"\n  stop', 1, 28,
     'expected a book (like stripe) after "in", found text "stripe"', "in stripe"),
    ("when an invoice is paid in stripe now\n  stop", 1, 35,
     'unexpected "now" after the book "stripe"', 'ends with "in" and the book'),
    ("when an invoice over $100 is paid in stripe\n  stop", 1, 22,
     'an event is said in words, found "$100"', 'use "if" inside the block'),
    ("when an invoice is paid in stripe:\n  stop", 1, 34,
     'unexpected ":" at the end of the line', "without a colon"),
    ("when an invoice is paid in stripe\nwhen a payment fails in stripe\n  stop", 1, 1,
     'nothing follows "when an invoice is paid in stripe": its block is missing',
     "indent the lines of the block under it"),
    # schedules: the forms
    ("every\n  stop", 1, 6, 'expected a schedule after "every", found the end of the line',
     "every day at TIME"),
    ("every mondy at 9am\n  stop", 1, 7,
     'unknown schedule "mondy" after "every"; did you mean "monday"?', "every WEEKDAY at TIME"),
    ("every dya at 9am\n  stop", 1, 7, 'unknown schedule "dya" after "every"; did you mean "day"?',
     "on the DAY of every month at TIME"),
    ("every weekdays at 9am\n  stop", 1, 7,
     'unknown schedule "weekdays" after "every"; did you mean "weekday"', "every"),
    ('every "day" at 9am\n  stop', 1, 7, 'unexpected text "day" after "every"', "every"),
    ("every hours\n  stop", 1, 7, 'expected how many hours after "every"',
     "like: every 2 hours, or every hour"),
    ("every month\n  stop", 1, 7,
     '"every month" needs its day: say it as: on the 1st of every month at 08:00',
     "on the last day of every month"),
    ("every day\n  stop", 1, 10, 'expected "at" and a time after "day", found the end of '
     "the line", "every day at 09:00"),
    ("every monday and at 9am\n  stop", 1, 18,
     'expected a day of the week after "and", found "at"', "every monday and thursday"),
    ("every monday and thursdy at 9am\n  stop", 1, 18,
     'expected a day of the week after "and", found "thursdy"; did you mean "thursday"',
     "every monday and thursday"),
    ("every monday and monday at 9am\n  stop", 1, 18, '"monday" is said twice', "once"),
    ("every 15\n  stop", 1, 9, 'expected "minutes" or "hours" after "15", found the end of '
     "the line", "every 15 minutes"),
    ("every 7 minutes\n  stop", 1, 7, "every 7 minutes does not divide an hour evenly",
     "2, 3, 4, 5, 6, 10, 12, 15, 20, 30 minutes"),
    ("every 5 hours\n  stop", 1, 7, "every 5 hours does not divide a day evenly",
     "2, 3, 4, 6, 8, 12 hours"),
    ("every 60 minutes\n  stop", 1, 7, "every 60 minutes is an hour", "every hour"),
    ("every hour at 15\n  stop", 1, 15,
     'expected the minutes past the hour after "at", like :15, found "15"', "at :15"),
    ("every hour at :75\n  stop", 1, 15, "no such minute :75", ":00 to :59"),
    ("on\n  stop", 1, 3, 'expected "the" after "on", found the end of the line',
     "on the 1st of every month"),
    ("on the first of every month at 8am\n  stop", 1, 8,
     'expected a day of the month after "the", like 1st or last day, found "first"',
     "on the 1st"),
    ("on the 32nd of every month at 08:00\n  stop", 1, 8, "no such day of the month: the 32nd",
     "on the last day of every month"),
    ("on the 0th of every month at 08:00\n  stop", 1, 8, "no such day of the month: the 0th",
     "from the 1st to the 31st"),
    ("on the 1th of every month at 8am\n  stop", 1, 8, "bad day 1th", "write the 1st"),
    ("on the 22th of every month at 8am\n  stop", 1, 8, "bad day 22th", "write the 22nd"),
    ("on the 1st of every week at 8am\n  stop", 1, 21,
     'expected "month" after "every", found "week"', "on the 1st of every month"),
    ("on the last of every month at 8am\n  stop", 1, 13,
     'expected "day" after "last", found "of"', "on the last day of every month"),
    # schedules: the times
    ("every day at 25:00\n  stop", 1, 14, "no such time 25:00", "24-hour clock"),
    ("every day at 9:60\n  stop", 1, 14, "no such time 9:60", "00:00 to 23:59"),
    ("every day at 13pm\n  stop", 1, 14, "no such time 13pm", "1am to 12pm"),
    ("every day at 0am\n  stop", 1, 14, "no such time 0am", "1am to 12pm"),
    ("every day at 13:00 pm\n  stop", 1, 14, "no such time 13:00 pm", "12-hour"),
    ("every day at 9\n  stop", 1, 14, "9 needs its minutes or am/pm", "like: 9:00 or 9am"),
    ("every day at 9:5\n  stop", 1, 14, "bad time 9:5", "two digits"),
    ("every day at :30\n  stop", 1, 14, 'expected a time after "at", found ":30"', "noon"),
    ("every day at\n  stop", 1, 13, 'expected a time after "at", found the end of the line',
     "midnight"),
    ("every day at 09:00:00\n  stop", 1, 19, 'unexpected ":00" after the schedule',
     'in time zone "America/New_York"'),
    ("every day at 9am tomorrow\n  stop", 1, 18, 'unexpected "tomorrow" after the schedule',
     "then perhaps its time zone"),
    ("every day at 9am%\n  stop", 1, 17, 'unexpected "%" in the schedule', "every day at TIME"),
    # schedules: the time zone
    ('every day at 9am in time zone "America/New_Yrok"\n  stop', 1, 31,
     "'America/New_Yrok' is not a time zone; did you mean \"America/New_York\"",
     "zone database"),
    ("every day at 9am in zone\n  stop", 1, 21, 'expected "time" after "in", found "zone"',
     'in time zone "America/New_York"'),
    ("every day at 9am in time zone\n  stop", 1, 30,
     'expected text in quotes after "zone", found the end of the line', "in time zone"),
    # where the blocks go
    ("every day at 9am\nsend the invoice", 1, 1,
     'nothing follows "every day at 9am": its block is missing', "indent the lines"),
    ("for each invoice in the invoices\n  when an invoice is paid in stripe\n    stop", 2, 3,
     '"when" goes at the top of the automation, not in a block', "write it without indentation"),
    ("when an invoice is paid in stripe\n  every day at 9am\n    stop", 2, 3,
     '"every" goes at the top of the automation, not in a block', "not inside a loop"),
    ('if the invoice\'s total is 5\n  on the 1st of every month at 8am\n    stop', 2, 3,
     '"on" goes at the top of the automation, not in a block', "without indentation"),
    ("when an invoice is paid in stripe\n  when a payment fails in stripe\n    stop", 2, 3,
     '"when" goes at the top of the automation, not in a block', "one another"),
    ("send the invoice\nwhen an invoice is paid in stripe\n  stop", 1, 1,
     "this line is outside the automation's \"when\" and \"every\" blocks (the first is on "
     "line 2); nothing runs it", "indent it under the block it belongs to"),
    ("every hour\n  stop\nsay \"x\"", 3, 1,
     "this line is outside the automation's \"when\" and \"every\" blocks (the first is on "
     "line 1); nothing runs it", "an automation of its own"),
    # indentation inside a block
    ("when an invoice is paid in stripe\n  stop\n    stop", 3, 5,
     'this line is indented, but the command above it does not end in "with" or "where"',
     "do not indent it"),
    ("every hour\n    say \"a\"\n  say \"b\"", 3, 3,
     'this line is indented, but the command above it does not end in "with" or "where"',
     "do not indent it"),
    ("  every hour\n    say \"a\"\n\t\tsay \"b\"", 3, 3,
     "inconsistent indentation: 2 tabs here, 2 spaces on line 1", "same spaces or tabs"),
]


@pytest.mark.parametrize(("text", "line", "column", "message", "hint"), ERRORS)
def test_each_error_where_it_stands(text, line, column, message, hint):
    with pytest.raises(LanguageError) as caught:
        parse(text, "t.kog")
    (error,) = caught.value.errors
    assert (error.line, error.column) == (line, column), error.render()
    assert error.message.startswith(message), error.message
    assert hint in (error.hint or ""), error.hint
    assert error.render().startswith(f"t.kog:{line}:{column}: ")


def test_a_broken_schedule_line_is_reported_once_and_the_next_block_read():
    text = ("every day at 25:00\n  stop\n  say \"x\"\n"
            "when an invoice is paid\n  stop\n"
            "every hour\n  stop\n")
    with pytest.raises(LanguageError) as caught:
        parse(text)
    assert [(error.line, error.column) for error in caught.value.errors] == [(1, 14), (4, 24)]


def test_every_line_outside_the_blocks_is_reported():
    text = ('in time zone "UTC"\nget a customer from stripe\nevery hour\n  stop\n'
            "for each invoice in the invoices\n  stop\nstop\n")
    with pytest.raises(LanguageError) as caught:
        parse(text)
    assert [(error.line, error.column) for error in caught.value.errors] == [
        (2, 1), (5, 1), (7, 1)]


def test_the_words_every_and_on_still_end_names_in_commands():
    command, = parse("send every invoice from stripe whose status is \"draft\"").commands
    assert (command.determiner, command.noun) == ("every", "invoice")
    assert parse("get all invoices on the customer").commands[0].preposition == "on"


# ----------------------------------------------------------------------- any text

PIECES = ["every", "on", "when", " ", "  ", "\n", "\n  ", "\t", "day", "weekday", "monday",
          " and ", ", ", "hour", "hours", "minutes", " at ", "9", "09:00", ":15", "9:5",
          "25:00", "am", "pm", "noon", "1st", "32nd", "the", "last", "of", "month", " in ",
          "stripe", "time zone", '"America/New_York"', '"Mars/Base"', '"', "stop", "#", ":",
          "an invoice is paid", "'s", "$5", "\u200b", "15"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_any_trigger_text_reads_or_fails_with_a_located_error(text):
    try:
        automation = parse(text)
    except LanguageError as caught:
        lines = text.replace("\r\n", "\n").split("\n")
        for error in caught.errors:
            assert 1 <= error.line <= len(lines)
            assert 1 <= error.column <= len(lines[error.line - 1]) + 1
        return
    for statement in automation.statements:
        if isinstance(statement, Every):
            assert len(statement.schedule.cron.split()) == 5
