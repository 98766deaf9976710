"""Input blocks under ``with``/``where``: indentation, flattened text, inline inputs."""

import pytest

from kognitos_books.language import LanguageError, Span, parse, parse_command


def fields(command):
    return [(item.field.parts, item.value.value) for item in command.inputs]


@pytest.mark.parametrize("indent", ["  ", "    ", "\t", " \t "])
def test_a_block_with_any_consistent_indentation(indent):
    text = f'create a customer in stripe with\n{indent}the email is "a@b.c"\n' \
           f'{indent}the name is "Jo"\nsend the invoice\n'
    create, send = parse(text).commands
    assert fields(create) == [(("email",), "a@b.c"), (("name",), "Jo")]
    assert create.inputs[1].field.span == Span(3, len(indent) + 5, len(indent) + 9)
    assert send.verb == "send"


def test_a_flattened_block_is_read_as_the_inputs():
    text = 'create a customer in stripe with\nthe email is "a@b.c"\nThe name is "Jo"\n' \
           "send the invoice\n"
    create, send = parse(text).commands
    assert fields(create) == [(("email",), "a@b.c"), (("name",), "Jo")]
    assert send.inputs == ()


def test_a_flattened_block_inside_an_indented_automation():
    text = '    create a customer in stripe with\n    the email is "a@b.c"\n' \
           "    send the invoice\n"
    create, _ = parse(text).commands
    assert fields(create) == [(("email",), "a@b.c")]


def test_where_takes_a_block_too():
    command = parse_command('get a customer from stripe where\n  the email is "a@b.c"')
    assert command.inputs_keyword == "where"
    assert fields(command) == [(("email",), "a@b.c")]


def test_a_colon_after_with_is_allowed():
    command = parse_command('create a customer in stripe with:\n  the email is "a@b.c"')
    assert fields(command) == [(("email",), "a@b.c")]


def test_inputs_on_the_command_line():
    command = parse_command('create a customer in stripe with the email is "a@b.c" '
                            'and the tags are "x" and "y" and the name is "Jo"')
    assert command.inputs[0].value.value == "a@b.c"
    assert [item.value for item in command.inputs[1].value.items] == ["x", "y"]
    assert command.inputs[2].field.parts == ("name",)
    assert command.inputs[2].span == Span(1, 88, 104)


def test_nested_and_multiword_input_fields():
    command = parse_command("create a price in stripe with\n"
                            "  the unit amount is 1000\n"
                            "  the metadata's plan is \"gold\"\n"
                            "  the product data's name is \"T-shirt\"\n"
                            "  the Recurring's Interval is \"month\"\n")
    assert [item.field.parts for item in command.inputs] == [
        ("unit_amount",), ("metadata", "plan"), ("product_data", "name"),
        ("recurring", "interval")]


def test_a_block_may_contain_blank_lines_and_comments():
    text = ('create a customer in stripe with\n\n  the email is "a@b.c"\n'
            '# a comment at any indentation\n\n  the name is "Jo"\n')
    assert fields(parse_command(text)) == [(("email",), "a@b.c"), (("name",), "Jo")]


def test_a_block_ends_at_the_next_command():
    text = 'create a customer in stripe with\n  the email is "a@b.c"\nsend the invoice'
    automation = parse(text)
    assert [c.verb for c in automation.commands] == ["create", "send"]


def test_two_blocks_may_use_different_indentation():
    text = ('create a customer in stripe with\n  the email is "a@b.c"\n'
            'create a price in stripe with\n\tthe unit_amount is 5\n')
    first, second = parse(text).commands
    assert fields(first) == [(("email",), "a@b.c")]
    assert fields(second) == [(("unit_amount",), 5)]


def test_a_block_under_an_indented_automation():
    text = '  create a customer in stripe with\n      the email is "a@b.c"\n  send the invoice'
    create, send = parse(text).commands
    assert create.inputs[0].field.span == Span(2, 11, 16)
    assert send.verb_span == Span(3, 3, 7)


def test_the_same_field_in_two_commands_is_fine():
    text = ('delete a customer in stripe with\n  the id is "cus_1"\n'
            'delete a customer in stripe with\n  the id is "cus_2"\n')
    assert [fields(c) for c in parse(text).commands] == [[(("id",), "cus_1")],
                                                         [(("id",), "cus_2")]]


def test_an_input_line_needs_a_block_command():
    with pytest.raises(LanguageError) as caught:
        parse('send the invoice\nthe id is "in_1"')
    assert (caught.value.line, caught.value.column) == (2, 1)
