"""Every syntax error the parser reports: where, and what it says."""

import pytest

from kognitos_books.language import LanguageError, LanguageErrors, parse, parse_command

BLOCK = "create a customer in stripe with\n"

# (text, line, column, length, message)
CASES = [
    # unterminated and mixed quotes
    ('get a customer whose name is "Jo', 1, 30, 3,
     'unterminated text: the " at column 30 is never closed'),
    ("get a customer whose name is 'Jo", 1, 30, 3,
     "unterminated text: the ' at column 30 is never closed"),
    ('get a customer whose name is "Jo\'', 1, 30, 4,
     "mixed quotes: the text starts with \" but ends with '"),
    ("get a customer whose name is 'Jo\"", 1, 30, 4,
     "mixed quotes: the text starts with ' but ends with \""),
    ('get a customer whose name is "Jo”', 1, 30, 4,
     'mixed quotes: the text starts with " but ends with ”'),
    # unknown or unexpected tokens
    ("get a customer % stripe", 1, 16, 1, 'unexpected "%"'),
    ("get a customer whose x is 1 + 2", 1, 29, 1, 'unexpected "+"'),
    ("get a customer\u200b from stripe", 1, 15, 1, "unexpected invisible character U+200B"),
    ('get a customer "x"', 1, 16, 3,
     'unexpected text "x"; expected "as", a preposition (in, from, to, ...), "whose", '
     '"with", "where" or the end of the line'),
    ("get a customer from stripe in stripe", 1, 28, 2,
     'unexpected "in"; expected "as", "whose", "with", "where" or the end of the line'),
    ("get a customer whose balance is 15 usd usd", 1, 40, 3,
     'unexpected "usd" after the condition; expected "and", "or", "as", a preposition '
     '(in, from, to, ...), "with", "where" or the end of the line'),
    ("send the invoice.", 1, 17, 1, 'unexpected "." at the end of the line'),
    ("get the customers' emails", 1, 18, 1, 'unexpected apostrophe after "customers"'),
    ("get a customer#1", 1, 15, 1, 'unexpected "#"'),
    # commands without a verb or noun
    ("a customer from stripe", 1, 1, 1,
     'a command starts with a verb, like get or create; found "a"'),
    ('"get" a customer', 1, 1, 5,
     'a command starts with a verb, like get or create; found text "get"'),
    ("get", 1, 4, 1, 'expected a noun after "get", found the end of the line'),
    ("get a", 1, 6, 1, 'expected a noun after "get a", found the end of the line'),
    ("mark the invoice as", 1, 20, 1, 'expected a word after "as", found the end of the line'),
    ("get a customer from", 1, 20, 1,
     'expected a book (like stripe) or something named earlier (like the invoice) after '
     '"from", found the end of the line'),
    ("get a customer from a stripe", 1, 21, 1,
     'expected a book (like stripe) or something named earlier (like the invoice) after '
     '"from", found "a"'),
    # missing values
    ("get a customer whose email is", 1, 30, 1, 'missing value after "is"'),
    ('get a customer whose email is "x" and name is', 1, 46, 1, 'missing value after "is"'),
    ('get a customer whose x is "a",', 1, 31, 1, 'missing value after ","'),
    ("get a customer whose x is one of", 1, 33, 1, 'missing value after "of"'),
    (BLOCK + "  the email is", 2, 15, 1, 'missing value after "is"'),
    ("get a customer whose x is usd", 1, 27, 3, "unquoted text usd"),
    ("get a customer whose x is John Doe", 1, 27, 8, "unquoted text John Doe"),
    ("get a customer whose x is customer's id", 1, 27, 8, "unquoted text customer"),
    # values people often leave unquoted, reported whole
    ("get a customer from stripe whose email is jo@example.com", 1, 43, 14,
     "unquoted text jo@example.com"),
    (BLOCK + "  the email is jo@example.com", 2, 16, 14, "unquoted text jo@example.com"),
    ("create a customer in stripe with the email is Jo.Smith+bills@example.co.uk", 1, 47, 28,
     "unquoted text Jo.Smith+bills@example.co.uk"),
    ("get a customer whose email is jo@example.com.", 1, 31, 14, "unquoted text jo@example.com"),
    ('get customers whose email is one of a@b.co, "c@d.co"', 1, 37, 6, "unquoted text a@b.co"),
    (BLOCK + "  the url is https://example.com/shop?id=1#top", 2, 14, 33,
     "unquoted text https://example.com/shop?id=1#top"),
    (BLOCK + "  the url is http://example.com.", 2, 14, 18, "unquoted text http://example.com"),
    (BLOCK + "  the url is www.example.com", 2, 14, 15, "unquoted text www.example.com"),
    (BLOCK + "  the phone is +1 555 123 4567", 2, 16, 15, "unquoted text +1 555 123 4567"),
    (BLOCK + "  the phone is +15551234567", 2, 16, 12, "unquoted text +15551234567"),
    (BLOCK + "  the phone is +44 (0)20 7946-0958", 2, 16, 19,
     "unquoted text +44 (0)20 7946-0958"),
    (BLOCK + "  the phone is (555) 123-4567", 2, 16, 14, "unquoted text (555) 123-4567"),
    ('get a customer whose phone is +1 555 123 4567 and name is "Jo"', 1, 31, 15,
     "unquoted text +1 555 123 4567"),
    (BLOCK + "  the phone is 555-123-4567", 2, 16, 12, "unquoted text 555-123-4567"),
    (BLOCK + "  the phone is 555.123.4567", 2, 16, 12, "unquoted text 555.123.4567"),
    (BLOCK + "  the name is Mary-Jane", 2, 15, 9, "unquoted text Mary-Jane"),
    # ... and what is too short or too odd to be one stays a stray character
    ("get a customer whose x is +5", 1, 27, 1, 'unexpected "+"'),
    ("get a customer whose x is @jo", 1, 27, 1, 'unexpected "@"'),
    ("get a customer whose x is jo@", 1, 29, 1, 'unexpected "@"'),
    # empty blocks
    (BLOCK.strip(), 1, 29, 4, 'nothing follows "with": its inputs are missing'),
    (BLOCK + "send the invoice", 1, 29, 4, 'nothing follows "with": its inputs are missing'),
    (BLOCK + "\n# nothing yet\n", 1, 29, 4, 'nothing follows "with": its inputs are missing'),
    ("get a customer from stripe where", 1, 28, 5,
     'nothing follows "where": its inputs are missing'),
    # indented lines with no "with" above
    ('send the invoice\n  the id is "in_1"', 2, 3, 3,
     'this line reads like an input ("the FIELD is VALUE"), but the command above it does '
     'not end in "with"'),
    ("send the invoice\n  send it again", 2, 3, 1,
     'this line is indented, but the command above it does not end in "with" or "where"'),
    ('  the id is "in_1"\nsend the invoice', 1, 3, 3,
     'this line reads like an input ("the FIELD is VALUE"), but no command comes before it'),
    ('the email is "x"', 1, 1, 3,
     'this line reads like an input ("the FIELD is VALUE"), but no command comes before it'),
    ('send the invoice\nthe id is "in_1"', 2, 1, 3,
     'this line reads like an input ("the FIELD is VALUE"), but the command above it does '
     'not end in "with"'),
    ('create a customer with the email is "a"\n  the name is "b"', 2, 3, 1,
     "this line is indented, but the command above it already has its inputs on its own "
     "line"),
    # inconsistent indentation
    (BLOCK + '  the email is "a"\n    the name is "b"', 3, 5, 1,
     "inconsistent indentation: 4 spaces here, 2 spaces on line 2"),
    (BLOCK + '    the email is "a"\n  the name is "b"', 3, 3, 1,
     "inconsistent indentation: 2 spaces here, 4 spaces on line 2"),
    (BLOCK + '  the email is "a"\n\tthe name is "b"', 3, 2, 1,
     "inconsistent indentation: 1 tab here, 2 spaces on line 2"),
    (BLOCK + 'the email is "a"\n  the name is "b"', 3, 3, 1,
     "inconsistent indentation: 2 spaces here, no indentation on line 2"),
    (BLOCK + '  the email is "a"\nthe name is "b"', 3, 1, 1,
     "inconsistent indentation: no indentation here, 2 spaces on line 2"),
    ('\tsend the invoice\n  send the invoice', 2, 3, 1,
     "inconsistent indentation: 2 spaces here, 1 tab on line 1"),
    # input lines not of the form "the FIELD is VALUE"
    (BLOCK + '  email is "a"', 2, 3, 5,
     'expected an input like: the email is "...", found "email"'),
    (BLOCK + "  send the invoice", 2, 3, 4,
     'expected an input like: the email is "...", found "send"'),
    (BLOCK + '  the email "a"', 2, 13, 3, 'missing comparison after "email", found text "a"'),
    (BLOCK + "  the email", 2, 12, 1,
     'missing comparison after "email", found the end of the line'),
    (BLOCK + '  the is "a"', 2, 7, 2, 'expected a field after "the", found "is"'),
    (BLOCK + '  the email contains "a"', 2, 13, 8, 'an input is set with "is", not "contains"'),
    (BLOCK + "  the amount is greater than 5", 2, 14, 15,
     'an input is set with "is", not "is greater than"'),
    (BLOCK + '  the email is "a" "b"', 2, 20, 3, 'unexpected text "b" after the value'),
    (BLOCK + '  the a is 1 and the b is 2', 2, 14, 3, 'unexpected "and" after the value'),
    # the same field twice
    (BLOCK + '  the email is "a"\n  the Email is "b"', 3, 7, 5,
     '"email" is given twice; first on line 2'),
    (BLOCK + "  the unit amount is 1\n  the unit_amount is 2", 3, 7, 11,
     '"unit amount" is given twice; first on line 2'),
    (BLOCK + '  the metadata\'s plan is "a"\n  the metadata\'s Plan is "b"', 3, 7, 15,
     '"metadata\'s plan" is given twice; first on line 2'),
    ('create a customer with the email is "a" and the email is "b"', 1, 49, 5,
     '"email" is given twice; first on line 1'),
    # dates and times
    ("get a customer whose created is 2025-02-30", 1, 33, 10, "no such date 2025-02-30"),
    ("get a customer whose created is 2023-02-29", 1, 33, 10, "no such date 2023-02-29"),
    ("get a customer whose created is 2025-00-10", 1, 33, 10, "no such date 2025-00-10"),
    ("get a customer whose created is 2025-04-31 10:00", 1, 33, 10, "no such date 2025-04-31"),
    ("get a customer whose created is 2025-01-31 24:00", 1, 44, 5, "no such time 24:00"),
    ("get a customer whose created is 2025-01-31T12:60", 1, 44, 5, "no such time 12:60"),
    ("get a customer whose created is 2025-1", 1, 33, 6, "bad date 2025-1"),
    ("get a customer whose created is 2025-01-31Z", 1, 33, 11, "bad date 2025-01-31Z"),
    ("get a customer whose created is 31/01/2025", 1, 33, 10, "bad date 31/01/2025"),
    ("get a customer whose created is 14:00", 1, 33, 5, "bad time 14:00"),
    # money and numbers
    ("get a customer whose balance is $1.2.3", 1, 33, 6, "bad amount of money $1.2.3"),
    ("get a customer whose balance is $", 1, 33, 1, "bad amount of money $"),
    ("get a customer whose balance is $$5", 1, 33, 3, "bad amount of money $$5"),
    ("get a customer whose balance is $5€", 1, 33, 3, "bad amount of money $5€"),
    ("get a customer whose balance is $1,50", 1, 33, 5, "bad amount of money $1,50"),
    ("get a customer whose balance is €5 gbp", 1, 33, 6, "€ is eur, but the amount says gbp"),
    ("get a customer whose balance is 15abc", 1, 33, 5, "unknown currency abc in 15abc"),
    ("get a customer whose balance is 1.2.3", 1, 33, 5, "bad number 1.2.3"),
    ("get a customer whose balance is 15x", 1, 33, 3, "bad number 15x"),
    ("get a customer whose balance is 1,500", 1, 33, 5, "ambiguous number 1,500"),
    ("get a customer whose balance is 1,2,3", 1, 33, 5, "ambiguous number 1,2,3"),
    ("get a customer whose balance is 1,50 eur", 1, 33, 4, "ambiguous number 1,50"),
    ("get a customer whose balance is " + "9" * 31, 1, 33, 31,
     f"number {'9' * 31} is too long"),
    # conditions
    ('get a customer whose email "x"', 1, 28, 3,
     'missing comparison after "email", found text "x"'),
    ("get a customer whose email", 1, 27, 1,
     'missing comparison after "email", found the end of the line'),
    ('get a customer whose email equals "x"', 1, 35, 3,
     'missing comparison after "email equals", found text "x"'),
    ("get a customer whose x is greater 5", 1, 35, 1,
     'expected "than" after "greater", found "5"'),
    ('get a customer whose x starts "a"', 1, 31, 3,
     'expected "with" after "starts", found text "a"'),
    ('get a customer whose x ends "a"', 1, 29, 3,
     'expected "with" after "ends", found text "a"'),
    ('get a customer whose x does not start "a"', 1, 39, 3,
     'expected "with" after "does not start", found text "a"'),
    ("get a customer whose x doesn't end", 1, 35, 1,
     'expected "with" after "doesn\'t end", found the end of the line'),
    ('get a customer whose x does not equal "a"', 1, 33, 5,
     'expected "contain", "start with" or "end with" after "does not", found "equal"'),
    ('get a customer whose x does not "a"', 1, 33, 3,
     'expected "contain", "start with" or "end with" after "does not", found text "a"'),
    ('get a customer whose x don\'t contain', 1, 37, 1, "missing value after \"contain\""),
    (BLOCK + '  the email does not contain "a"', 2, 13, 16,
     'an input is set with "is", not "does not contain"'),
    ('get a customer whose x is one "a"', 1, 31, 3, 'expected "of" after "one", found text "a"'),
    ('get a customer whose x is not one of "a"', 1, 31, 3, '"is not one of" is not supported'),
    ("get a customer whose", 1, 21, 1, '"whose" needs a condition'),
    ("get a customer whose and", 1, 22, 3, 'expected a field after "whose", found "and"'),
    ('get a customer whose is "x"', 1, 22, 2, 'expected a field after "whose", found "is"'),
    ('get a customer whose email is "x" and', 1, 38, 1,
     'expected a field after "and", found the end of the line'),
    ('get a customer whose email is "x" or whose', 1, 43, 1,
     'expected a field after "whose", found the end of the line'),
    ("get a customer whose 's is 5", 1, 22, 2, "expected a field before \"'s\", found \"'s\""),
    ("get a customer whose metadata's is 5", 1, 33, 2,
     "expected a field after \"'s\", found \"is\""),
    # references
    ("get a customer whose x is the 's id", 1, 27, 6,
     "empty reference: \"the\" is followed by \"'s\""),
    ("send the invoice to the 's email", 1, 21, 6,
     "empty reference: \"the\" is followed by \"'s\""),
    ("get a customer whose x is the customer's", 1, 41, 1,
     "expected a field after \"'s\", found the end of the line"),
    ("get a customer whose x is the", 1, 30, 1,
     'expected a noun after "the", found the end of the line'),
    # characters that have no place in a text file
    ("get a customer\x00 from stripe", 1, 15, 1, "control character U+0000 (NUL) in the text"),
    ("get a customer from stripe\x1b[31m", 1, 27, 1,
     "control character U+001B (escape) in the text"),
    ('get a customer whose name is "a\x07"', 1, 32, 1, "control character U+0007 in the text"),
    ("# a comment\x0c", 1, 12, 1, "control character U+000C (form feed) in the text"),
    ("get a customer\u2028from stripe", 1, 15, 1, "line separator U+2028 in the middle of a line"),
    ("get a customer \ud800", 1, 16, 1, "invalid character U+D800 (half of a surrogate pair)"),
]


@pytest.mark.parametrize(("text", "line", "column", "length", "message"), CASES,
                         ids=[repr(case[0])[:60] for case in CASES])
def test_syntax_error(text, line, column, length, message):
    with pytest.raises(LanguageError) as caught:
        parse(text, "t.kog")
    error = caught.value
    assert not isinstance(error, LanguageErrors), error.render()
    assert (error.line, error.column, error.length, error.message) == (
        line, column, length, message)
    assert error.source_name == "t.kog"
    assert error.line_text == text.split("\n")[line - 1]
    assert error.render().startswith(f"t.kog:{line}:{column}: {message}\n")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("get a customer whose x is usd", 'put text in quotes: "usd"'),
        ("get a customer from stripe whose email is jo@example.com",
         'put text in quotes: "jo@example.com"'),
        (BLOCK + "  the email is jo@example.com", 'put text in quotes: "jo@example.com"'),
        (BLOCK + "  the url is https://example.com/a.", 'put text in quotes: '
         '"https://example.com/a"'),
        (BLOCK + "  the phone is +1 555 123 4567", 'put text in quotes: "+1 555 123 4567"'),
        (BLOCK + "  the phone is 555-123-4567", 'put text in quotes: "555-123-4567"'),
        ("get a customer whose x is customer's id",
         "to use something from an earlier step write: the customer's ..."),
        ("get a customer whose created is 2025-02-30", "February 2025 has 28 days"),
        ("get a customer whose created is 2024-02-30", "February 2024 has 29 days"),
        ("get a customer whose balance is 1,500",
         "write 1500 without separators, or put a space after each comma to make a list"),
        ("send the invoice.", "commands do not end with a full stop; delete it"),
        ("get", "say what to get, like: get a customer"),
        ('get a customer whose name is "Jo', 'end the text with " on the same line'),
        ("get a customer whose email", "a comparison is one of: is, is not, contains, does not "
         "contain, starts with, does not start with, ends with, does not end with, is greater "
         "than, is less than, is at least, is at most, is after, is before, is one of"),
        ('get a customer whose email does not equal "x"',
         'to say a field differs from a value, write "is not"'),
        (BLOCK.strip(), 'put the inputs on the lines under "with", indented, one a line, like: '
         'the email is "jane@example.com"'),
    ],
)
def test_hints(text, hint):
    with pytest.raises(LanguageError) as caught:
        parse(text)
    assert caught.value.hint == hint


@pytest.mark.parametrize(("text", "rendered"), [
    ('create a customer in stripe with\n\tthe name is John Doe\n',
     "new.kog:2:14: unquoted text John Doe\n"
     "    the name is John Doe\n"
     "                ^^^^^^^^\n"
     '    hint: put text in quotes: "John Doe"'),
    ("get a customer from stripe whose email is jo@example.com",
     "new.kog:1:43: unquoted text jo@example.com\n"
     "    get a customer from stripe whose email is jo@example.com\n"
     "                                              ^^^^^^^^^^^^^^\n"
     '    hint: put text in quotes: "jo@example.com"'),
])
def test_a_rendered_syntax_error(text, rendered):
    with pytest.raises(LanguageError) as caught:
        parse(text, "new.kog")
    assert str(caught.value) == rendered


def test_quoted_the_same_values_read_as_text():
    command = parse_command('create a customer in stripe with the email is "jo@example.com" '
                            'and the phone is "+1 555 123 4567" and the name is "x" '
                            "# jo@example.com, https://example.com")
    assert [item.value.value for item in command.inputs] == [
        "jo@example.com", "+1 555 123 4567", "x"]


def test_every_broken_command_is_reported_in_line_order():
    text = (
        "get a customer whose email is\n"  # 1: missing value
        "send the invoice\n"  # fine
        "create a customer in stripe with\n"
        '  the email is "a"\n'
        "    the name is 5\n"  # 5: indentation
        "  the phone is 1.2.3\n"  # 6: bad number
        "get an invoice whose created is 2025-02-30\n"  # 7: bad date
    )
    with pytest.raises(LanguageErrors) as caught:
        parse(text, "many.kog")
    found = [(e.line, e.column, e.message) for e in caught.value.errors]
    assert found == [
        (1, 30, 'missing value after "is"'),
        (5, 5, "inconsistent indentation: 4 spaces here, 2 spaces on line 4"),
        (6, 16, "bad number 1.2.3"),
        (7, 33, "no such date 2025-02-30"),
    ]
    rendered = str(caught.value)
    assert rendered.count("many.kog:") == 4
    assert rendered.index("many.kog:1:30") < rendered.index("many.kog:7:33")


def test_a_broken_command_does_not_also_report_its_inputs():
    text = 'create a "customer" in stripe with\n  the email is "a"\nthe name is "b"\nsend it'
    with pytest.raises(LanguageError) as caught:
        parse(text)
    assert [(e.line, e.column) for e in caught.value.errors] == [(1, 10)]


def test_parse_command_wants_exactly_one_command():
    with pytest.raises(LanguageError) as caught:
        parse_command("")
    assert caught.value.message == "expected a command, like: create a customer in stripe"
    assert caught.value.line == 0
    with pytest.raises(LanguageError) as caught:
        parse_command("send the invoice\nsend the invoice")
    assert (caught.value.line, caught.value.column, caught.value.message) == (
        2, 1, "expected one command, but another starts on line 2")
