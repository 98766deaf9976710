"""Secrets: the API key lives in the credential store and nowhere else.

One connection is installed with a key found nowhere else; then every command runs as a
real process (install, books, connections, procedures, runs succeeding and failing, dry
runs, --json, --debug tracebacks, KBOOKS_TRACE=1, the SDK's own debug log, a resume), a
cassette is recorded through ``scrubbing_vcr``, and every byte they leave is scanned:
standard output and error, the sandbox's log and request log, the cassette, the journal
(runs.sqlite and its -wal and -shm files, caught while open) and every other file under
KBOOKS_HOME. Neither the key, nor its secret part, nor any 8 characters of it may appear.
Every object that holds the key masks it in ``repr`` and ``str``. Processes run with umask 0,
and after each one the home is 0700 and each file in it 0600. A server at a wrong ``api_base``
that echoes the request's headers back does not bring the key into the SDK's log or errors.
"""

from __future__ import annotations

import base64
import http.server
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest
import stripe
from reliability_support import (
    BASE_ENV,
    KEY_ENV,
    LIVE_KEY,
    RETRIES_ENV,
    TEST_KEY,
    SandboxProcess,
    control,
    files_under,
    mode,
)

from kognitos_books import BookError, CredentialsRejected, Runtime, Secret, mask
from kognitos_books import journal as journal_module
from kognitos_books.credentials import CredentialStore
from kognitos_books.testing import scrubbing_vcr

SECRET = TEST_KEY.removeprefix("sk_test_")
#: What must never show: the key, its secret part, any 8 characters in a row of it, and the
#: key as HTTP basic auth or base64 would carry it.
FRAGMENTS = sorted({TEST_KEY, SECRET, SECRET[:-4],
                    *(SECRET[i:i + 8] for i in range(len(SECRET) - 7)),
                    base64.b64encode(TEST_KEY.encode()).decode(),
                    base64.b64encode(f"{TEST_KEY}:".encode()).decode()})

TOUR = """\
create a customer in stripe with
  the email is "secret.tour@example.com"
  the metadata's plan is "gold"
create a product in stripe with
  the name is "Secret plan"
create a price in stripe with
  the unit_amount is 1500
  the currency is "usd"
  the product is the product's id
create an invoice in stripe with
  the customer is the customer's id
add an item to the invoice with
  the amount is $15.00
send the invoice
pay the invoice
get a customer from stripe whose email is "secret.tour@example.com"
get all invoices from stripe whose customer is the customer's id
"""
FAILING = 'create a customer in stripe with\n  the name is "before"\n' \
          'get a customer from stripe whose id is "cus_doesnotexist"\n'


def leaks(data: bytes | str) -> list[str]:
    """The fragments of the key in ``data``."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    raw = data if isinstance(data, bytes) else data.encode()
    return [f for f in FRAGMENTS if f in text or f.encode() in raw]


def check_private(home: Path) -> None:
    """The home and every directory in it 0700, every file 0600."""
    assert mode(home) == 0o700, home
    for path in home.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), (path, oct(mode(path)))


@attrs.define
class Transcript:
    """Everything the processes of the test printed, by command."""

    exe: str
    home: Path
    env: dict[str, str]
    outputs: list[tuple[tuple[str, ...], str, str]] = attrs.field(factory=list)

    def __call__(self, *args: str, code: int = 0, input: str | None = None,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([self.exe, *args], input=input, capture_output=True, text=True,
                              env={**self.env, **(env or {})}, umask=0, timeout=60)
        self.outputs.append((args, done.stdout, done.stderr))
        assert done.returncode == code, (args, done.stdout, done.stderr)
        check_private(self.home)
        return done

    def leaks(self, *homes: Path) -> dict[str, list[str]]:
        """The fragments of the key in what each command printed and in each file under
        the home (and ``homes``) but the credential store, by where they were found."""
        found: dict[str, list[str]] = {}
        for args, out, err in self.outputs:
            found[f"stdout of kbooks {' '.join(args)}"] = leaks(out)
            found[f"stderr of kbooks {' '.join(args)}"] = leaks(err)
        for home in (self.home, *homes):
            for path in files_under(home):
                if path.name != "credentials.json":
                    found[str(path)] = leaks(path.read_bytes())
        return found

    def each(self, *calls: tuple[tuple[str, ...], dict[str, Any]]) -> list[Any]:
        """Independent commands, side by side (they share only the journal)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda c: self(*c[0], **c[1]), calls))


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[SandboxProcess]:
    """A sandbox in its own process, logging a line per request (its log is scanned)."""
    server = SandboxProcess(log=tmp_path / "sandbox.log")
    try:
        yield server
    finally:
        server.stop()


def test_the_key_never_leaves_the_credential_store(sandbox_process, kbooks_home, tmp_path,
                                                   monkeypatch, caplog):
    for name in (KEY_ENV, BASE_ENV, RETRIES_ENV):
        monkeypatch.delenv(name, raising=False)
    url = sandbox_process.url
    tour, failing = tmp_path / "tour.kog", tmp_path / "failing.kog"
    tour.write_text(TOUR)
    failing.write_text(FAILING)
    bad_rows = tmp_path / "rows.csv"
    bad_rows.write_text('email\n"unterminated\n')
    broken_home = tmp_path / "broken-home"
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe
    kb = Transcript(exe, kbooks_home, {**os.environ, "STRIPE_LOG": "debug"})

    kb("install", "stripe_pay", "--set", f"api_base={url}", input=TEST_KEY + "\n",
       env={"KBOOKS_TRACE": "1"})
    store = kbooks_home / "credentials.json"
    assert leaks(store.read_bytes()), "the scan must see the key where it is"
    broken_home.mkdir(mode=0o700)
    shutil.copy2(store, broken_home / "credentials.json")
    (broken_home / "runs.sqlite").write_bytes(b"this is not a database" * 100)
    os.chmod(broken_home / "runs.sqlite", 0o600)

    kb.each(
        (("books",), {}),
        (("connections",), {}),
        (("connections", "--json"), {}),
        (("procedures", "stripe_pay"), {}),
        (("run", str(tour)), {"env": {"KBOOKS_TRACE": "1"}}),
        (("run", str(tour), "--json"), {}),
        (("run", str(tour), "--dry-run"), {}),
        (("--debug", "run", str(failing)), {"code": 1}),
        # tracebacks while the key is loaded: Stripe's refusal, a rejected key, no network
        (("--debug", "call", "get a customer from stripe", "id=cus_nothere"), {"code": 1}),
        (("--debug", "call", "get all customers from stripe"),
         {"code": 1, "env": {KEY_ENV: LIVE_KEY}}),
        (("--debug", "call", "get all customers from stripe"),
         {"code": 1, "env": {BASE_ENV: "http://127.0.0.1:9", RETRIES_ENV: "0"}}),
        (("--debug", "run", str(tour), "--each", str(bad_rows)), {"code": 2}),
        (("call", "create a customer in stripe", "email=call@example.com", "--json"), {}),
        (("install", "stripe_pay", "--connection", "typo"),
         {"code": 1, "input": TEST_KEY + "-\n"}),
    )
    # an unexpected failure (a damaged journal) after the key was read, with --debug
    crashed = kb("--debug", "run", str(tour), code=2, env={"KBOOKS_HOME": str(broken_home)})
    assert "Traceback" in crashed.stderr and "DatabaseError" in crashed.stderr
    told = [line for line in crashed.stderr.splitlines() if line.startswith("kbooks:")]
    assert told == [f"kbooks: error: the run journal {broken_home / 'runs.sqlite'} cannot be "
                    "used: file is not a database"]  # once, not again when it exits
    runs = kb("runs", "--json")
    failed_run = next(r["id"] for r in json.loads(runs.stdout) if r["state"] == "failed")
    kb("runs")
    kb("run", "--resume", failed_run, code=1)
    kb("run", "-", input=TOUR, env={KEY_ENV: TEST_KEY, BASE_ENV: url, "KBOOKS_TRACE": "1"})
    assert any("Traceback" in err for _, _, err in kb.outputs)  # --debug did show them
    assert any("kbooks trace: connect(" in err for _, _, err in kb.outputs)
    assert any("message='Request to Stripe api'" in err for _, _, err in kb.outputs)

    # In this process: a cassette recorded through scrubbing_vcr, the Python log, and the
    # journal scanned while it is open (its -wal file exists only then).
    caplog.set_level(logging.DEBUG)
    cassettes = tmp_path / "cassettes"
    rt = Runtime(home=kbooks_home)
    monkeypatch.setattr(journal_module, "WRITE_DELAY", 3600)  # the run's writes stay in its log
    with scrubbing_vcr(cassettes, record_mode="all").use_cassette("secrets.yaml"):
        assert rt.run(TOUR.replace("secret.tour", "cassette")).ok
    logs = {str(path): path.read_bytes() for path in (kbooks_home / "locks").iterdir()}
    assert any(b"cassette" in kept for kept in logs.values())
    rt.journal.flush()  # and now in the journal file
    wal = kbooks_home / "runs.sqlite-wal"
    assert wal.exists() and wal.stat().st_size > 0
    check_private(kbooks_home)

    found = kb.leaks(broken_home)
    for path in files_under(cassettes):
        found[str(path)] = leaks(path.read_bytes())
    for path, kept in logs.items():
        found[f"{path} before it was committed"] = leaks(kept)
    found["python log"] = leaks(caplog.text)
    sandbox_process.stop()
    found["sandbox log"] = leaks(sandbox_process.log_path.read_bytes())  # type: ignore[union-attr]
    assert {name: hit for name, hit in found.items() if hit} == {}
    assert {str(kbooks_home / "runs.sqlite"), str(wal), str(cassettes / "secrets.yaml"),
            "sandbox log"} <= set(found)
    rows = sqlite3.connect(kbooks_home / "runs.sqlite").execute(
        "SELECT COUNT(*) FROM steps").fetchone()
    assert rows[0] > 20  # the journal did record the runs that were scanned


class EchoHeaders(http.server.BaseHTTPRequestHandler):
    """A server at a wrong ``api_base``: it answers every request with the request's own
    headers (the key, in ``Authorization``, among them), with the status its path starts
    with, as text (``/text/500/v1/...``) or as the message of a Stripe error
    (``/json/400/v1/...``)."""

    def answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _, kind, status, _ = self.path.split("/", 3)
        echoed = "".join(f"{name}: {value}\n" for name, value in self.headers.items())
        body = (json.dumps({"error": {"type": "invalid_request_error", "message": echoed}})
                if kind == "json" else echoed).encode()
        self.send_response(int(status))
        self.send_header("Content-Type", "application/json" if kind == "json" else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    """The URL of an :class:`EchoHeaders` server on a free port, stopped after the test."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHeaders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_what_the_sdk_logs_and_the_errors_mask_a_key_the_server_echoes(
        sandbox, echo, kbooks_home, tmp_path, monkeypatch):
    Runtime(home=kbooks_home).install("stripe_pay", credentials={"api_key": TEST_KEY},
                                      settings={"api_base": sandbox.url})
    for name in (KEY_ENV, BASE_ENV):
        monkeypatch.delenv(name)  # the installed key, at the echoing server
    kog = tmp_path / "list.kog"
    kog.write_text("get all customers from stripe\n")
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe
    kb = Transcript(exe, kbooks_home, {**os.environ, RETRIES_ENV: "0"})
    call = ("call", "get all customers from stripe")
    run = ("run", str(kog), "--retries", "0")
    for level, answer, args in [("debug", "text/400", call), ("debug", "text/500", call),
                                ("debug", "json/400", call), ("debug", "text/400", run),
                                ("info", "text/500", run)]:
        done = kb(*args, code=1, env={"STRIPE_LOG": level, BASE_ENV: f"{echo}/{answer}"})
        lines = done.stderr.splitlines()
        # STRIPE_LOG still shows what the SDK does, each line once, with the key masked,
        # and so does the error (the echoed headers are its message)
        assert sum("message='Request to Stripe api'" in line for line in lines) == 1, lines
        assert sum("message='Stripe API response'" in line for line in lines) == 1, lines
        bodies = [line for line in lines if "message='API response body'" in line]
        if level == "debug":
            assert len(bodies) == 1 and f"Bearer {mask(TEST_KEY)}" in bodies[0], lines
        else:
            assert bodies == []
        told = [line for line in done.stdout.splitlines() + lines if line not in bodies]
        assert any(f"Authorization: Bearer {mask(TEST_KEY)}" in line for line in told), told
    found = kb.leaks()
    assert {name: hit for name, hit in found.items() if hit} == {}
    assert str(kbooks_home / "runs.sqlite") in found  # the runs' errors were scanned


def test_the_python_log_masks_a_key_the_server_echoes(sandbox, echo, kbooks_home, monkeypatch,
                                                      caplog, capsys):
    monkeypatch.setenv(BASE_ENV, f"{echo}/text/400")
    monkeypatch.setattr(stripe, "log", "debug")  # the SDK's console log, asked for in code
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BookError) as refused:
        next(iter(Runtime(home=kbooks_home).call("get all customers from stripe")))
    printed = capsys.readouterr().err
    for shown in (caplog.text, printed, str(refused.value), repr(refused.value)):
        assert f"Bearer {mask(TEST_KEY)}" in shown
        assert leaks(shown) == []
    assert "message='API response body'" in caplog.text
    assert printed.count("message='API response body'") == 1


def test_the_request_log_never_holds_the_key(sandbox, rt):
    rt.run(TOUR)
    rt.run("create a customer in stripe with\n  the metadata's note is "
           f'"{TEST_KEY}"\n')  # even a key pasted into a value is masked there
    assert leaks(repr(control(sandbox.url, "requests"))) == []


def reachable(root: object, limit: int = 4000) -> Iterator[object]:
    """Objects reachable from ``root`` through attributes, slots, attrs fields and
    containers (bounded), the key's own string excepted."""
    seen: set[int] = set()
    todo = [root]
    while todo and len(seen) < limit:
        item = todo.pop()
        if id(item) in seen or isinstance(item, (str, bytes, int, float, bool, type(None))):
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            todo.extend(item)
        elif not isinstance(item, type) and type(item).__module__.split(".")[0] in (
                "kognitos_books", "stripe_pay", "stripe", "requests", "urllib3"):
            todo.extend(getattr(item, "__dict__", {}).values())
            for cls in type(item).__mro__:
                for slot in getattr(cls, "__slots__", ()):
                    if isinstance(slot, str) and hasattr(item, slot):
                        todo.append(getattr(item, slot))


def test_everything_that_holds_the_key_masks_it(sandbox, rt, kbooks_home, monkeypatch):
    rt.install("stripe_pay", connection="other", credentials={"api_key": TEST_KEY},
               settings={"api_base": sandbox.url})
    result = rt.run(TOUR)
    connection = rt.connect("stripe_pay")
    session = connection.client
    errors: list[Exception] = []
    monkeypatch.setenv(KEY_ENV, LIVE_KEY)
    try:
        Runtime(home=kbooks_home).call("get all customers from stripe").__iter__().__next__()
    except BookError as exc:
        errors.append(exc)
    try:
        Runtime(home=kbooks_home).install("stripe_pay", credentials={"api_key": LIVE_KEY},
                                          settings={"api_base": sandbox.url})
    except CredentialsRejected as exc:
        errors.append(exc)
    assert len(errors) == 2
    holders = [Secret(TEST_KEY), connection, session, session.sdk, rt, rt.store, result,
               CredentialStore(kbooks_home).get("stripe_pay"), *errors]
    checked = 0
    for holder in holders:
        for item in reachable(holder):
            for shown in (repr(item), str(item)):
                assert leaks(shown) == [], (type(item), shown[:200])
            checked += 1
    assert checked > 100  # the walk reached the SDK client's insides
    live_secret = LIVE_KEY.removeprefix("sk_live_")
    assert all(live_secret[:8] not in str(e) for e in errors)
