"""Bulk runs of the Stripe Pay book against the sandbox: once per row, paced under the
service's limit, 429s absorbed, failed rows reported and journaled while the others finish,
a progress line on a terminal only, and resumes that create nothing twice.

Row counts are small (30) so that each test takes a second or two; bench/bulk_run.py
measures the same paths over a thousand rows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from conftest import emails, statuses

from kognitos_books import Runtime

CREATE = "create a customer in stripe with\n  the email is the row's email\n"
ROWS = [{"email": f"row{i:02d}@example.com"} for i in range(30)]


def kbooks_exe() -> str:
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe, "the kbooks console script is not installed next to this Python"
    return exe


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """create.kog and its 30 rows as CSV."""
    kog = tmp_path / "create.kog"
    kog.write_text(CREATE)
    rows = tmp_path / "rows.csv"
    rows.write_text("email\n" + "".join(f"{r['email']}\n" for r in ROWS))
    return kog, rows


def created_once(sandbox) -> bool:
    """Every row's customer exists, and exactly once."""
    return sorted(emails(sandbox)) == sorted(r["email"] for r in ROWS)


def test_rows_over_the_limit_all_succeed_and_the_429s_stay_hidden(sandbox, quick_backoff):
    sandbox.set_faults(rate_limit=20)
    failed = []
    rt = Runtime()
    result = rt.run(CREATE, rows=ROWS, rate=100,
                    on_step=lambda s: s.error and failed.append(s))
    assert result.ok and result.failed_rows == [] and failed == []
    assert created_once(sandbox)
    assert statuses(sandbox)[429] > 0  # the limit was met, and waited out
    assert rt.journal.run(result.run_id).state == "succeeded"


def test_a_pace_at_the_limit_keeps_under_it(sandbox):
    sandbox.set_faults(rate_limit=60)
    started = time.monotonic()
    result = Runtime().run(CREATE, rows=ROWS, rate=60)
    elapsed = time.monotonic() - started
    assert result.ok and created_once(sandbox)
    assert statuses(sandbox)[429] <= 3  # rare: only when requests bunch up on the way
    assert elapsed > 29 / 60  # evenly paced: the first goes at once, no burst after it


def test_the_default_pace_is_the_modes_limit_and_the_concurrency_follows_it(sandbox):
    rt = Runtime()
    result = rt.run(CREATE, rows=ROWS[:2])
    assert result.ok
    options = rt.journal.run(result.run_id).options
    assert options["rate"] == 25 and options["concurrency"] is None  # test mode; automatic


def test_cli_absorbs_429s_and_reports_no_error(sandbox, files):
    kog, rows = files
    sandbox.set_faults(rate_limit=20)  # under the default pace: some 429s are certain
    out = subprocess.run([kbooks_exe(), "run", str(kog), "--each", str(rows)],
                         capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert "Done: 30 steps" in out.stdout
    assert "error" not in out.stderr.lower() and "rate" not in out.stderr.lower()
    assert created_once(sandbox) and statuses(sandbox)[429] > 0


def test_failed_rows_are_reported_and_journaled_and_the_others_done(sandbox, files,
                                                                    tmp_path):
    bad = {3, 16}
    # a value only Stripe knows to refuse (invoice prefixes are uppercase letters and digits)
    with_prefix = "create a customer in stripe with\n  the email is the row's email\n" \
                  "  the invoice prefix is the row's prefix\n"
    kog = tmp_path / "prefix.kog"
    kog.write_text(with_prefix)
    csv = tmp_path / "prefix.csv"
    csv.write_text("email,prefix\n" + "".join(
        f"{r['email']},{'lots' if i in bad else f'ROW{i:02d}'}\n" for i, r in enumerate(ROWS)))
    out = subprocess.run([kbooks_exe(), "run", str(kog), "--each", str(csv), "--json",
                          "--rate", "0"],
                         capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert out.returncode == 1
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    summary = lines[-1]
    assert summary["failed_rows"] == [4, 17] and summary["rows"] == 30
    failures = [x for x in lines[:-1] if x["state"] == "failed"]
    assert sorted(x["row"] for x in failures) == [4, 17]
    assert all("Invalid invoice_prefix" in x["error"] for x in failures)
    assert sorted(emails(sandbox)) == sorted(r["email"] for i, r in enumerate(ROWS)
                                             if i not in bad)
    rt = Runtime()
    run = rt.journal.run(summary["run_id"])
    assert run.state == "failed" and run.steps_done == 28 and run.steps_failed == 2
    journaled = {s.row: s for s in rt.journal.steps(summary["run_id"])}
    # Stripe refused them outright: they took no effect (a resume sends them with new keys)
    assert {r for r, s in journaled.items() if s.state == "refused"} == bad
    assert "Invalid invoice_prefix" in journaled[3].error


def test_rows_whose_values_cannot_be_taken_are_refused_before_anything_is_sent(
        sandbox, tmp_path):
    kog = tmp_path / "balance.kog"
    kog.write_text("create a customer in stripe with\n  the email is the row's email\n"
                   "  the balance is the row's balance\n")
    csv = tmp_path / "balance.csv"
    csv.write_text("email,balance\n" + "".join(
        f"{r['email']},{'lots' if i in (3, 16) else i}\n" for i, r in enumerate(ROWS)))
    out = subprocess.run([kbooks_exe(), "run", str(kog), "--each", str(csv)],
                         capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert out.returncode == 2, out.stderr
    assert "2 of 30 rows cannot run; nothing was sent" in out.stderr
    assert 'row 4, line 3: "the row\'s balance" is \'lots\': "balance" takes a whole ' \
           'number, not text "lots"' in out.stderr
    assert "row 17, line 3" in out.stderr
    assert "Traceback" not in out.stderr
    assert emails(sandbox) == []


def test_an_interrupted_bulk_run_resumes_without_creating_anything_twice(sandbox):
    rt = Runtime()

    def stop_after_ten(progress) -> None:
        if progress.done == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rt.run(CREATE, rows=ROWS, rate=0, concurrency=4, on_progress=stop_after_ten)
    [run] = rt.journal.runs()
    assert run.state == "interrupted"
    made = len(emails(sandbox))
    assert 10 <= made < 30  # rows in flight finished their step; no new row began
    result = Runtime().resume(run.id)
    assert result.ok and created_once(sandbox)
    restored = [s for s in result.steps if s.state == "restored"]
    assert len(restored) == made  # taken from the journal, not sent again
    posts = [e for e in sandbox.requests() if e["method"] == "POST"]
    assert len({e["idempotency_key"] for e in posts}) == 30


def test_a_killed_cli_bulk_run_resumes_without_creating_anything_twice(sandbox, files):
    kog, rows = files
    sandbox.set_faults(latency_ms=40)
    env = dict(os.environ)
    process = subprocess.Popen([kbooks_exe(), "run", str(kog), "--each", str(rows),
                                "--concurrency", "4", "--rate", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 20
        while len(emails(sandbox)) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)  # no chance to write anything more
    finally:
        process.wait(timeout=10)
    assert 8 <= len(emails(sandbox)) < 30
    runs = json.loads(subprocess.run([kbooks_exe(), "runs", "--json"], capture_output=True,
                                     text=True, env=env, timeout=60).stdout)
    [run] = runs
    out = subprocess.run([kbooks_exe(), "run", "--resume", run["id"], "--json"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stdout
    assert created_once(sandbox)
    # a request in flight when the process died was sent again with its key and replayed
    created = [e for e in sandbox.requests()
               if e["method"] == "POST" and e["status"] == 200 and not e["replayed"]]
    assert len(created) == 30


def test_the_progress_line_shows_on_a_terminal_and_not_when_piped(sandbox, files):
    kog, rows = files
    sandbox.set_faults(latency_ms=10)  # a run of about half a second: a few redraws
    command = [kbooks_exe(), "run", str(kog), "--each", str(rows), "--rate", "0"]
    child = pexpect.spawn(command[0], command[1:], env=dict(os.environ), encoding="utf-8",
                          timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    screen = child.before
    bars = re.findall(r"\r\[([#-]{24})\] +(\d+)/30 rows +[\d.]+/s +\S+ left +0 failed",
                      screen)
    assert len(bars) >= 2 and bars[-1] == ("#" * 24, "30")
    assert [int(done) for _, done in bars] == sorted(int(done) for _, done in bars)
    assert "Done: 30 steps" in screen.split(bars[-1][0])[-1]  # on a line of its own
    sandbox.reset()
    piped = subprocess.run(command, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ))
    assert piped.returncode == 0 and "Done: 30 steps" in piped.stdout
    assert "rows" not in piped.stderr and "\r" not in piped.stderr + piped.stdout


def test_a_request_cut_short_by_a_dying_client_is_not_acted_on(sandbox):
    # What lets a killed run's in-flight request be repeated whole under its key (above).
    body = b"email=cut%40example.com&name=Jo"
    with socket.create_connection(("127.0.0.1", sandbox.port)) as sock:
        sock.sendall(b"POST /v1/customers HTTP/1.1\r\nHost: sandbox\r\n"
                     b"Authorization: Bearer sk_test_cutcutcut\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Idempotency-Key: cut-1\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:12])
    time.sleep(0.3)  # the server has long read what came by then
    assert sandbox.requests() == [] and emails(sandbox) == []


def test_rows_given_from_python_may_hold_any_value(sandbox):
    """Rows passed to Runtime.run hold what Python code has (numbers, dates); the journal
    keeps them as text, and a resume runs with what was kept."""
    import datetime
    import decimal

    rows = [{"email": f"py{i}@example.com", "joined": datetime.date(2026, 1, i + 1),
             "score": decimal.Decimal("1.5")} for i in range(3)]
    rt = Runtime()
    assert rt.run(CREATE, rows=rows).ok
    [run] = rt.journal.runs()
    assert run.state == "succeeded"
    assert run.options["rows"][0] == {"email": "py0@example.com", "joined": "2026-01-01",
                                      "score": "1.5"}
    assert sorted(emails(sandbox)) == [f"py{i}@example.com" for i in range(3)]
