"""Opening the journal: processes that start runs at once on a new kbooks home, or on a
journal written by an older kbooks, all succeed, and every journal ends up with the same
tables and columns."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kognitos_books.journal import JOURNAL_NAME, Journal

PROCESSES = 8
#: Against a journal whose first open raced, 4 to 25 of the 320 opens of 40 rounds failed.
ROUNDS = 40

#: A process that opens the journal of each home it is given (one a line, given to all the
#: processes at once), runs a run with one write step in it, closes the journal, and says
#: "ok" or what went wrong.
OPEN_AND_RUN = """
import sys
from pathlib import Path
from kognitos_books.journal import Journal, new_run_id
print("ready", flush=True)
for line in sys.stdin:
    try:
        journal = Journal(Path(line.strip()))
        run_id = new_run_id()
        with journal.hold(run_id):
            journal.start_run(run_id, "a.kog", "send the invoice\\n", connection=None,
                              mode="test", options={})
            journal.start_step(run_id, 0, 1, 1, "send the invoice", "key-" + run_id)
            journal.finish_step(run_id, 0, 1, "succeeded")
            journal.finish_run(run_id, "succeeded")
        journal.close()
        print("ok", flush=True)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}".replace("\\n", " "), flush=True)
"""

#: The journal as kbooks wrote it before runs had owners.
BEFORE_OWNERS = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, text TEXT NOT NULL, connection TEXT,
    mode TEXT, options TEXT NOT NULL DEFAULT '{}', state TEXT NOT NULL,
    started REAL NOT NULL, finished REAL, error TEXT
);
CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs(id), row INTEGER NOT NULL, step INTEGER NOT NULL,
    line INTEGER NOT NULL, command TEXT NOT NULL, idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL, noun TEXT, record_id TEXT, result TEXT, error TEXT,
    started REAL NOT NULL, finished REAL, PRIMARY KEY (run_id, row, step)
);
INSERT INTO runs (id, source, text, state, started, finished)
    VALUES ('run_old', 'old.kog', 'send the invoice\n', 'succeeded', 1.0, 2.0);
"""


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """:data:`PROCESSES` processes running :data:`OPEN_AND_RUN`, each ready for a home."""
    started = [subprocess.Popen([sys.executable, "-c", OPEN_AND_RUN], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
               for _ in range(PROCESSES)]
    try:
        assert [p.stdout.readline().strip() for p in started] == ["ready"] * PROCESSES
        yield started
    finally:
        for process in started:
            process.stdin.close()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


def at_once(processes: list[subprocess.Popen[str]], home: Path) -> list[str]:
    """Have every process open the journal of ``home`` at the same moment; their answers.
    (Each waits on its own pipe: the gate opens for all within microseconds.)"""
    for process in processes:
        process.stdin.write(f"{home}\n")
    for process in processes:
        process.stdin.flush()
    return [process.stdout.readline().strip() for process in processes]


def columns(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Each table's columns (name, declared type), in order."""
    db = sqlite3.connect(path)
    try:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {table: [(row[1], row[2]) for row in db.execute(f"PRAGMA table_info({table})")]
                for table in tables}
    finally:
        db.close()


def test_processes_starting_runs_at_once_on_a_new_home_all_succeed(processes, tmp_path):
    failures: list[str] = []
    for i in range(ROUNDS):
        home = tmp_path / f"home-{i}"
        failures += [answer for answer in at_once(processes, home) if answer != "ok"]
    assert failures == []
    for i in (0, ROUNDS - 1):
        journal = Journal(tmp_path / f"home-{i}")
        assert [(r.state, r.steps_done) for r in journal.runs()] == [("succeeded", 1)] * 8
        journal.close()


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_a_journal_from_before_runs_had_owners_is_brought_up_to_date_by_all_at_once(
        processes, tmp_path, journal_mode):
    fresh = Journal(tmp_path / "fresh")
    assert fresh.runs() == []
    fresh.close()
    now = columns(fresh.path)
    assert ("owner", "TEXT") in now["runs"]
    for i in range(ROUNDS // 4):
        home = tmp_path / f"home-{i}"
        home.mkdir(mode=0o700)
        old = sqlite3.connect(home / JOURNAL_NAME)
        old.execute(f"PRAGMA journal_mode={journal_mode}")
        old.executescript(BEFORE_OWNERS)
        old.close()
        assert ("owner", "TEXT") not in columns(home / JOURNAL_NAME)["runs"]

        assert at_once(processes, home) == ["ok"] * PROCESSES
        assert columns(home / JOURNAL_NAME) == now  # the same as a new journal's
        journal = Journal(home)
        runs = journal.runs(limit=100)
        assert len(runs) == PROCESSES + 1
        assert journal.run("run_old").state == "succeeded"  # what it held is kept
        journal.close()
