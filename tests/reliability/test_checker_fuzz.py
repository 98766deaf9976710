"""The checker, fuzzed against the Stripe Pay book: whatever the automation (random words,
commands built from the grammar's parts, mutations of the manual), checking it and dry-running
it raise nothing but the project's own errors (``KbooksError``), and those that have a place
point inside the text. The parser's own fuzzing is in tests/language."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kognitos_books import KbooksError, Runtime
from kognitos_books.language.errors import LanguageError

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))

VERBS = ["get", "create", "update", "delete", "add", "send", "finalize", "pay", "void", "mark",
         "frobnicate"]
DETERMINERS = ["a ", "an ", "the ", "all ", "some ", "every ", ""]
NOUNS = ["customer", "customers", "invoice", "invoices", "price", "prices", "product",
         "products", "invoice item", "invoice items", "item", "items", "note"]
TAILS = [" in stripe", " from stripe", " to the invoice", " to the customer",
         " as uncollectible", " as paid", " of the price", " from paypal", ""]
FIELDS = ["id", "email", "name", "unit_amount", "unit amount", "currency", "product",
          "customer", "invoice", "metadata's plan", "metadata's a's b", "address's city",
          "address", "recurring's interval", "recurring", "tax_exempt", "collection_method",
          "days_until_due", "due_date", "created", "total", "status", "active", "amount",
          "amount_due", "lookup_key", "lookup_keys", "expand", "pending", "price", "quantity",
          "pricing's price", "price_data's unit_amount", "description", "number", "lines",
          "invoice_settings's default_payment_method", "preferred_locales", "type", "url",
          "livemode", "object", "deleted", "emial", "row's email"]
COMPARISONS = [" is ", " is not ", " contains ", " starts with ", " is one of ",
               " is greater than ", " is at most ", " is before ", " is after "]
VALUES = ['"cus_1"', '"in_1"', '"prod_1"', '"price_1"', '"ii_1"', '"sub_1"', '"usd"', '"USD"',
          '"eur"', '"x"', '""', '"a@b.c"', "5", "-5", "0", "3.5", "9223372036854775808",
          "$15.00", "-$1", "15 usd", "€5", "€5 gbp", "¥15", "¥15.5", "$99999999999999999999",
          "2025-01-31", "2025-01-31 14:00", "true", "false", "the customer", "the customer's id",
          "the invoice's total", "the customers", "the invoice's lines", "the price's product",
          "the row's email", "the row's nope", '"a", "b" and "c"', "1, 2 or 3", '"open"',
          '"draft"', '"send_invoice"', '"month"', '"exempt"', '"' + "x" * 5001 + '"',
          "\"x' OR email:'y\"", '"\u202e"']
JOINERS = [" and ", " or ", " and whose "]


def command(pick: Callable[[list[Any]], Any], count: Callable[[int, int], int]) -> str:
    """One command from the grammar's parts; ``pick`` and ``count`` draw the choices."""
    text = pick(VERBS) + " " + pick(DETERMINERS) + pick(NOUNS) + pick(TAILS)
    if count(0, 1):
        conditions = [pick(FIELDS) + pick(COMPARISONS) + pick(VALUES)
                      for _ in range(count(1, 3))]
        text += " whose " + pick(JOINERS).join(conditions)
    if count(0, 1):
        text += " with"
        for _ in range(count(0, 4)):
            text += "\n  the " + pick(FIELDS) + " is " + pick(VALUES)
    return text


TEXTS = ['"Jo"', '"a@b.c"', '""', "the customer's email", "the row's email", "5", "true"]
AMOUNTS = ["1500", "$15.00", "15 usd", "¥1500", "0", "-1", "$1.001", "the price's unit_amount"]
CURRENCIES = ['"usd"', '"jpy"', '"eur"', '"usx"', "5"]
#: Commands that make sense, with inputs of their own kind (good and bad values): these
#: get past the words and reach the checking of values, ids, references and plans.
TEMPLATES: list[tuple[str, dict[str, list[str]]]] = [
    ("create a customer in stripe", {"email": TEXTS, "name": TEXTS,
                                     "metadata's plan": TEXTS, "balance": AMOUNTS}),
    ("create a product in stripe", {"name": TEXTS, "active": ["true", '"yes"'],
                                    "id": ['"gold"', '"cus_1"']}),
    ("create a price in stripe", {"unit_amount": AMOUNTS, "currency": CURRENCIES,
                                  "product": ["the product's id", '"prod_1"', '"cus_1"']}),
    ("create an invoice in stripe", {"customer": ["the customer's id", '"cus_1"', '"in_1"'],
                                     "days_until_due": ["30", "-1", '"x"']}),
    ("add an item to the invoice", {"amount": AMOUNTS, "currency": CURRENCIES,
                                    "description": TEXTS}),
    ("update the customer", {"name": TEXTS, "metadata's plan": TEXTS}),
    ("send the invoice", {}), ("finalize the invoice", {}), ("pay the invoice", {}),
    ("void the invoice", {}), ("mark the invoice as uncollectible", {}),
    ("delete the customer", {}), ("delete the invoice", {}),
    ("get a customer from stripe whose", {"email": TEXTS, "name": TEXTS, "created": [
        "2025-01-31", '"x"'], "metadata's plan": TEXTS}),
    ("get all invoices from stripe whose", {"status": ['"open"', '"nope"'], "total": AMOUNTS,
                                            "customer": ["the customer's id", '"cus_1"']}),
]


def coherent(pick: Callable[[list[Any]], Any], count: Callable[[int, int], int]) -> str:
    head, fields = pick(TEMPLATES)
    if not fields:
        return head
    chosen = [(name, pick(fields[name])) for name in fields if count(0, 1)] or [
        (next(iter(fields)), pick(next(iter(fields.values()))))]
    if head.endswith("whose"):
        return head + " " + " and ".join(f"{name}{pick(COMPARISONS)}{value}"
                                         for name, value in chosen)
    return head + " with" + "".join(f"\n  the {name} is {value}" for name, value in chosen)


PRELUDE = """\
create a customer in stripe with the email is "p@example.com"
create a product in stripe with the name is "P"
create a price in stripe with
  the unit_amount is 100
  the currency is "usd"
  the product is the product's id
create an invoice in stripe with the customer is the customer's id"""


def automation(pick: Callable[[list[Any]], Any], count: Callable[[int, int], int]) -> str:
    """A few commands: mostly sensible ones (usually after a prelude that gives references
    something to name), some from loose parts of the grammar."""
    lines = [PRELUDE] if count(0, 3) else []
    for _ in range(count(1, 5)):
        lines.append(coherent(pick, count) if count(0, 3) else command(pick, count))
    return "\n".join(lines)


@st.composite
def automations(draw: Any) -> str:
    def pick(choices: list[Any]) -> Any:
        return draw(st.sampled_from(choices))

    def count(low: int, high: int) -> int:
        return draw(st.integers(low, high))

    return automation(pick, count)


MANUAL = """\
create a customer in stripe with
  the email is "john.doe@example.com"
  the name is "John Doe"
get a customer from stripe whose email is "john.doe@example.com"
create a price in stripe with
  the unit_amount is 1000
  the currency is "usd"
  the product is "prod_123"
create an invoice in stripe with
  the customer is the customer's id
add a item to the invoice with
  the amount is $15.00
  the currency is "usd"
send the invoice
delete an invoice in stripe with
  the id is "sub_123456789"
"""
PIECES = [" ", "\n", "\n  ", "\t", "the ", "'s", '"', "'", "\\", ",", ":", ".", "#", "$",
          "€", "-", "0", "9" * 25, "\x00", "\u200b", "\u202e", "\ufeff", "with", " whose ",
          " and ", " or ", " is ", " is not ", "customer", "invoice", "stripe", "row's "]


@st.composite
def mutated_manual(draw: Any) -> str:
    text = MANUAL
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 8))
        text = text[:at] + draw(st.sampled_from(["", *PIECES, *VALUES])) + text[at + cut:]
    return text


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    # Checking and dry runs need no connection and send nothing.
    return Runtime(home=tmp_path_factory.mktemp("fuzz"))


def outcome(rt: Runtime, text: str, rows: bool) -> bool:
    """Check and dry-run ``text``; True if it passed. Only KbooksError may come out."""
    given = ("row",) if rows else ()
    table = [{"email": "a@b.c", "x": "1"}] if rows else None
    try:
        rt.check(text, source_name="fuzz.kog", given=given,
                 columns=table[0] if table else None)
        rt.run(text, source_name="fuzz.kog", dry_run=True, rows=table)
        return True
    except LanguageError as error:
        lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        count = len(lines.split("\n"))
        for each in error.errors:
            assert 0 <= each.line <= count, (each.line, count)
            assert each.message and "Traceback" not in str(each)
        return False
    except KbooksError as error:
        assert error.message
        return False


@FUZZ
@given(automations(), st.booleans())
def test_commands_from_the_grammar(runtime, text, rows):
    outcome(runtime, text, rows)


@FUZZ
@given(mutated_manual())
def test_mutations_of_the_manual(runtime, text):
    outcome(runtime, text, False)


@FUZZ
@given(st.text(max_size=300))
def test_any_text(runtime, text):
    outcome(runtime, text, False)


def test_the_grammar_reaches_valid_automations(runtime):
    """The fuzzing is worth something only if some of what it builds passes the checker
    and gets planned."""
    rng = random.Random(0)
    passed = sum(outcome(runtime, automation(rng.choice, rng.randint), False)
                 for _ in range(400))
    assert passed >= 40, passed
