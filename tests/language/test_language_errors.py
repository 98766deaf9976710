"""How language errors look, and the helpers for writing them."""

import pytest

from kognitos_books.language import (
    LanguageError,
    LanguageErrors,
    Span,
    closest,
    did_you_mean,
    parse,
    parse_command,
)
from kognitos_books.model import KbooksError

INVOICE = 'create a customer in stripe with\n  the name is "Jo"\n  the emial is "jo@example.com"\n'


def test_the_documented_shape():
    automation = parse(INVOICE, "invoice.kog")
    field = automation.commands[0].inputs[1].field
    error = LanguageError.at(
        field.span, automation,
        'unknown field "emial" for a customer' + did_you_mean("emial", ["name", "email"]),
    )
    assert str(error) == (
        'invoice.kog:3:7: unknown field "emial" for a customer; did you mean "email"?\n'
        '    the emial is "jo@example.com"\n'
        "        ^^^^^"
    )
    assert error.render() == str(error)
    assert (error.line, error.column, error.length) == (3, 7, 5)
    assert error.line_text == '  the emial is "jo@example.com"'
    assert error.location == "invoice.kog:3:7"


def test_it_is_a_kbooks_error_with_exit_code_2():
    error = LanguageError("bad", hint="fix it")
    assert isinstance(error, KbooksError)
    assert error.exit_code == 2
    assert error.message == "bad"
    assert error.hint == "fix it"
    assert error.errors == (error,)


def test_a_hint_comes_last():
    error = LanguageError("unknown noun", source_name="a.kog", line=1, column=5, length=4,
                          line_text="get cstmr", hint="try: get a customer")
    assert str(error) == ("a.kog:1:5: unknown noun\n"
                          "    get cstmr\n"
                          "        ^^^^\n"
                          "    hint: try: get a customer")


def test_an_error_without_a_place():
    error = LanguageError("cannot read the automation", source_name="gone.kog", hint="check")
    assert str(error) == "gone.kog: cannot read the automation\n    hint: check"


@pytest.mark.parametrize(
    ("line_text", "column", "length", "shown", "carets"),
    [
        # Tabs are laid out on 4-column stops, in the line and the caret line alike.
        ("\tthe\temial is 1", 6, 5, "the emial is 1", "    ^^^^^"),
        ("\t\tthe emial\tis 1", 13, 2, "the emial   is 1", "            ^^"),
        # Wide characters take two columns.
        ('the 名前 is "x"', 5, 2, 'the 名前 is "x"', "    ^^^^"),
        ('the 名前 is "x"', 8, 2, 'the 名前 is "x"', "         ^^"),
        # The caret may sit just after the end of the line (something is missing there).
        ("whose email is", 15, 1, "whose email is", "              ^"),
        ("whose email is   ", 15, 1, "whose email is", "              ^"),
        # A culprit longer than the line is cut at its end.
        ("abc", 2, 50, "abc", " ^^"),
        # A column inside the indentation points at the start of the shown line.
        ("    the x", 2, 1, "the x", "^"),
        # Control characters are shown as one replacement character.
        ("get\x00 it", 4, 1, "get\ufffd it", "   ^"),
    ],
)
def test_the_caret_lines_up(line_text, column, length, shown, carets):
    error = LanguageError("m", source_name="f", line=1, column=column, length=length,
                          line_text=line_text)
    assert str(error).split("\n")[1:] == [f"    {shown}", f"    {carets}"]


def test_at_a_command_from_parse_command():
    command = parse_command('create a customer in stripe with\n  the emial is "x"')
    error = LanguageError.at(command.inputs[0].field.span, command, "unknown field")
    assert str(error) == '<command>:2:7: unknown field\n    the emial is "x"\n        ^^^^^'
    named = LanguageError.at(command.verb_span, command, "m", source_name="Runtime.call")
    assert named.location == "Runtime.call:1:1"


def test_at_source_text_and_at_no_span():
    error = LanguageError.at(Span(2, 1, 5), "send it\nsend the invoice", "m")
    assert error.line_text == "send the invoice"
    assert error.source_name == "<automation>"
    assert LanguageError.at(None, "x", "m", hint="h").location == "<automation>"


def test_several_errors_render_one_after_another():
    first = LanguageError("one", source_name="a", line=1, column=1, line_text="x")
    second = LanguageError("two", source_name="a", line=2, column=1, line_text="y")
    both = LanguageErrors([first, second])
    assert isinstance(both, LanguageError)
    assert both.errors == (first, second)
    assert len(both) == 2
    assert both.exit_code == 2
    assert (both.message, both.line) == ("one", 1)
    assert str(both) == "a:1:1: one\n    x\n    ^\na:2:1: two\n    y\n    ^"


def test_nested_errors_are_flattened():
    one, two, three = (LanguageError(str(n)) for n in range(3))
    assert LanguageErrors([LanguageErrors([one, two]), three]).errors == (one, two, three)


def test_raise_if_any():
    LanguageErrors.raise_if_any([])
    single = LanguageError("one")
    with pytest.raises(LanguageError) as caught:
        LanguageErrors.raise_if_any([single])
    assert caught.value is single
    with pytest.raises(LanguageErrors) as caught:
        LanguageErrors.raise_if_any([single, LanguageError("two")])
    assert len(caught.value.errors) == 2


def test_language_errors_needs_an_error():
    with pytest.raises(ValueError):
        LanguageErrors([])


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        ("emial", ["email", "name", "phone"], ["email"]),
        ("EMIAL", ["email", "name"], ["email"]),
        ("Email", ["email", "name"], ["email"]),
        ("unit amount", ["unit_amount", "currency"], ["unit_amount"]),
        ("unit-amount", ["unit_amount"], ["unit_amount"]),
        ("unitamount", ["unit_amount", "currency"], ["unit_amount"]),
        ("customr", ["customer", "customers", "coupon"], ["customer", "customers"]),
        ("xyz", ["customer", "invoice"], []),
        ("invoice", [], []),
        ("cus", ["customer"], []),
    ],
)
def test_closest(word, choices, expected):
    assert closest(word, choices) == expected


def test_closest_keeps_the_choices_as_given_and_limits_them():
    assert closest("Unit Amount", ["Unit_Amount"]) == ["Unit_Amount"]
    assert closest("ab", ["abc", "abd", "abe", "abf"], n=2) == ["abc", "abd"]
    assert closest("unit amount", ["unit_amount", "unit_amounts", "unit_amount_decimal"],
                   n=2) == ["unit_amount", "unit_amounts"]


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        ("emial", ["email"], '; did you mean "email"?'),
        ("customr", ["customer", "customers"], '; did you mean "customer" or "customers"?'),
        ("ab", ["abc", "abd", "abe"], '; did you mean "abc", "abd" or "abe"?'),
        ("xyz", ["customer"], ""),
    ],
)
def test_did_you_mean(word, choices, expected):
    assert did_you_mean(word, choices) == expected
