"""Commands: the manual verbatim, the shape of a command, positions, case, comments."""

from decimal import Decimal

import pytest

from kognitos_books.language import (
    Automation,
    Command,
    Condition,
    Number,
    Reference,
    Span,
    TargetWord,
    Text,
    parse,
    parse_command,
)


def plain(value):
    """A value as plain Python, so expectations read like the automation."""
    if isinstance(value, Reference):
        return ("ref", value.noun, value.path)
    return value.value


def summary(command: Command) -> tuple:
    target = command.target
    if isinstance(target, TargetWord):
        target = target.name
    elif isinstance(target, Reference):
        target = ("ref", target.noun, target.path)
    whose = command.whose
    if isinstance(whose, Condition):
        whose = (whose.field.parts, whose.op, plain(whose.value))
    inputs = tuple((item.field.parts, plain(item.value)) for item in command.inputs)
    return (command.verb, command.determiner, command.noun, command.complement,
            command.preposition, target, whose, inputs)


EXPECTED_MANUAL = [
    ("get", "a", "customer", None, "from", "stripe",
     (("email",), "is", "[email protected]"), ()),
    ("get", "an", "invoice", None, "from", "stripe", (("status",), "is", "open"), ()),
    ("create", "a", "customer", None, "in", "stripe", None,
     ((("email",), "[email protected]"), (("name",), "John Doe"))),
    ("create", "a", "price", None, "in", "stripe", None,
     ((("unit_amount",), 1000), (("currency",), "usd"), (("product",), "12232232"))),
    ("add", "a", "item", None, "to", ("ref", "invoice", ()), None,
     ((("customer",), "cus_123ABC"), (("amount",), 1500), (("currency",), "usd"))),
    ("send", "the", "invoice", None, None, None, None, ()),
    ("delete", "a", "customer", None, "in", "stripe", None, ((("id",), "cus_123ABC"),)),
    ("delete", "an", "invoice", None, "in", "stripe", None, ((("id",), "sub_123456789"),)),
]


def test_every_manual_command_parses_verbatim(manual):
    automation = parse(manual, "manual.kog")
    assert [summary(command) for command in automation.commands] == EXPECTED_MANUAL
    assert automation.source_name == "manual.kog"


def test_the_manual_as_the_web_page_flattened_it(manual_flat):
    assert [summary(c) for c in parse(manual_flat).commands] == EXPECTED_MANUAL


@pytest.mark.parametrize("indent", [" ", "    ", "\t", "\t\t", " \t", "\u00a0\u00a0"],
                         ids=["1 space", "4 spaces", "tab", "2 tabs", "space+tab", "nbsp"])
def test_the_manual_with_any_consistent_indentation(manual_template, indent):
    text = manual_template.format(indent=indent)
    assert [summary(c) for c in parse(text).commands] == EXPECTED_MANUAL


def test_the_manual_with_windows_line_endings(manual):
    assert [summary(c) for c in parse(manual.replace("\n", "\r\n")).commands] \
        == EXPECTED_MANUAL


def test_the_whole_automation_may_be_indented(manual):
    indented = "\n" + "".join(f"        {line}\n" for line in manual.splitlines()) + "    "
    assert [summary(c) for c in parse(indented).commands] == EXPECTED_MANUAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send the invoice", ("send", "the", "invoice", None, None, None, None, ())),
        ("mark the invoice as uncollectible",
         ("mark", "the", "invoice", "uncollectible", None, None, None, ())),
        ("mark the invoice in stripe as uncollectible",
         ("mark", "the", "invoice", "uncollectible", "in", "stripe", None, ())),
        ("get an invoice item from stripe",
         ("get", "an", "invoice item", None, "from", "stripe", None, ())),
        ("get customers from stripe",
         ("get", None, "customers", None, "from", "stripe", None, ())),
        ("get all invoices from stripe",
         ("get", "all", "invoices", None, "from", "stripe", None, ())),
        ("get all the invoices from stripe",
         ("get", "all", "invoices", None, "from", "stripe", None, ())),
        ("get every customer from stripe",
         ("get", "every", "customer", None, "from", "stripe", None, ())),
        ("get some prices from stripe",
         ("get", "some", "prices", None, "from", "stripe", None, ())),
        ("finalize the invoice", ("finalize", "the", "invoice", None, None, None, None, ())),
        ("pay the invoice", ("pay", "the", "invoice", None, None, None, None, ())),
        ("copy the row into google sheets",
         ("copy", "the", "row", None, "into", "google sheets", None, ())),
        ("void the invoice of the customer",
         ("void", "the", "invoice", None, "of", ("ref", "customer", ()), None, ())),
        ("send the invoice on the customer's default channel",
         ("send", "the", "invoice", None, "on",
          ("ref", "customer", ("default_channel",)), None, ())),
        ("get a customer whose email is \"a@b.c\" from stripe",
         ("get", "a", "customer", None, "from", "stripe", (("email",), "is", "a@b.c"), ())),
        ('delete a customer in stripe with the id is "cus_1"',
         ("delete", "a", "customer", None, "in", "stripe", None, ((("id",), "cus_1"),))),
        ('create a customer in stripe with the email is "a@b.c" and the name is "Jo"',
         ("create", "a", "customer", None, "in", "stripe", None,
          ((("email",), "a@b.c"), (("name",), "Jo")))),
        ('update the customer whose id is "cus_1" with the name is "Jo"',
         ("update", "the", "customer", None, None, None, (("id",), "is", "cus_1"),
          ((("name",), "Jo"),))),
    ],
)
def test_command_shapes(text, expected):
    assert summary(parse_command(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        'GET A CUSTOMER FROM STRIPE WHOSE EMAIL IS "x"',
        'Get a Customer From Stripe Whose Email Is "x"',
        'get a customer from stripe whose email is "x"',
        'gEt A cUsToMeR fRoM sTrIpE wHoSe EmAiL iS "x"',
    ],
)
def test_keywords_and_words_are_case_insensitive(text):
    assert summary(parse_command(text)) == (
        "get", "a", "customer", None, "from", "stripe", (("email",), "is", "x"), ())


def test_case_is_kept_in_raw_text_and_values():
    command = parse_command('GET A Customer FROM Stripe WHOSE Email IS "MiXeD"')
    assert command.target.raw == "Stripe"
    assert command.whose.field.raw == "Email"
    assert command.whose.op_raw == "IS"
    assert command.whose.value.value == "MiXeD"


def test_positions_of_a_command_line(manual):
    first = parse(manual).commands[0]
    # get a customer from stripe whose email is "[email protected]"
    assert first.verb_span == Span(1, 1, 4)
    assert first.determiner_span == Span(1, 5, 6)
    assert first.noun_span == Span(1, 7, 15)
    assert first.preposition_span == Span(1, 16, 20)
    assert first.target.span == Span(1, 21, 27)
    assert first.whose.span == Span(1, 34, 62)
    assert first.whose.field.span == Span(1, 34, 39)
    assert first.whose.op_span == Span(1, 40, 42)
    assert first.whose.value.span == Span(1, 43, 62)
    assert first.span == Span(1, 1, 62)
    assert first.text == 'get a customer from stripe whose email is "[email protected]"'


def test_positions_of_block_inputs_count_the_indentation(manual):
    price = parse(manual).commands[3]
    assert price.inputs_keyword == "with"
    assert price.inputs_keyword_span == Span(6, 26, 30)
    amount, currency, _ = price.inputs
    # "  the unit_amount is 1000"
    assert amount.span == Span(7, 3, 26)
    assert amount.field.span == Span(7, 7, 18)
    assert amount.field.raw == "unit_amount"
    assert amount.value == Number(1000, "1000", Span(7, 22, 26))
    assert amount.text == "  the unit_amount is 1000"
    assert currency.value == Text("usd", '"usd"', Span(8, 19, 24))


def test_positions_with_tabs_count_a_tab_as_one_column():
    command = parse("create a price in stripe with\n\tthe currency is\t\"usd\"").commands[0]
    item = command.inputs[0]
    assert item.field.span == Span(2, 6, 14)
    assert item.value.span == Span(2, 18, 23)


def test_positions_of_a_reference_target(manual):
    add = parse(manual).commands[4]
    assert add.target == Reference("invoice", (), "the invoice", Span(10, 15, 26))
    assert add.noun_span == Span(10, 7, 11)


def test_positions_of_a_complement():
    command = parse_command("mark the invoice as uncollectible")
    assert command.complement_span == Span(1, 21, 34)


def test_blank_lines_and_comments_are_ignored():
    text = (
        "# pay the bills\n"
        "\n"
        "   \t \n"
        "send the invoice  # the one created above\n"
        "  # an indented comment is still a comment\n"
        "create a customer in stripe with\n"
        "  # inputs follow\n"
        "  the email is \"a#b@example.com\"  # not the # inside the text\n"
        "\n"
        "  the name is \"Jo\"\n"
    )
    automation = parse(text)
    assert [c.verb for c in automation.commands] == ["send", "create"]
    send, create = automation.commands
    assert send.span == Span(4, 1, 17)
    assert [plain(i.value) for i in create.inputs] == ["a#b@example.com", "Jo"]
    assert create.inputs[1].span.line == 10


def test_empty_text_has_no_commands():
    assert parse("").commands == ()
    assert parse("\n  \n# nothing to do\n").commands == ()


def test_a_byte_order_mark_is_ignored():
    assert parse("\ufeffsend the invoice").commands[0].verb_span == Span(1, 1, 5)


def test_automation_keeps_its_lines_for_later_errors(manual):
    automation = parse(manual, "m.kog")
    assert isinstance(automation, Automation)
    assert automation.line_text(4) == '  the email is "[email protected]"'
    assert automation.line_text(0) == ""
    assert automation.line_text(999) == ""


def test_command_finds_its_inputs_and_lines(manual):
    create = parse(manual).commands[2]
    assert create.input("name").value.value == "John Doe"
    assert create.input("phone") is None
    assert create.line_text(3) == "create a customer in stripe with"
    assert create.line_text(5) == '  the name is "John Doe"'
    assert create.line_text(6) == ""
    assert create.line == 3


def test_parse_command_accepts_a_block():
    command = parse_command('create a customer in stripe with\n  the name is "Jo"')
    assert command.inputs[0].field.parts == ("name",)


def test_numbers_in_inputs_keep_their_type():
    command = parse_command("create a price in stripe with\n  the unit amount is 12.50")
    assert command.inputs[0].field.parts == ("unit_amount",)
    assert command.inputs[0].value.value == Decimal("12.50")
