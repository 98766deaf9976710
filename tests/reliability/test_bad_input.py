"""Bad input: a catalog of malformed automations, rows and options. Each one gets a single
clear error line, with its place (file:line:column) where it has one, no traceback, exit
code 2, and not one request to the sandbox.

Every case goes through the real ``kbooks run`` code (``kognitos_books.cli.main``) in this
process, which keeps ~90 cases fast; a representative subset also runs as real processes,
in parallel, and must answer exactly the same.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

from kognitos_books.cli import MAX_ROWS_SIZE, main
from kognitos_books.language.parser import MAX_AUTOMATION_SIZE


class Case(NamedTuple):
    """``text``: the automation file, or with ``args`` ``("-",)`` what standard input
    holds; ``where``: ``line:column`` of the first error, or None when it has no place;
    ``message``: part of the first line; ``rows``: a CSV file passed with ``--each``;
    ``args``: more options (``{file}`` is replaced by the automation)."""

    name: str
    text: str | bytes
    where: str | None
    message: str
    rows: bytes | None = None
    args: tuple[str, ...] = ()

    @property
    def stdin(self) -> bytes | None:
        """What standard input holds: the automation, for ``kbooks run -``."""
        if "-" not in self.args:
            return None
        return self.text if isinstance(self.text, bytes) else self.text.encode()


CUSTOMER = "create a customer in stripe with\n"
PRICE = "create a price in stripe with\n"
ROW_EMAIL = "create a customer in stripe with\n  the email is the row's email\n"

CASES = [
    # ---- syntax
    Case("stray character", "get a customer % stripe\n", "1:16", 'unexpected "%"'),
    Case("full stop", "send the invoice.\n", "1:17", 'unexpected "."'),
    Case("no verb", "a customer from stripe\n", "1:1", "a command starts with a verb"),
    Case("verb alone", "get\n", "1:4", 'expected a noun after "get"'),
    Case("no target", "get a customer from\n", "1:20", 'after "from"'),
    Case("missing value", 'get a customer from stripe whose email is\n', "1:42",
         'missing value after "is"'),
    Case("unterminated text", 'get a customer from stripe whose name is "Jo\n', "1:42",
         "unterminated text"),
    Case("mixed quotes", "get a customer from stripe whose name is \"Jo'\n", "1:42",
         "mixed quotes"),
    Case("unquoted text", CUSTOMER + "  the name is John Doe\n", "2:15", "unquoted text"),
    Case("empty with block", CUSTOMER, "1:29", 'nothing follows "with"'),
    Case("empty with: block", "create a customer in stripe with:\n", "1:29",
         'nothing follows "with"'),
    Case("empty where block", "get a customer from stripe where\n", "1:28",
         'nothing follows "where"'),
    Case("indented without with", 'send the invoice\n  the id is "in_1"\n', "2:3",
         "does not end in"),
    Case("inputs twice", 'delete a customer in stripe with the id is "cus_1"\n'
         '  the name is "x"\n', "2:3", "already has its inputs"),
    Case("inconsistent indentation", CUSTOMER + '  the name is "x"\n    the email is "y"\n',
         "3:5", "inconsistent indentation"),
    Case("tab then spaces", CUSTOMER + '\tthe name is "x"\n  the email is "y"\n', "3:3",
         "inconsistent indentation"),
    Case("not an input", CUSTOMER + '  email is "a"\n', "2:3", 'expected an input like'),
    Case("comparison in an input", PRICE + "  the unit_amount is greater than 5\n", "2:19",
         'an input is set with "is"'),
    Case("no comparison", 'get a customer from stripe whose email "x"\n', "1:40",
         "missing comparison"),
    Case("half a comparison", "get an invoice from stripe whose total is greater 5\n", "1:51",
         'expected "than"'),
    Case("empty whose", "get a customer from stripe whose\n", "1:33", '"whose" needs a condition'),
    Case("whose without field", 'get a customer from stripe whose is "x"\n', "1:34",
         'expected a field after "whose"'),
    Case("empty reference", CUSTOMER + "  the name is the 's id\n", "2:15",
         "empty reference"),
    Case("unfinished reference", CUSTOMER + "  the name is the customer's\n", "2:29",
         "expected a field after"),
    Case("two values", CUSTOMER + '  the name is "x" "y"\n', "2:19", 'unexpected text "y"'),
    Case("search syntax instead of English", 'get a customer from stripe whose email:"a"\n',
         "1:39", "missing comparison"),
    Case("search operator after a value",
         "get a customer from stripe whose name is \"x\" AND metadata['a']:'b'\n", "1:58",
         'unexpected "["'),
    Case("or between values", 'get a customer from stripe whose email is "a" or "b"\n', "1:43",
         "takes one value, not a list"),
    # ---- values
    Case("no such date", "get all customers from stripe whose created is after 2025-02-30\n",
         "1:54", "no such date"),
    Case("no such time", "get all customers from stripe whose created is after "
         "2025-01-31 24:00\n", "1:65", "no such time"),
    Case("day-first date", "get all customers from stripe whose created is after 31/01/2025\n",
         "1:54", "bad date"),
    Case("bad money", PRICE + "  the unit_amount is $1.2.3\n", "2:22", "bad amount of money"),
    Case("bad number", PRICE + "  the unit_amount is 1.2.3\n", "2:22", "bad number"),
    Case("number with a letter", PRICE + "  the unit_amount is 15x\n", "2:22", "bad number"),
    Case("thousands separator", PRICE + "  the unit_amount is 1,500\n", "2:22",
         "ambiguous number"),
    Case("conflicting currency", PRICE + "  the unit_amount is €5 gbp\n", "2:22",
         "€ is eur, but the amount says gbp"),
    Case("unknown currency code", PRICE + "  the unit_amount is 15abc\n", "2:22",
         "unknown currency abc"),
    Case("unknown currency", PRICE + '  the unit_amount is 1000\n  the currency is "usx"\n'
         '  the product is "prod_1"\n', "3:19", 'unknown currency "usx"'),
    Case("currency in words", PRICE + '  the unit_amount is 1000\n'
         '  the currency is "US Dollar"\n  the product is "prod_1"\n', "3:19",
         'unknown currency "US Dollar"'),
    Case("too many decimals", PRICE + '  the unit_amount is $15.001\n  the currency is "usd"\n'
         '  the product is "prod_1"\n', "2:22", "more decimals than usd allows"),
    Case("yen with cents", PRICE + '  the unit_amount is ¥15.5\n  the currency is "jpy"\n'
         '  the product is "prod_1"\n', "2:22", "more decimals than jpy allows"),
    Case("money against the currency", PRICE + '  the unit_amount is €5\n'
         '  the currency is "usd"\n  the product is "prod_1"\n', "2:22",
         'but the currency is "usd"'),
    Case("negative amount", PRICE + '  the unit_amount is -5\n  the currency is "usd"\n'
         '  the product is "prod_1"\n', "2:22", "cannot be negative"),
    Case("negative money", 'create an invoice item in stripe with\n  the customer is "cus_1"\n'
         '  the amount is -$5\n  the currency is "usd"\n', "3:17", "cannot be negative"),
    Case("overflowing number", PRICE + '  the unit_amount is 99999999999999999999\n'
         '  the currency is "usd"\n  the product is "prod_1"\n', "2:22", "is too large"),
    Case("overflowing money", PRICE + '  the unit_amount is $99999999999999999999.00\n'
         '  the currency is "usd"\n  the product is "prod_1"\n', "2:22", "is too large"),
    Case("more digits than any number", PRICE + "  the unit_amount is "
         + "9" * 40 + "\n", "2:22", "too"),
    # ---- wrong types
    Case("number for text", CUSTOMER + "  the email is 5\n", "2:16", '"email" takes text'),
    Case("yes/no for text", CUSTOMER + "  the name is true\n", "2:15", '"name" takes text'),
    Case("date for text", CUSTOMER + "  the name is 2025-01-01\n", "2:15", '"name" takes text'),
    Case("text for a number", PRICE + '  the unit_amount is "ten"\n', "2:22",
         '"unit_amount" takes a whole number'),
    Case("decimal for a whole number", PRICE + "  the unit_amount is 10.5\n", "2:22",
         '"unit_amount" takes a whole number'),
    Case("text for yes/no", 'update a price in stripe with\n  the id is "price_1"\n'
         '  the active is "yes"\n', "3:17", '"active" takes true or false'),
    Case("text for fields", CUSTOMER + '  the metadata is "x"\n', "2:19",
         '"metadata" takes named fields'),
    Case("text for a date", 'get all customers from stripe whose created is after "yesterday"\n',
         "1:54", '"created" takes a date'),
    Case("number in metadata", CUSTOMER + "  the metadata's plan is 5\n", "2:26",
         '"plan" takes text'),
    Case("not a choice", CUSTOMER + '  the tax_exempt is "maybe"\n', "2:21",
         '"maybe" is not a valid tax_exempt'),
    Case("not a collection method", 'create an invoice in stripe with\n'
         '  the customer is "cus_1"\n  the collection_method is "cash"\n', "3:28",
         '"cash" is not a valid collection_method'),
    Case("contains on a number", 'get all invoices from stripe whose total contains "5"\n',
         "1:42", '"contains" works on text'),
    Case("greater on text", "get all customers from stripe whose name is greater than 5\n",
         "1:42", "compares numbers and dates"),
    Case("metadata with fields", CUSTOMER + "  the metadata's a's b is \"x\"\n", "2:27",
         "a metadata value is text"),
    Case("text too long", CUSTOMER + '  the name is "' + "x" * 5001 + '"\n', "2:15",
         "Stripe takes at most 5,000"),
    Case("metadata value too long", CUSTOMER + "  the metadata's note is \""
         + "x" * 501 + '"\n', "2:26", "Stripe takes at most 500"),
    Case("metadata key too long", CUSTOMER + f"  the metadata's {'k' * 41} is \"x\"\n", "2:63",
         "Stripe takes at most 40"),
    # ---- ids
    Case("customer id of an invoice", 'delete a customer in stripe with the id is "in_123"\n',
         "1:44", "in_123 is an invoice id, not a customer id"),
    Case("invoice id of a customer", 'get an invoice from stripe whose id is "cus_1"\n', "1:40",
         "cus_1 is a customer id"),
    Case("subscription id", 'delete an invoice in stripe with\n  the id is "sub_123456789"\n',
         "2:13", "sub_123456789 is a subscription id"),
    Case("product as customer", 'create an invoice in stripe with\n  the customer is "prod_1"\n',
         "2:19", "prod_1 is a product id, not a customer id"),
    Case("item id for an invoice", 'send the invoice with the id is "ii_1"\n', "1:33",
         "ii_1 is an invoice item id"),
    Case("empty id", 'update a customer in stripe with\n  the id is ""\n', "2:13",
         "is not a customer id"),
    Case("id without prefix", 'get a customer from stripe whose id is "12345"\n', "1:40",
         "12345 is not a customer id"),
    Case("id on create", CUSTOMER + '  the id is "cus_mine"\n', "2:7",
         'chooses the id of a new customer'),
    Case("id and conditions", 'get a customer from stripe whose id is "cus_1" with the email '
         'is "x"\n', "1:1", "either an id or conditions"),
    # ---- meaning
    Case("unknown verb", "frobnicate a customer in stripe\n", "1:1", 'unknown verb "frobnicate"'),
    Case("unknown noun", "get a transfer from stripe\n", "1:7", 'unknown noun "transfer"'),
    Case("unknown book", "get a customer from paypal\n", "1:21", 'no installed book answers to'),
    Case("verb the noun lacks", "pay a customer in stripe\n", "1:1", "cannot pay a customer"),
    Case("price deleted", 'delete a price in stripe with the id is "price_1"\n', "1:1",
         "a price cannot be deleted"),
    Case("plural create", "create all customers in stripe\n", "1:12",
         "acts on one customer at a time"),
    Case("whose on create", 'create a customer in stripe whose email is "x"\n', "1:35",
         '"whose" only selects records to get'),
    Case("misspelled field", CUSTOMER + '  the emial is "x"\n', "2:7", 'did you mean "email"'),
    Case("misspelled nested field", CUSTOMER + '  the address\'s cty is "x"\n', "2:7",
         'did you mean "city"'),
    Case("field given twice", CUSTOMER + '  the email is "a"\n  the email is "b"\n', "3:7",
         "given twice"),
    Case("field twice on one line", 'create a customer in stripe with the email is "a" and the '
         'email is "b"\n', "1:59", "given twice"),
    Case("missing required input", PRICE + '  the unit_amount is 100\n', "1:1",
         'missing required input "currency"'),
    Case("mark as paid", "mark the invoice as paid\n", "1:1",
         'unknown verb "mark ... as paid"; did you mean "pay"?'),
    Case("plural action", "void some invoices\n", "1:11", "acts on one invoice at a time"),
    Case("plural of nothing", "void the invoices\n", "1:10", '"the invoices" refers to nothing'),
    # ---- references to nothing
    Case("reference to nothing", CUSTOMER + "  the name is the customer's id\n", "2:15",
         "refers to nothing"),
    Case("act on nothing", "send the invoice\n", "1:10", "no earlier step gives an invoice"),
    Case("delete nothing", "delete a customer in stripe\n", "1:10",
         "no earlier step gives a customer"),
    Case("plural reference to nothing", "get all invoices from stripe whose customer is the "
         "customers's id\n", "1:48", "refers to nothing"),
    Case("add to nothing", 'add an item to the invoice with\n  the amount is 5\n'
         '  the currency is "usd"\n', "1:16", "refers to nothing"),
    Case("row without rows", ROW_EMAIL, "2:16", "refers to nothing"),
    # ---- odd unicode and bytes
    Case("Cyrillic e in a verb", "crеate a customer in stripe\n", "1:1",
         'unknown verb "crеate"; did you mean "create"?'),
    Case("fullwidth verb", "ｇｅｔ a customer from stripe\n", "1:1", "unknown verb"),
    Case("emoji noun", "get a 🧾 from stripe\n", "1:7", 'unexpected "🧾"'),
    Case("combining accent", "get a cus\u0301tomer from stripe\n", "1:10", "unexpected"),
    Case("right-to-left override in text",
         'get a customer from stripe whose name is "\u202eevil"\n', "1:43",
         "bidirectional control character U+202E"),
    Case("isolate in text", 'get a customer from stripe whose name is "a\u2066b"\n', "1:44",
         "bidirectional control character U+2066"),
    Case("zero-width space in text", 'get a customer from stripe whose email is "a\u200bb"\n',
         "1:45", "unexpected invisible character U+200B"),
    Case("zero-width space in a word", "get a customer\u200b from stripe\n", "1:15",
         "unexpected invisible character U+200B"),
    Case("byte-order mark mid-file", "get a customer from stripe whose email is \"a\"\n"
         "\ufeffsend the invoice\n", "2:1", "U+FEFF"),
    Case("escape sequence", 'get a customer from stripe whose name is "\x1b[31m"\n', "1:43",
         "control character U+001B (escape)"),
    Case("NUL in text", b'create a customer in stripe with\n  the name is "a\x00b"\n', "2:17",
         "holds a NUL byte"),
    Case("line separator", "get a customer\u2028from stripe\n", "1:15", "line separator U+2028"),
    Case("Latin-1 file", b'get a customer from stripe whose name is "caf\xe9"\n', "1:46",
         "not UTF-8 text: byte 0xE9"),
    Case("surrogate bytes", b"\xed\xa0\x80\n", "1:1", "not UTF-8 text: byte 0xED"),
    Case("UTF-16 file", "get a customer from stripe\n".encode("utf-16"), None,
         "UTF-16 or UTF-32 text"),
    Case("an image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "3:1", "binary file"),
    # ---- empty and huge
    Case("empty file", b"", None, "nothing to run: the automation has no commands"),
    Case("only comments", b"\n\n# nothing here\n   \n", None, "nothing to run"),
    Case("huge file", b"# padding\n" * (MAX_AUTOMATION_SIZE // 10 + 1), None,
         "the automation is too large"),
    Case("huge line", b'get a customer from stripe whose name is "'
         + b"x" * MAX_AUTOMATION_SIZE + b'"\n', None, "the automation is too large"),
    # ---- rows for --each
    Case("rows: unterminated quote", ROW_EMAIL, None, "rows.csv:2: not valid CSV",
         rows=b'email\n"x@y.z\n'),
    Case("rows: extra cell", ROW_EMAIL, None, "rows.csv:2: 2 cells, but the first line names 1",
         rows=b"email\na@b.c,b\n"),
    Case("rows: missing cell", ROW_EMAIL, None,
         "rows.csv:3: 1 cells, but the first line names 2", rows=b"email,name\na,b\nc\n"),
    Case("rows: column twice", ROW_EMAIL, None, 'rows.csv:1: the column "email" is named twice',
         rows=b"email,Email\na,b\n"),
    Case("rows: nameless column", ROW_EMAIL, None, "rows.csv:1: column 1 has no name",
         rows=b",email\na,b\n"),
    Case("rows: only a header", ROW_EMAIL, None, "rows.csv has no rows", rows=b"email\n"),
    Case("rows: empty file", ROW_EMAIL, None, "rows.csv: the file is empty", rows=b""),
    Case("rows: binary", ROW_EMAIL, None,
         "rows.csv:2:1: this looks like a binary file, not a rows file: it holds a NUL byte",
         rows=b"email\n\x00\x01\n"),
    Case("rows: NUL in the header", ROW_EMAIL, None, "rows.csv:1:3: this looks like a binary",
         rows=b"em\x00ail\n"),
    Case("rows: not UTF-8", ROW_EMAIL, None,
         "rows.csv:2:4: this file is not UTF-8 text: byte 0xE9", rows=b"email\ncaf\xe9\n"),
    Case("rows: UTF-16", ROW_EMAIL, None,
         "rows.csv: this file is UTF-16 or UTF-32 text; rows files are UTF-8",
         rows="email\na@b.c\n".encode("utf-16")),
    Case("rows: a cell past the field limit", ROW_EMAIL, None,
         "rows.csv:2: a cell is longer than 131,072 characters",
         rows=b'email\n"a@b.c\n' + b"x\n" * 70_000),
    Case("rows: a quote not closed at the end", ROW_EMAIL, None,
         "rows.csv:3: not valid CSV: unexpected end of data",
         rows=b'email\na@b.c\n"x@y.z\nd@e.f\n'),
    Case("rows: a directory", ROW_EMAIL, None, ".: cannot read the rows file: ",
         args=("--each", ".")),
    Case("rows: a device that never ends", ROW_EMAIL, None,
         f"/dev/zero: the rows file is too large: {MAX_ROWS_SIZE + 1:,} bytes or more, at "
         f"most {MAX_ROWS_SIZE:,}", args=("--each", "/dev/zero")),
    Case("rows: no such column", ROW_EMAIL, "2:16", 'the rows have no column "email"',
         rows=b"mail\nx@y.z\n"),
    Case("rows: no such file", ROW_EMAIL, None, "cannot read the rows", rows=None,
         args=("--each", "missing.csv")),
    # ---- options
    Case("no such automation", b"", None, "case.kog.missing: cannot read the automation",
         args=("{file}.missing",)),
    Case("unknown connection", 'get a customer from stripe whose email is "a@b.c"\n', None,
         "the book stripe_pay has no connection named 'nope'", args=("--connection", "nope")),
    Case("no concurrency", 'get a customer from stripe whose email is "a@b.c"\n', None,
         "--concurrency must be at least 1", rows=b"x\n1\n", args=("--concurrency", "0")),
    Case("negative rate", 'get a customer from stripe whose email is "a@b.c"\n', None,
         "--rate must be 0", args=("--rate", "-1")),
    Case("rate not a number", 'get a customer from stripe whose email is "a@b.c"\n', None,
         "--rate must be 0 (no limit) or a number", rows=b"x\n1\n", args=("--rate", "nan")),
    Case("endless rate", 'get a customer from stripe whose email is "a@b.c"\n', None,
         "--rate must be 0 (no limit) or a number", rows=b"x\n1\n", args=("--rate", "inf")),
    Case("negative retries", 'get a customer from stripe whose email is "a@b.c"\n', None,
         "--retries must be 0 or more", args=("--retries", "-1")),
    Case("no retry delay", 'get a customer from stripe whose email is "a@b.c"\n', None,
         "--retry-delay must be more than 0", args=("--retry-delay", "0")),
    Case("resume an unknown run", b"", None, "no run 'run_nope' in the journal",
         args=("--resume", "run_nope")),
    Case("edited file, unknown run", b"send the invoice\n", None,
         "no run 'run_x' in the journal", args=("{file}", "--resume", "run_x")),
    Case("resume with rows", b"", None, "takes no --each or --dry-run",
         args=("--resume", "run_x", "--dry-run")),
    # ---- standard input (kbooks run -): read as a file is
    Case("stdin: Latin-1", b'get a customer from stripe whose name is "caf\xe9"\n', "1:46",
         "this file is not UTF-8 text: byte 0xE9", args=("-",)),
    Case("stdin: UTF-16", "get a customer from stripe\n".encode("utf-16"), None,
         "<stdin>: this file is UTF-16 or UTF-32 text", args=("-",)),
    Case("stdin: NUL", b"get a\x00 customer from stripe\n", "1:6",
         "this looks like a binary file, not an automation", args=("-",)),
    Case("stdin: too large", b"# padding\n" * (MAX_AUTOMATION_SIZE // 10 + 1), None,
         f"<stdin>: the automation is too large: {MAX_AUTOMATION_SIZE + 1:,} bytes or more",
         args=("-",)),
    Case("stdin: empty", b"", None, "nothing to run", args=("-",)),
]


def test_the_catalog_is_big_and_its_names_unique():
    assert len(CASES) >= 80
    assert len({c.name for c in CASES}) == len(CASES)


def prepare(case: Case, where: Path) -> tuple[list[str], str]:
    """The files of ``case`` in ``where``; returns the arguments and the automation's path
    (``<stdin>`` when standard input holds it)."""
    path = where / "case.kog"
    if case.stdin is not None:
        return ["run", *case.args, *prepare_rows(case, where)], "<stdin>"
    path.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode())
    args = [a.replace("{file}", str(path)) for a in case.args]
    if not any(str(path) in a for a in args) and "--resume" not in args:
        args.insert(0, str(path))
    return ["run", *args, *prepare_rows(case, where)], str(path)


def prepare_rows(case: Case, where: Path) -> list[str]:
    if case.rows is not None:
        (where / "rows.csv").write_bytes(case.rows)
        return ["--each", str(where / "rows.csv")]
    return []


def check_answer(case: Case, path: str, code: int, out: str, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err + out
    assert out == ""
    first = err.splitlines()[0] if err else ""
    if case.where is not None:
        assert first.startswith(f"{path}:{case.where}: "), err
    else:
        assert first.startswith((path, "kbooks: error: ")), err
    assert case.message in first, err
    # the one error line comes once (a place adds the line and a caret, maybe a hint)
    assert err.count(first) == 1 and len(err.splitlines()) <= 5, err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_clear_error_and_sends_nothing(case, sandbox, tmp_path, capsys,
                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, path = prepare(case, tmp_path)
    if case.stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(case.stdin)))
    code = main(argv)
    captured = capsys.readouterr()
    check_answer(case, path, code, captured.out, captured.err)
    assert sandbox.requests() == []


#: Run as real processes too: one of each kind of failure.
AS_PROCESSES = ("unterminated text", "unknown currency", "overflowing money", "id on create",
                "reference to nothing", "right-to-left override in text", "an image",
                "empty file", "huge file", "rows: extra cell", "rows: no such column",
                "unknown connection", "field given twice", "metadata with fields",
                "rows: a cell past the field limit", "rows: a directory",
                "rows: a device that never ends", "stdin: Latin-1", "stdin: too large")


def test_the_same_through_real_processes(sandbox, tmp_path):
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe

    def one(case: Case) -> tuple[Case, str, subprocess.CompletedProcess[str]]:
        where = tmp_path / case.name.replace(" ", "_").replace(":", "")
        where.mkdir()
        argv, path = prepare(case, where)
        done = subprocess.run([exe, *argv], capture_output=True, cwd=where,
                              input=case.stdin or b"", env=dict(os.environ), timeout=60)
        return case, path, done

    chosen = [c for c in CASES if c.name in AS_PROCESSES]
    assert len(chosen) == len(AS_PROCESSES)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for case, path, done in pool.map(one, chosen):
            check_answer(case, path, done.returncode, done.stdout.decode(),
                         done.stderr.decode(errors="replace"))
    assert sandbox.requests() == []


def test_standard_input_errors_are_placed_too(sandbox, kbooks):
    done = kbooks("run", "-", input='create a customer in stripe with\n  the name is John\n')
    assert done.returncode == 2
    assert done.stderr.startswith("<stdin>:2:15: unquoted text John")
    assert sandbox.requests() == []


class Other(NamedTuple):
    """A bad input to a command other than ``kbooks run``: ``argv`` (``{tmp}`` is replaced
    by a fresh directory, which holds a file named ``afile``), ``message``: part of the one
    error line, ``env``: variables set (or, given None, unset) for it."""

    name: str
    argv: tuple[str, ...]
    message: str
    env: tuple[tuple[str, str | None], ...] = ()


CREATE_CUSTOMER = ("call", "create a customer in stripe")
CREATE_PRICE = ("call", "create a price in stripe", "currency=usd", "product=prod_1")
INSTALL = ("install", "stripe_pay", "--connection", "other")
#: for install: the environment's api_base would win over --set's
SET_BASE = (("KBOOKS_STRIPE_PAY_API_BASE", None),)

OTHERS = [
    Other("call: not FIELD=VALUE", (*CREATE_CUSTOMER, "email"),
          "input 'email' is not FIELD=VALUE or FIELD:=JSON"),
    Other("call: not JSON", (*CREATE_CUSTOMER, "metadata:={bad"),
          "metadata:= needs JSON (Expecting property name enclosed in double quotes)"),
    Other("call: NaN", (*CREATE_PRICE, "unit_amount:=NaN"),
          "unit_amount:= needs JSON (NaN is not a JSON number)"),
    Other("call: Infinity", (*CREATE_PRICE, "unit_amount:=-Infinity"),
          "unit_amount:= needs JSON (-Infinity is not a JSON number)"),
    Other("call: more digits than Python reads", (*CREATE_PRICE, "unit_amount:=" + "9" * 5000),
          f"unit_amount:= takes integers of at most {sys.get_int_max_str_digits():,} digits"),
    Other("call: JSON nested too deeply",
          (*CREATE_CUSTOMER, "metadata:=" + "[" * 30_000 + "]" * 30_000),
          "metadata:= needs JSON nested less deeply"),
    Other("call: an argument that is not UTF-8", (*CREATE_CUSTOMER, "name=caf\udce9"),
          "input 'name' is not UTF-8 text: byte 0xE9 cannot be read"),
    Other("install: --set without a value", (*INSTALL, "--set", "api_base"),
          "--set 'api_base' is not SETTING=VALUE"),
    Other("install: an IPv6 address not closed", (*INSTALL, "--set", "api_base=http://[::1"),
          "api_base 'http://[::1' is not an http(s) URL", env=SET_BASE),
    Other("install: no such port", (*INSTALL, "--set", "api_base=http://127.0.0.1:99999"),
          "api_base 'http://127.0.0.1:99999' is not an http(s) URL", env=SET_BASE),
    Other("install: a port that is not a number",
          (*INSTALL, "--set", "api_base=http://127.0.0.1:x"), "is not an http(s) URL",
          env=SET_BASE),
    Other("install: too many network retries", (*INSTALL, "--set", "max_network_retries=99"),
          "max_network_retries '99' is not a whole number from 0 to 10"),
    Other("runs: an unknown run", ("runs", "run_nope"), "no run 'run_nope' in the journal"),
    Other("runs: no runs asked for", ("runs", "--limit", "0"), "--limit must be at least 1"),
    Other("procedures: an unknown noun", ("procedures", "stripe_pay", "invoce"),
          "stripe_pay has no noun 'invoce'; did you mean 'invoice' or 'invoice item'?"),
    Other("home: a file", ("runs",), "cannot keep files in {tmp}/afile: it is not a directory",
          env=(("KBOOKS_HOME", "{tmp}/afile"),)),
    Other("home: under a file", ("connections", "--default", "stripe_pay/x"),
          "cannot keep files in {tmp}/afile/home: Not a directory",
          env=(("KBOOKS_HOME", "{tmp}/afile/home"),)),
    Other("home: a file, for a run", ("run", "{tmp}/afile"),
          "cannot keep files in {tmp}/afile: it is not a directory",
          env=(("KBOOKS_HOME", "{tmp}/afile"),)),
]


def test_the_other_catalog_names_are_unique():
    assert len({c.name for c in OTHERS}) == len(OTHERS)


def prepare_other(case: Other, tmp: Path) -> tuple[list[str], dict[str, str | None], str]:
    """The arguments, the environment's changes and the message of ``case``, in ``tmp``."""
    (tmp / "afile").write_text('get a customer from stripe whose email is "a@b.c"\n')

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp))

    return ([fill(a) for a in case.argv],
            {k: fill(v) if v is not None else None for k, v in case.env}, fill(case.message))


def check_other(message: str, code: int, out: str, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err + out and "unexpected" not in err
    assert out == ""
    errors = [line for line in err.splitlines() if line.startswith("kbooks: error: ")]
    assert len(errors) == 1 and message in errors[0], err
    assert len(err.splitlines()) <= 3, err  # the error, its hint, "Installing ..." at most


@pytest.mark.parametrize("case", OTHERS, ids=[c.name for c in OTHERS])
def test_bad_input_to_other_commands_is_one_clear_error(case, sandbox, tmp_path, capsys,
                                                      monkeypatch):
    argv, env, message = prepare_other(case, tmp_path)
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    code = main(argv)
    captured = capsys.readouterr()
    check_other(message, code, captured.out, captured.err)
    assert sandbox.requests() == []


def test_the_other_commands_answer_the_same_as_real_processes(sandbox, tmp_path):
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe

    def one(numbered: tuple[int, Other]) -> tuple[str, subprocess.CompletedProcess[str]]:
        where = tmp_path / str(numbered[0])
        where.mkdir()
        argv, changes, message = prepare_other(numbered[1], where)
        env = {**os.environ, **changes}
        return message, subprocess.run([exe, *argv], capture_output=True, text=True,
                                       errors="replace", stdin=subprocess.DEVNULL,
                                       env={k: v for k, v in env.items() if v is not None},
                                       timeout=60)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for message, done in pool.map(one, enumerate(OTHERS)):
            check_other(message, done.returncode, done.stdout, done.stderr)
    assert sandbox.requests() == []


def run_with_stdin(exe: str, args: list[str], stdin: str | None) -> subprocess.CompletedProcess:
    """``kbooks ARGS`` with standard input read from ``stdin`` (a path), or closed."""
    handle = open(stdin, "rb") if stdin else None  # noqa: SIM115 - closed below
    try:
        return subprocess.run([exe, *args], stdin=handle, capture_output=True, text=True,
                              env=dict(os.environ), timeout=60,
                              preexec_fn=None if stdin else lambda: os.close(0))
    finally:
        if handle:
            handle.close()


@pytest.mark.parametrize("command, stdin, code, message", [
    ("run", "/dev/zero", 2, "<stdin>: the automation is too large: "
     f"{MAX_AUTOMATION_SIZE + 1:,} bytes or more"),
    ("run", None, 2, "kbooks: error: standard input is closed"),
    ("install", "/dev/zero", 1, "kbooks: error: the value for Stripe API key is longer than "
     "4,096 characters"),
    ("install", None, 1, "kbooks: error: no value for Stripe API key: standard input is "
     "closed"),
])
def test_standard_input_that_never_ends_or_is_closed(sandbox, kbooks_home, monkeypatch, command,
                                                    stdin, code, message):
    """A device that never ends is read up to the bound, not forever; a closed standard
    input is said to be closed. (A credential refused is exit 1, as a rejected key is.)"""
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe
    monkeypatch.delenv("KBOOKS_STRIPE_PAY_API_KEY")  # so that install asks for it
    args = ["run", "-"] if command == "run" else list(INSTALL)
    done = run_with_stdin(exe, args, stdin)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    assert message in done.stderr.splitlines()[-2 if "hint" in done.stderr else -1]
    assert sandbox.requests() == []


def test_a_rows_file_too_large_is_refused_before_it_is_read(sandbox, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    with open(rows, "wb") as handle:  # sparse: the size without the bytes
        handle.truncate(MAX_ROWS_SIZE + 1)
    automation = tmp_path / "each.kog"
    automation.write_text(ROW_EMAIL)
    assert main(["run", str(automation), "--each", str(rows)]) == 2
    err = capsys.readouterr().err
    # "bytes", not "bytes or more": it was measured, not read (read, it is all NUL bytes)
    assert err.splitlines()[0] == (f"kbooks: error: {rows}: the rows file is too large: "
                                   f"{MAX_ROWS_SIZE + 1:,} bytes, at most {MAX_ROWS_SIZE:,}")
    assert sandbox.requests() == []


def test_a_large_limit_lists_the_runs(sandbox, kbooks):
    done = kbooks("runs", "--limit", str(2**70))
    assert done.returncode == 0 and done.stdout == "No runs yet.\n", done.stderr


TRICKY = "O'Brien \"Bob\" \\ AND email:'x' OR name~'O"


def test_quotes_and_search_operators_in_values_are_only_text(sandbox, kbooks_home):
    """A value is never read as search syntax: quotes, backslashes and operators inside it
    are escaped, so it matches itself and nothing else."""
    from kognitos_books import Runtime
    from kognitos_books.language.errors import LanguageError

    writer = Runtime(home=kbooks_home)
    escaped = TRICKY.replace("\\", "\\\\").replace('"', '\\"')
    writer.run(f'create a customer in stripe with\n  the name is "{escaped}"\n'
               'create a customer in stripe with\n  the name is "Olive"\n')
    reader = Runtime(home=kbooks_home)  # has written nothing: its gets use search
    found = reader.run(f'get a customer from stripe whose name is "{escaped}"\n')
    assert found.ok and found.steps[0].result["name"] == TRICKY
    query = sandbox.requests()[-1]["params"]["query"]
    assert query == "name:'O\\'Brien \"Bob\" \\\\ AND email:\\'x\\' OR name~\\'O'"
    injected = reader.run('get all customers from stripe whose name is "x\' OR name~\'O"\n')
    assert injected.ok and list(injected.steps[0].result) == []
    with pytest.raises(LanguageError):  # unbalanced, it is a syntax error, not a search
        reader.run("get a customer from stripe whose name is \"x' OR name~'O\n")
