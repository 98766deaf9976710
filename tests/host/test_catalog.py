"""What ``kbooks books`` and ``kbooks --help`` show is kept between runs, and used only
while nothing it was made from has changed (kognitos_books/catalog.py)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from kognitos_books import catalog

SHOWN = (("books",), ("books", "--json"), ("--help",), ())


PROBE = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
from kognitos_books.cli import main
sys.exit(main(sys.argv[1:]))
"""


def imported(kbooks_home, *args: str, env: dict | None = None) -> tuple[str, set[str]]:
    """What ``kbooks ARGS`` printed, and every module it imported."""
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr
    return out.stdout, set(json.loads(out.stderr.splitlines()[-1]))


def kept_file(kbooks_home):
    return kbooks_home / "cache" / "books.json"


@pytest.mark.parametrize("args", SHOWN)
def test_the_second_time_no_book_is_loaded_and_the_answer_is_the_same(memo, kbooks,
                                                                      kbooks_home, args):
    first, loaded = imported(kbooks_home, *args)
    assert {"memo_book", "stripe_pay.book", "pluggy", "attr"} <= loaded
    assert kept_file(kbooks_home).exists()
    again, loaded = imported(kbooks_home, *args)
    assert again == first
    assert not loaded & {"memo_book", "stripe_pay", "stripe_pay.book", "pluggy", "attr",
                         "attrs", "kognitos_books.model", "stripe"}
    if args[:1] != ("books",):
        assert "memo-hello" in again  # a book's own command, in the help all the same


def test_the_kept_file_is_private_and_holds_no_more_than_is_shown(memo, kbooks, kbooks_home):
    kbooks("install", "memo", input="memo_test_qwertyuiop1234\n")
    shown = kbooks("books", "--json").stdout
    assert stat.S_IMODE(os.stat(kept_file(kbooks_home)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(kept_file(kbooks_home).parent).st_mode) == 0o700
    kept = json.loads(kept_file(kbooks_home).read_text())
    assert kept["books"] == json.loads(shown)
    assert "memo_test_" not in kept_file(kbooks_home).read_text()


def test_an_edited_book_is_described_again(memo, kbooks, kbooks_home):
    assert "Memo 0.1" in kbooks("books").stdout
    source = memo / "memo_book.py"
    source.write_text(source.read_text().replace('title="Memo"', 'title="Memo Pad"'))
    stamp = time.time() + 5  # (a file system that keeps whole seconds sees it too)
    os.utime(source, (stamp, stamp))
    assert "Memo Pad 0.1" in kbooks("books").stdout
    assert "Memo Pad 0.1" in kbooks("books").stdout  # and that is kept


def test_books_installed_or_removed_are_seen(memo, book_site, kbooks, kbooks_home):
    assert [b["name"] for b in json.loads(kbooks("books", "--json").stdout)] == [
        "memo", "stripe_pay"]
    site = book_site("kbooks-memo-two", "memo_book", "memo_two")  # a second distribution
    names = [b["name"] for b in json.loads(kbooks("books", "--json").stdout)]
    assert "memo_two" in names
    info = site / "kbooks_memo_two-0.1.dist-info"
    for child in info.iterdir():
        child.unlink()
    info.rmdir()
    assert "memo_two" not in [b["name"] for b in json.loads(kbooks("books", "--json").stdout)]


def test_disabling_a_book_is_seen(memo, kbooks):
    assert "memo-hello" in kbooks("--help").stdout
    env = {"KBOOKS_DISABLE": "memo"}
    assert "disabled" in kbooks("books", env=env).stdout
    assert "memo-hello" not in kbooks("--help", env=env).stdout
    assert "memo-hello" in kbooks("--help").stdout


def test_nothing_is_kept_while_a_book_is_broken(memo, book_site, kbooks, kbooks_home):
    book_site("kbooks-broken", "broken_import", "broken")
    assert "cannot be imported" in kbooks("books").stdout
    assert not kept_file(kbooks_home).exists()


def test_tracing_runs_the_hooks(memo, kbooks, kbooks_home):
    kbooks("books")
    assert kept_file(kbooks_home).exists()
    traced = kbooks("books", env={"KBOOKS_TRACE": "1"})
    assert "kbooks trace:" in traced.stderr and "describe_book" in traced.stderr


@pytest.mark.parametrize("damage", [b"", b"{not json", b"[]", b'{"format": 0}',
                                    b'{"format": 1, "fingerprint": []}'])
def test_a_damaged_or_foreign_kept_file_is_made_again(memo, kbooks, kbooks_home, damage):
    first = kbooks("books").stdout
    kept_file(kbooks_home).write_bytes(damage)
    assert kbooks("books").stdout == first
    assert json.loads(kept_file(kbooks_home).read_text())["format"] == catalog.FORMAT


def test_the_fingerprint_names_the_files_it_watches(memo, kbooks_home):
    found = json.dumps(catalog.fingerprint())
    assert "memo_book.py" in found  # the book, a single module here
    assert "book.py" in found and "sandbox" in found  # the Stripe book's package, whole
    assert os.path.join("kognitos_books", "runtime.py") in found  # the host
    assert "kbooks_memo-0.1.dist-info" in found


@pytest.mark.parametrize("args", [("procedures", "stripe_pay"),
                                  ("procedures", "stripe_pay", "--json"),
                                  ("procedures", "stripe_pay", "invoice"),
                                  ("procedures", "stripe", "items", "--json"),
                                  ("procedures", "memo")])
def test_procedures_are_answered_from_what_was_kept(memo, kbooks_home, args):
    first, loaded = imported(kbooks_home, *args)
    assert (kbooks_home / "cache" / "procedures.json").exists()
    again, loaded = imported(kbooks_home, *args)
    assert again == first and first.strip()
    assert not loaded & {"stripe", "stripe_pay", "stripe_pay.schema", "pluggy", "attr",
                         "kognitos_books.model", "memo_book"}


def test_kept_procedures_follow_an_edited_book(memo, kbooks, kbooks_home):
    assert "label" in kbooks("procedures", "memo").stdout
    source = memo / "memo_book.py"
    source.write_text(source.read_text().replace('Field("label", "string"',
                                                 'Field("caption", "string"'))
    stamp = time.time() + 5
    os.utime(source, (stamp, stamp))
    shown = kbooks("procedures", "memo").stdout
    assert "caption" in shown and "label" not in shown.replace("labels", "")


def test_an_unknown_noun_is_never_answered_from_what_was_kept(memo, kbooks):
    kbooks("procedures", "stripe_pay")
    out = kbooks("procedures", "stripe_pay", "invoce")
    assert out.returncode == 2 and "did you mean 'invoice'" in out.stderr
