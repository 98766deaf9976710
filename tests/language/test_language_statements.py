"""Blocks and the statements that are not commands: loops, branches, say, show, stop and
fail, each opening a block read by its indentation, nested to any depth."""

from __future__ import annotations

import pytest

from kognitos_books.language import LanguageError, ast, parse

NESTED = '''get all invoices from stripe whose status is "open"
for each invoice in the invoices
  if the invoice's amount due is more than $100 and not the invoice's number is "X"
    send the invoice
  otherwise if there are no invoices
    stop
  else
    say "small invoice {the invoice's number}"
process each customer in stripe whose email ends with "@example.com" as follows
  process each invoice as follows
    show the invoice
fail with "done"
'''


def test_blocks_nest_and_every_command_is_listed_in_order():
    automation = parse(NESTED, "n.kog")
    kinds = [type(s).__name__ for s in automation.body]
    assert kinds == ["Command", "ForEach", "ForEach", "Fail"]
    loop = automation.body[1]
    assert isinstance(loop, ast.ForEach) and loop.noun == "invoice"
    assert isinstance(loop.source, ast.Reference) and loop.source.noun == "invoices"
    decide = loop.body[0]
    assert isinstance(decide, ast.If) and len(decide.branches) == 2
    check = decide.branches[0].check
    assert isinstance(check, ast.Both)
    test, negated = check.items
    assert isinstance(test, ast.Test) and test.op == ">" and test.left.path == ("amount_due",)
    assert isinstance(negated, ast.Not)
    assert isinstance(decide.branches[1].check, ast.Empty) and not decide.branches[1].check.negated
    assert isinstance(decide.otherwise[0], ast.Say)
    outer = automation.body[2]
    assert isinstance(outer.source, ast.Command) and outer.source.verb == "get"
    assert outer.source.determiner == "all" and outer.source.target.name == "stripe"
    inner = outer.body[0]
    assert isinstance(inner, ast.ForEach) and inner.source is None
    assert isinstance(inner.body[0], ast.Show)
    assert [c.text.strip() for c in automation.commands] == [
        'get all invoices from stripe whose status is "open"', "send the invoice",
        outer.text]


def test_conditions_read_like_whose():
    check = parse("if the customer's email ends with \"@x.com\" or the customers are empty\n"
                  "  stop\n").body[0].branches[0].check
    assert isinstance(check, ast.Either)
    ends, empty = check.items
    assert ends.op == "ends with" and ends.left.path == ("email",)
    assert isinstance(empty, ast.Empty) and empty.ref.noun == "customers"


@pytest.mark.parametrize("text,where,message", [
    ("if the x is 1\nsend the invoice\n", "1:1", 'nothing follows "if": its block is missing'),
    ("for each invoice in the invoices\n", "1:1", 'nothing follows "for each invoice"'),
    ("otherwise\n  stop\n", "1:1", '"otherwise" without an "if" before it'),
    ("say hello\n", "1:5", 'expected text in quotes after "say"'),
    ("fail with 5\n", "1:11", 'expected text in quotes after "with"'),
    ("for each in the invoices\n  stop\n", "1:10", 'expected a noun after "for each"'),
    ('for each invoice in the invoices whose status is "open"\n  stop\n', "1:34",
     '"whose" picks records from a book'),
    ("process each invoice as soon\n  stop\n", "1:25", 'expected "follows" after "as"'),
    ("if\n  stop\n", "1:3", '"if" needs a condition'),
    ("for each invoice in the invoices\n  stop\n    send the invoice\n", "3:5",
     "this line is indented"),
])
def test_block_errors_are_placed(text, where, message):
    with pytest.raises(LanguageError) as info:
        parse(text, "b.kog")
    first = info.value.errors[0]
    assert f"{first.line}:{first.column}" == where, str(info.value)
    assert message in first.message, str(info.value)
