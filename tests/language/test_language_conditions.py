"""``whose`` conditions: every comparison, and/or chains, fields, lists."""

import datetime

import pytest

from kognitos_books.language import (
    OPS,
    AllOf,
    AnyOf,
    Condition,
    ListValue,
    Reference,
    Span,
    parse_command,
)
from kognitos_books.language.ast import TEXT_OPS


def whose(text: str):
    return parse_command(f"get the invoices from stripe whose {text}").whose


def tree(node):
    """A condition tree as nested tuples: ("and", ...), ("or", ...), (field, op, value)."""
    if isinstance(node, AllOf):
        return ("and", *map(tree, node.items))
    if isinstance(node, AnyOf):
        return ("or", *map(tree, node.items))
    value = node.value
    if isinstance(value, ListValue):
        value = [item.value for item in value.items]
    elif isinstance(value, Reference):
        value = ("ref", value.noun, value.path)
    else:
        value = value.value
    return (".".join(node.field.parts), node.op, value)


@pytest.mark.parametrize(
    ("wording", "op"),
    [
        ("is", "is"),
        ("IS", "is"),
        ("are", "is"),
        ("is equal to", "is"),
        ("is not", "is not"),
        ("isn't", "is not"),
        ("isn’t", "is not"),
        ("are not", "is not"),
        ("contains", "contains"),
        ("starts with", "starts with"),
        ("Starts With", "starts with"),
        ("start with", "starts with"),
        ("does not contain", "does not contain"),
        ("doesn't contain", "does not contain"),
        ("doesn’t contain", "does not contain"),
        ("Does Not Contain", "does not contain"),
        ("do not contain", "does not contain"),
        ("don't contain", "does not contain"),
        ("ends with", "ends with"),
        ("end with", "ends with"),
        ("does not start with", "does not start with"),
        ("doesn't start with", "does not start with"),
        ("does not end with", "does not end with"),
        ("doesn't end with", "does not end with"),
        ("is greater than", ">"),
        ("is more than", ">"),
        ("is after", ">"),
        ("is less than", "<"),
        ("is before", "<"),
        ("is at least", ">="),
        ("is greater than or equal to", ">="),
        ("is at most", "<="),
        ("is less than or equal to", "<="),
        ("is one of", "one of"),
    ],
)
def test_every_comparison(wording, op):
    condition = whose(f"total {wording} 5")
    assert isinstance(condition, Condition)
    assert condition.op == op
    assert condition.op_raw == wording
    assert condition.op in OPS
    assert condition.op_span == Span(1, 42, 42 + len(wording))


def test_the_operators_are_those_a_book_filter_takes():
    assert set(OPS) == {"is", "is not", "contains", "does not contain", "starts with",
                        "does not start with", "ends with", "does not end with", ">", "<",
                        ">=", "<=", "one of"}
    assert set(TEXT_OPS) <= set(OPS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('status is "open"', ("status", "is", "open")),
        ('status is "open" and total is 5',
         ("and", ("status", "is", "open"), ("total", "is", 5))),
        ('status is "open" and whose total is 5',
         ("and", ("status", "is", "open"), ("total", "is", 5))),
        ('status is "open" or status is "draft"',
         ("or", ("status", "is", "open"), ("status", "is", "draft"))),
        ('status is "open" or whose status is "draft"',
         ("or", ("status", "is", "open"), ("status", "is", "draft"))),
        ("a is 1 and b is 2 and c is 3",
         ("and", ("a", "is", 1), ("b", "is", 2), ("c", "is", 3))),
        ("a is 1 or b is 2 and c is 3",
         ("or", ("a", "is", 1), ("and", ("b", "is", 2), ("c", "is", 3)))),
        ("a is 1 and b is 2 or c is 3",
         ("or", ("and", ("a", "is", 1), ("b", "is", 2)), ("c", "is", 3))),
        ("a is 1 and b is 2 or c is 3 and d is 4",
         ("or", ("and", ("a", "is", 1), ("b", "is", 2)),
          ("and", ("c", "is", 3), ("d", "is", 4)))),
        ('status is one of "open", "draft" and "paid"',
         ("status", "one of", ["open", "draft", "paid"])),
        ('status is one of "open" or "draft"', ("status", "one of", ["open", "draft"])),
        ('status is one of "open"', ("status", "one of", ["open"])),
        ('status is one of "open", "draft" and total is 5',
         ("and", ("status", "one of", ["open", "draft"]), ("total", "is", 5))),
        ('status is one of "open" and "draft" and total is 5',
         ("and", ("status", "one of", ["open", "draft"]), ("total", "is", 5))),
        ('status is one of "open" and "draft" or total is 5',
         ("or", ("status", "one of", ["open", "draft"]), ("total", "is", 5))),
        ("customer is the customer's id",
         ("customer", "is", ("ref", "customer", ("id",)))),
        ("customer is the customer's id and total is 5",
         ("and", ("customer", "is", ("ref", "customer", ("id",))), ("total", "is", 5))),
        ('metadata\'s plan is "gold"', ("metadata.plan", "is", "gold")),
        ('customer\'s address\'s city is "Paris"', ("customer.address.city", "is", "Paris")),
        ("amount due is at least 100", ("amount_due", ">=", 100)),
        ("Amount_Due is at least 100", ("amount_due", ">=", 100)),
        ('customer email contains "@example.com"', ("customer_email", "contains", "@example.com")),
        ('number starts with "INV-"', ("number", "starts with", "INV-")),
        ('email ends with "@example.com"', ("email", "ends with", "@example.com")),
        ('email does not contain "test" and name doesn\'t end with "Ltd"',
         ("and", ("email", "does not contain", "test"), ("name", "does not end with", "Ltd"))),
        ('name does not start with "x" or name ends with "y"',
         ("or", ("name", "does not start with", "x"), ("name", "ends with", "y"))),
        ('metadata\'s plan does not contain "old"', ("metadata.plan", "does not contain", "old")),
        # "start", "end", "do" and "does" belong to the field unless a comparison follows
        ("period end is after 2025-01-31", ("period_end", ">", datetime.date(2025, 1, 31))),
        ("period start is before 2025-01-31",
         ("period_start", "<", datetime.date(2025, 1, 31))),
        ('trial end ends with "x"', ("trial_end", "ends with", "x")),
        ('to do list is "x"', ("to_do_list", "is", "x")),
        ("created is after 2025-01-31", ("created", ">", datetime.date(2025, 1, 31))),
        ("paid is true", ("paid", "is", True)),
    ],
)
def test_conditions(text, expected):
    assert tree(whose(text)) == expected


def test_condition_positions():
    node = whose('status is "open" or total is at least 5')
    # get the invoices from stripe whose status is "open" or total is at least 5
    assert node.span == Span(1, 36, 75)
    first, second = node.items
    assert first.span == Span(1, 36, 52)
    assert first.field.span == Span(1, 36, 42)
    assert second.span == Span(1, 56, 75)
    assert second.field.span == Span(1, 56, 61)
    assert second.op_span == Span(1, 62, 73)
    assert second.value.span == Span(1, 74, 75)


def test_and_groups_span_their_conditions():
    node = whose("a is 1 and b is 2 or c is 3")
    group = node.items[0]
    assert isinstance(group, AllOf)
    assert group.span == Span(1, 36, 53)


def test_field_path_names():
    condition = whose('metadata\'s Plan Name is "gold"')
    assert condition.field.parts == ("metadata", "plan_name")
    assert condition.field.name == "metadata.plan_name"
    assert str(condition.field) == "metadata's plan name"
    assert condition.field.raw == "metadata's Plan Name"


def test_a_condition_then_the_target():
    command = parse_command('get a customer whose email is "a@b.c" from stripe')
    assert command.target.name == "stripe"
    assert tree(command.whose) == ("email", "is", "a@b.c")


def test_whose_then_a_block():
    command = parse_command('update a customer in stripe whose email is "a@b.c" with\n'
                            '  the name is "Jo"')
    assert tree(command.whose) == ("email", "is", "a@b.c")
    assert command.inputs[0].field.parts == ("name",)


def test_negated_text_comparison_positions():
    node = whose('email does not contain "test" or name doesn\'t end with "Ltd"')
    # get the invoices from stripe whose email does not contain "test" or name doesn't end ...
    first, second = node.items
    assert first.field.span == Span(1, 36, 41)
    assert first.op_span == Span(1, 42, 58)
    assert first.op_raw == "does not contain"
    assert first.value.span == Span(1, 59, 65)
    assert first.span == Span(1, 36, 65)
    assert second.field.span == Span(1, 69, 73)
    assert second.op_span == Span(1, 74, 90)
    assert second.op_raw == "doesn't end with"
    assert second.value.span == Span(1, 91, 96)
