"""``kbooks run FILE`` keeps what it read and checked (and each book's ``describe_inputs``
answers) between runs, and answers from it only while nothing it was made from has changed
(kognitos_books/catalog.py, kognitos_books/cli.py): the same text is run as a fresh check
would run it, and a changed text, book, distribution, setting, time zone or zone database is
checked again. Runs go through the real ``stripe`` SDK to a sandbox on 127.0.0.1, or
through the memo book."""

from __future__ import annotations

import json
import marshal
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import STRIPE_KEY as KEY
from test_cli import sandbox_server, stripe  # noqa: F401 (fixtures)

from kognitos_books import catalog

MEMO_TOKEN = "memo_test_cachecache42"
#: what a repeated run must not load: the language's parser, the checker's work on the
#: book's schema (the SDK's types), the SDK's params types it is read from
CHECKING = {"kognitos_books.language.parser", "stripe_pay.schema", "stripe.params"}

PROBE = """
import atexit, json, os, sys
atexit.register(lambda: os.write(2, ("\\n" + json.dumps(sorted(sys.modules))).encode()))
from kognitos_books.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def stripe_env(request, monkeypatch):
    """The Stripe Pay book pointed at the sandbox (emptied), dates read in UTC."""
    for name in ("KBOOKS_STRIPE_PAY_TIME_ZONE", "PYTHONTZPATH"):
        monkeypatch.delenv(name, raising=False)
    return request.getfixturevalue("stripe")  # (test_cli's)


def run(*args: str, env: dict | None = None) -> tuple[int, str, str, set[str]]:
    """``kbooks ARGS`` in its own process: exit code, output (run ids and times taken
    out), errors, and every module it imported."""
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                         text=True, env={**os.environ, **(env or {})}, timeout=60)
    errors, _, modules = out.stderr.rpartition("\n")
    shown = re.sub(r"run_[0-9a-f]{16}", "run_ID", out.stdout)
    return out.returncode, re.sub(r"in \d+\.\d\ds", "in Ns", shown), errors, set(
        json.loads(modules))


def sent(server, since: int = 0) -> list[tuple[str, dict]]:
    """The requests the sandbox got (path and parameters), after the first ``since``."""
    return [(r["path"], r["params"]) for r in server.requests()[since:]]


def kept_files(home: Path) -> list[Path]:
    return sorted((home / "cache" / "runs").glob("*.kept"))


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, with a time a file system that keeps whole seconds sees
    as new."""
    path.write_text(text)
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))
    return path


GET = 'get all customers from stripe whose email is "jo@example.com"\n'


def test_a_run_again_is_answered_from_what_was_kept(stripe_env, kbooks_home, tmp_path):
    kog = write(tmp_path / "get.kog", GET)
    code, first, _, loaded = run("run", str(kog))
    assert code == 0 and "none found" in first
    assert loaded >= CHECKING
    assert kept_files(kbooks_home)
    code, again, _, loaded = run("run", str(kog))
    assert code == 0 and again == first
    assert not loaded & CHECKING
    assert sent(stripe_env) == [("/v1/customers", {"email": "jo@example.com", "limit": "100"})
                                ] * 2


def test_a_text_not_run_before_is_checked_with_the_inputs_kept(stripe_env, kbooks_home,
                                                                tmp_path):
    run("run", str(write(tmp_path / "get.kog", GET)))
    other = write(tmp_path / "other.kog", GET.replace("jo@", "al@"))
    code, shown, _, loaded = run("run", str(other))
    assert code == 0 and "al@example.com" in shown
    assert "kognitos_books.language.parser" in loaded  # read and checked ...
    assert not loaded & {"stripe_pay.schema", "stripe.params"}  # ... with the inputs kept
    assert sent(stripe_env)[-1] == ("/v1/customers", {"email": "al@example.com",
                                                      "limit": "100"})


def test_an_edited_file_is_read_and_checked_again(stripe_env, tmp_path):
    kog = write(tmp_path / "get.kog", GET)
    run("run", str(kog))
    write(kog, GET.replace("jo@", "max@"))  # same name, same size
    code, shown, _, _ = run("run", str(kog))
    assert code == 0 and "max@example.com" in shown
    assert sent(stripe_env)[-1][1]["email"] == "max@example.com"
    write(kog, 'get all customers from stripe whose emial is "max@example.com"\n')
    code, _, errors, _ = run("run", str(kog))
    assert code == 2 and 'did you mean "email"' in errors
    assert len(sent(stripe_env)) == 2


def test_a_changed_time_zone_setting_reads_the_dates_again(stripe_env, tmp_path):
    kog = write(tmp_path / "dated.kog", "get all invoices from stripe whose created is "
                                        "2025-01-31\n")
    run("run", str(kog))
    run("run", str(kog), env={"KBOOKS_STRIPE_PAY_TIME_ZONE": "Europe/Paris"})
    run("run", str(kog))
    days = [params["created"] for _, params in sent(stripe_env)]
    utc = {"gte": "1738281600", "lt": "1738368000"}
    paris = {"gte": "1738278000", "lt": "1738364400"}  # an hour earlier
    assert days == [utc, paris, utc]


def test_a_changed_zone_file_reads_the_dates_again(stripe_env, tmp_path):
    zones = tmp_path / "zones"
    (zones / "Test").mkdir(parents=True)
    source = Path("/usr/share/zoneinfo")
    if not (source / "Europe" / "Paris").is_file():
        import tzdata

        source = Path(tzdata.__file__).parent / "zoneinfo"
    shutil.copy(source / "Europe" / "Paris", zones / "Test" / "Zone")
    env = {"PYTHONTZPATH": str(zones)}
    kog = write(tmp_path / "dated.kog", 'in time zone "Test/Zone"\n'
                                        "get all invoices from stripe whose created is "
                                        "2025-01-31\n")
    assert run("run", str(kog), env=env)[0] == 0
    assert run("run", str(kog), env=env)[0] == 0
    # the zone database updated in place: the zone now has Tokyo's rules
    (zones / "Test" / "Zone").write_bytes((source / "Asia" / "Tokyo").read_bytes())
    stamp = time.time() + 5
    os.utime(zones / "Test" / "Zone", (stamp, stamp))
    assert run("run", str(kog), env=env)[0] == 0
    days = [params["created"]["gte"] for _, params in sent(stripe_env)]
    assert days == ["1738278000", "1738278000", "1738249200"]  # Paris, Paris, Tokyo


def test_rows_and_no_rows_are_not_mistaken_for_each_other(stripe_env, tmp_path):
    kog = write(tmp_path / "rows.kog", "create a customer in stripe with\n"
                                       "  the email is the row's email\n")
    rows = write(tmp_path / "rows.csv", "email\nrow@example.com\n")
    code, _, errors, _ = run("run", str(kog), "--each", str(rows))
    assert code == 0, errors
    code, _, errors, _ = run("run", str(kog))  # no rows: "the row" names nothing
    assert code == 2 and "row" in errors
    other = write(tmp_path / "other.csv", "mail\nrow@example.com\n")
    code, _, errors, _ = run("run", str(kog), "--each", str(other))
    assert code == 2 and "email" in errors  # a column the rows do not have
    assert [(path, params["email"]) for path, params in sent(stripe_env)] == [
        ("/v1/customers", "row@example.com")]


@pytest.fixture
def memo_env(memo, monkeypatch):
    monkeypatch.setenv("KBOOKS_MEMO_TOKEN", MEMO_TOKEN)
    return memo


CREATE = 'create a note in memo with\n  the title is "Hi"\n  the stars is 3\n'


def edit_memo(site: Path, old: str, new: str) -> None:
    source = site / "memo_book.py"
    text = source.read_text()
    assert old in text
    write(source, text.replace(old, new))


def test_an_edited_book_is_checked_again(memo_env, tmp_path):
    kog = write(tmp_path / "note.kog", CREATE)
    assert run("run", str(kog))[0] == 0
    code, _, _, loaded = run("run", str(kog))
    assert code == 0 and "kognitos_books.language.parser" not in loaded
    # the book now takes stars as text: the same automation no longer checks
    edit_memo(memo_env, 'Field("stars", "integer")', 'Field("stars", "string")')
    code, _, errors, _ = run("run", str(kog))
    assert code == 2 and '"stars" takes text' in errors


def test_inputs_kept_follow_an_edited_book(memo_env, tmp_path):
    assert run("run", str(write(tmp_path / "note.kog", CREATE)))[0] == 0  # inputs kept
    edit_memo(memo_env, 'Field("stars", "integer")', 'Field("rating", "integer")')
    other = write(tmp_path / "other.kog", CREATE.replace('"Hi"', '"Ho"'))  # never run
    code, _, errors, _ = run("run", str(other))
    assert code == 2 and 'unknown field "stars" for a note' in errors, errors


def test_a_distribution_installed_or_upgraded_is_a_change(memo_env, tmp_path):
    kog = write(tmp_path / "note.kog", CREATE)
    run("run", str(kog))
    assert "kognitos_books.language.parser" not in run("run", str(kog))[3]
    installed = memo_env / "some_sdk-1.0.dist-info"  # a dependency installed ...
    installed.mkdir()
    (installed / "METADATA").write_text("Metadata-Version: 2.1\nName: some-sdk\n"
                                        "Version: 1.0\n")
    assert "kognitos_books.language.parser" in run("run", str(kog))[3]
    assert "kognitos_books.language.parser" not in run("run", str(kog))[3]  # kept again
    installed.rename(memo_env / "some_sdk-1.1.dist-info")  # ... then upgraded
    assert "kognitos_books.language.parser" in run("run", str(kog))[3]
    import stripe as sdk

    found = json.dumps(catalog.fingerprint())
    assert f"stripe-{sdk.VERSION}.dist-info" in found  # the SDK's version is in it


@pytest.mark.parametrize("env", [{"KBOOKS_TRACE": "1"}, {"KBOOKS_DISABLE": "memo"}])
def test_tracing_keeps_nothing_and_disabling_is_a_change(memo_env, stripe_env, tmp_path, env):
    kog = write(tmp_path / "get.kog", GET)
    run("run", str(kog))
    code, _, errors, loaded = run("run", str(kog), env=env)
    assert code == 0, errors
    assert "kognitos_books.language.parser" in loaded
    if "KBOOKS_TRACE" in env:
        assert "kbooks trace: describe_inputs" in errors  # checked afresh, hooks traced


def test_nothing_is_kept_while_a_book_is_broken(memo_env, book_site, stripe_env, kbooks_home,
                                                tmp_path):
    book_site("kbooks-broken", "broken_import", "broken")
    kog = write(tmp_path / "get.kog", GET)
    assert run("run", str(kog))[0] == 0
    assert "kognitos_books.language.parser" in run("run", str(kog))[3]
    assert not kept_files(kbooks_home)


def test_what_is_kept_is_private_and_holds_no_secret(memo_env, stripe_env, kbooks_home,
                                                     tmp_path):
    run("run", str(write(tmp_path / "get.kog", GET)))
    run("run", str(write(tmp_path / "note.kog", CREATE)))
    files = kept_files(kbooks_home)
    assert len(files) >= 4  # the texts, the checked automations, the inputs
    for folder in (kbooks_home / "cache", kbooks_home / "cache" / "runs"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        data = path.read_bytes()
        assert KEY.encode() not in data and KEY[8:].encode() not in data
        assert MEMO_TOKEN.encode() not in data and MEMO_TOKEN[10:].encode() not in data


@pytest.mark.parametrize("damage", ["garbage", "empty", "writable by others",
                                    "a class changed", "another key"])
def test_a_damaged_or_doubtful_kept_file_is_never_used(stripe_env, kbooks_home, tmp_path,
                                                       damage):
    kog = write(tmp_path / "get.kog", GET)
    _, first, _, _ = run("run", str(kog))
    for path in kept_files(kbooks_home):
        if damage == "garbage":
            path.write_bytes(b"\x00not marshal" * 10)
        elif damage == "empty":
            path.write_bytes(b"")
        elif damage == "writable by others":
            os.chmod(path, 0o666)
        else:
            entry = marshal.loads(path.read_bytes())
            if damage == "a class changed":  # a field added since it was kept
                entry["classes"] = [[m, n, None if f is None else [*f, "added"]]
                                    for m, n, f in entry["classes"]]
            else:
                entry["key"] = ["something else"]
            path.write_bytes(marshal.dumps(entry))
    code, again, errors, loaded = run("run", str(kog))
    assert code == 0 and again == first, errors
    assert loaded >= CHECKING  # read, checked and described afresh
    assert sent(stripe_env) == [sent(stripe_env)[0]] * 2


def test_kept_values_come_back_equal_and_only_into_the_host_s_classes(kbooks_home):
    from kognitos_books.checker import Unknown
    from kognitos_books.model import Condition, Field

    digest = catalog.digest(catalog.fingerprint())
    value = {"fields": (Field("amount", "integer", required=True,
                              children=(Field("x", "string"),)),),
             "where": Condition(("email",), "is", Unknown("<the customer's email>")),
             "more": [frozenset({1, 2}), {3}, None, True, 1.5, b"x"]}
    assert catalog.keep(digest, ["a test"], value)
    found = catalog.load_kept(digest, ["a test"])
    assert found == value and type(found["where"].value) is Unknown
    assert catalog.load_kept(digest, ["another"]) is None
    assert catalog.load_kept("0" * 64, ["a test"]) is None  # made from something else

    class Foreign:  # (not the host's: never kept)
        pass

    assert not catalog.keep(digest, ["foreign"], [Foreign()])
    assert not catalog.keep(digest, ["function"], [len])
    assert catalog.load_kept(digest, ["foreign"]) is None


def test_the_quick_run_parser_reads_what_the_full_parser_reads(tmp_path):
    from kognitos_books.cli import _quick_run, build_parser

    for args in (["run", "x.kog"], ["run", "x.kog", "--json", "--rate", "5"],
                 ["run", "--resume", "run_1", "--retries", "3"], ["run", "-"],
                 ["run", "x.kog", "--dry-run", "--each", "r.csv", "--concurrency", "2"]):
        quick = vars(_quick_run(args))
        full = vars(build_parser(None).parse_args(args))
        for name in ("run", "command", "book_commands", "debug"):
            quick.pop(name, None)
            full.pop(name, None)
        assert quick == full, args
    for args in (["run", "x.kog", "--bogus"], ["run", "--rate", "fast"], ["run", "--help"],
                 ["--debug", "run", "x.kog"], ["runs"]):
        assert _quick_run(args) is None, args  # the full parser says what is wrong
