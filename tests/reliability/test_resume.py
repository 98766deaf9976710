"""Resume: a run killed mid-way (``kill -9``) is shown as stopped, and ``kbooks run --resume``
finishes it without creating anything twice, even the step that was in flight."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import stripe
from reliability_support import RETRIES_ENV, TEST_KEY, counts, logged, wait_for

from kognitos_books import ConfigurationError, Runtime
from kognitos_books import journal as journal_module
from kognitos_books.automation import RetryPolicy
from kognitos_books.journal import Journal, step_key

PAIRS = 20
PAIR = """\
create a customer in stripe with
  the email is "r{i}@example.com"
create an invoice in stripe with
  the customer is the customer's id
"""
TEXT = "".join(PAIR.format(i=i) for i in range(PAIRS))


def settle(url: str) -> None:
    """Wait (bounded) until a request the killed process had sent has finished in the
    sandbox: its log stops growing."""
    seen = -1
    for _ in range(50):
        now = len(logged(url))
        if now == seen:
            return
        seen = now
        time.sleep(0.1)


def test_a_killed_run_resumes_and_creates_nothing_twice(sandbox, kbooks, kbooks_home, tmp_path):
    sandbox.set_faults(latency_ms=60)  # slow enough to be killed half-way
    kog = tmp_path / "slow.kog"
    kog.write_text(TEXT)
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    child = subprocess.Popen([exe, "run", str(kog)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=dict(os.environ))
    journal = Journal(kbooks_home)
    try:
        assert wait_for(lambda: journal.path.exists() and journal.runs()), "no run started"
        run_id = journal.runs()[0].id

        # while it runs: shown as running, and nobody else may resume it
        assert [(r.id, r.state) for r in journal.runs()] == [(run_id, "running")]
        with pytest.raises(ConfigurationError, match=f"run {run_id} is running in another "
                           "process") as refused:
            Runtime(home=kbooks_home).resume(run_id)
        assert refused.value.exit_code == 2

        assert wait_for(lambda: counts(sandbox.url)["customer"] >= 6 or child.poll() is not None)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    sandbox.set_faults(latency_ms=0)
    settle(sandbox.url)
    in_flight = [s for s in journal.steps(run_id) if s.state == "started"]
    done_before = [s for s in journal.steps(run_id) if s.state == "succeeded"]
    assert 0 < len(done_before) < 2 * PAIRS

    shown = kbooks("runs")
    assert shown.returncode == 0
    assert re.search(rf"^{run_id} .* stopped +{len(done_before)} done, 0 failed ",
                     shown.stdout, re.M), shown.stdout

    resumed = kbooks("run", "--resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming {run_id}." in resumed.stderr
    assert "Using stripe_pay in test mode." in resumed.stderr
    assert resumed.stdout.count(" done ") == len(done_before)
    assert json.loads(kbooks("runs", "--json").stdout)[0]["state"] == "succeeded"

    assert counts(sandbox.url)["customer"] == PAIRS
    assert counts(sandbox.url)["invoice"] == PAIRS
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": sandbox.url})
    customers = {c.id: c.email for c in client.v1.customers.list({"limit": 100})
                 .auto_paging_iter()}
    assert sorted(customers.values()) == sorted(f"r{i}@example.com" for i in range(PAIRS))
    invoices = list(client.v1.invoices.list({"limit": 100}).auto_paging_iter())
    # every invoice went to its own customer: references were restored across the kill
    assert sorted(i.customer for i in invoices) == sorted(customers)

    acted: dict[str, int] = {}
    for entry in logged(sandbox.url):
        if entry["method"] == "POST" and entry["status"] == 200 and not entry["replayed"]:
            acted[entry["idempotency_key"]] = acted.get(entry["idempotency_key"], 0) + 1
    assert acted == {step_key(run_id, 0, n): 1 for n in range(1, 2 * PAIRS + 1)}
    for step in in_flight:  # sent again with its key: answered, not done again
        assert acted[step.idempotency_key] == 1
    print(f"\nkilled after {len(done_before)} of {2 * PAIRS} steps, {len(in_flight)} in flight")

    with pytest.raises(ConfigurationError, match="already finished successfully"):
        Runtime(home=kbooks_home).resume(run_id)


def test_a_lost_answer_is_replayed_on_resume(rt, sandbox, kbooks_home, monkeypatch):
    """The step took effect but its answer never came: resuming sends it again with the same
    key and Stripe answers with the first result."""
    monkeypatch.setenv(RETRIES_ENV, "0")
    sandbox.set_faults(drop_rate=1.0)
    text = PAIR.format(i=0)
    result = rt.run(text, retry=RetryPolicy(retries=0))
    assert [s.state for s in result.steps] == ["failed", "skipped"]
    assert "could not reach Stripe" in result.steps[0].error
    assert counts(sandbox.url)["customer"] == 1  # it acted all the same
    assert rt.journal.run(result.run_id).state == "failed"

    sandbox.set_faults(drop_rate=0)
    resumed = Runtime(home=kbooks_home).resume(result.run_id)
    assert resumed.ok
    assert counts(sandbox.url)["customer"] == 1 and counts(sandbox.url)["invoice"] == 1
    customer_posts = [e for e in logged(sandbox.url) if e["path"] == "/v1/customers"]
    assert [(e["fault"], e["replayed"]) for e in customer_posts] == [("drop", False),
                                                                     (None, True)]
    assert resumed.steps[1].result["customer"] == resumed.steps[0].result.id


def test_an_interrupted_run_is_recorded_as_such_and_resumes(rt, sandbox, kbooks_home):
    def stop(outcome) -> None:
        if outcome.step == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rt.run(PAIR.format(i=0) + PAIR.format(i=1), on_step=stop)
    (info,) = rt.journal.runs()
    assert info.state == "interrupted"
    assert Runtime(home=kbooks_home).resume(info.id).ok
    assert counts(sandbox.url)["customer"] == 2 and counts(sandbox.url)["invoice"] == 2


def test_running_means_a_live_process_holds_the_run(kbooks_home):
    journal = Journal(kbooks_home)
    journal.start_run("run_a", "a.kog", "send the invoice\n", connection=None, mode="test",
                      options={})
    assert journal.run("run_a").state == "stopped"  # recorded as running, held by nobody
    with journal.hold("run_a"):
        assert journal.run("run_a").state == "running"
        assert journal.alive("run_a") is True
        other = Journal(kbooks_home)  # another process, as far as locks go
        assert other.run("run_a").state == "running"
        with pytest.raises(ConfigurationError, match="running in another process"), \
                other.hold("run_a", resume=True):
            pass
        with pytest.raises(ConfigurationError, match="already running here"), \
                journal.hold("run_a"):
            pass
    # the block ended without recording an end: nothing runs it any more
    assert journal.run("run_a").state == "interrupted"
    with other.hold("run_a", resume=True):  # taken over
        assert journal.run("run_a").state == "running"
        assert journal.alive("run_a") is True
        other.finish_run("run_a", "succeeded")
    # written by the other's writer thread a moment later
    assert wait_for(lambda: journal.run("run_a").state == "succeeded")
    with pytest.raises(ConfigurationError, match="already finished successfully"), \
            journal.hold("run_a", resume=True):
        pass
    other.close()
    journal.close()


DIE_HOLDING = """
import os, sys
from pathlib import Path
from kognitos_books import journal as journal_module
if sys.argv[3] == "log only":
    journal_module.WRITE_DELAY = 3600  # its writer never gets to commit: all is in its log
journal = journal_module.Journal(Path(sys.argv[1]))
with journal.hold("run_a"):
    journal.start_run("run_a", "a.kog", "send the invoice\\n", connection=None, mode="test",
                      options={})
    journal.start_step("run_a", 0, 1, 1, "send the invoice", "key-1")
    if sys.argv[2] == "fork":
        # a child that outlives its parent must not keep the parent's runs looking alive
        if os.fork() == 0:
            # (each line in one write, so that the two processes' lines never interleave)
            os.write(1, f"child {os.getpid()}\\n".encode())
            import time; time.sleep(30)
            os._exit(0)
    os.write(1, b"holding\\n")
    sys.stdin.readline()
    os._exit(0)  # dies without a word: no finally, no exit handlers
"""


@pytest.mark.parametrize("how", ["plain", "fork"])
@pytest.mark.parametrize("written", ["committed", "log only"])
def test_a_run_whose_process_died_reads_as_stopped_and_can_be_taken_over(kbooks_home, how,
                                                                         written):
    child = subprocess.Popen([sys.executable, "-c", DIE_HOLDING, str(kbooks_home), how,
                              written], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    grandchild = None
    try:
        for _ in range(2 if how == "fork" else 1):
            said = child.stdout.readline().split()
            if said[:1] == ["child"]:
                grandchild = int(said[1])
        journal = Journal(kbooks_home)
        if written == "committed":  # by its writer thread, a moment after the step began
            assert wait_for(lambda: journal.run("run_a") is not None)
            assert journal.run("run_a").state == "running"
            with pytest.raises(ConfigurationError, match="running in another process"), \
                    journal.hold("run_a", resume=True):
                pass
        else:  # while it lives, what it has not committed is its own business
            time.sleep(0.2)
            assert journal.runs() == []
        locks = [path for path in (kbooks_home / "locks").iterdir()
                 if path.stem != journal.owner()]
        assert len(locks) == 1  # one file for the process, none for the run
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(timeout=10) == 0
        assert journal.run("run_a").state == "stopped"
        # what it began is known, whether committed or only in its log
        assert [(s.command, s.state, s.idempotency_key) for s in journal.steps("run_a")] == [
            ("send the invoice", "started", "key-1")]
        assert not locks[0].exists()  # a dead process's log is taken in and removed
        with journal.hold("run_a", resume=True):
            assert journal.run("run_a").state == "running"
            journal.finish_run("run_a", "succeeded")
        assert journal.run("run_a").state == "succeeded"
    finally:
        if child.poll() is None:
            child.kill()
        if grandchild is not None:  # it outlives the child, as meant: stopped by its own pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(grandchild, signal.SIGKILL)
    assert (grandchild is not None) == (how == "fork")


def test_runs_leave_no_file_behind_and_a_closed_journal_none(rt, sandbox, kbooks_home):
    for i in range(5):
        assert rt.run(f'create a customer in stripe with\n  the email is "n{i}@example.com"\n').ok
    assert len(list((kbooks_home / "locks").iterdir())) == 1  # this process's own
    rt.journal.close()
    assert list((kbooks_home / "locks").iterdir()) == []
    assert [r.state for r in Journal(kbooks_home).runs()] == ["succeeded"] * 5


DIE_SENDING = """
import os, sys
from pathlib import Path
from kognitos_books import Runtime
from kognitos_books import journal as journal_module
journal_module.WRITE_DELAY = 3600  # nothing reaches the journal file but through the log
dispatch = Runtime.dispatch
sent = []
def die_sending(self, call, **kwargs):
    sent.append(call.verb)
    if len(sent) == int(sys.argv[2]):
        os._exit(0)  # dies as the request goes out
    return dispatch(self, call, **kwargs)
Runtime.dispatch = die_sending
Runtime(home=Path(sys.argv[1])).run(sys.argv[3])
"""


@pytest.mark.parametrize("dies_at", [1, 2, 3])
def test_what_a_run_began_outlives_its_process_if_it_wrote(sandbox, kbooks_home, dies_at):
    """A process dies at the moment it sends a request: a write is known to have begun
    (with its idempotency key), so a resume re-sends it; a read, not even its run."""
    Runtime(home=kbooks_home).call("create a customer in stripe", email="w@example.com")
    text = ('get a customer from stripe whose email is "w@example.com"\n'
            'create a customer in stripe with\n  the email is "w@example.com"\n'
            'get a customer from stripe whose email is "w@example.com"\n')
    subprocess.run([sys.executable, "-c", DIE_SENDING, str(kbooks_home), str(dies_at), text],
                   env=dict(os.environ), check=True, timeout=60)
    runs = Journal(kbooks_home).runs()
    if dies_at == 1:  # only a read was on its way
        assert runs == []
        return
    (info,) = runs
    assert (info.state, info.steps_done) == ("stopped", 1)
    steps = Journal(kbooks_home).steps(info.id)
    assert [(s.step, s.state, s.idempotency_key) for s in steps] == [
        (1, "succeeded", step_key(info.id, 0, 1)), (2, "started", step_key(info.id, 0, 2))]
    # At 2 it died before sending the create; at 3 the create had been answered, but only
    # its start was kept (the read after it did not wait to keep its outcome): the resume
    # sends it again with its key and is given the first answer.
    assert counts(sandbox.url)["customer"] == (1 if dies_at == 2 else 2)
    resumed = Runtime(home=kbooks_home).resume(info.id)
    # (a get that succeeded is sent again: what it read may have changed)
    assert resumed.ok and [s.state for s in resumed.steps] == ["succeeded"] * 3
    assert counts(sandbox.url)["customer"] == 2


def test_a_run_returns_before_its_end_is_written_and_the_writer_writes_it(rt, sandbox,
                                                                          kbooks_home):
    result = rt.run('create a customer in stripe with\n  the email is "e@example.com"\n')
    other = Journal(kbooks_home)
    assert other.run(result.run_id) is None  # not yet
    assert wait_for(lambda: getattr(other.run(result.run_id), "state", None) == "succeeded")


EXIT_AFTER_RUN = """
import sys
from pathlib import Path
from kognitos_books import Runtime
result = Runtime(home=Path(sys.argv[1])).run(
    'create a customer in stripe with\\n  the email is "x@example.com"\\n')
print(result.run_id)
"""


def test_what_waits_is_written_when_the_process_exits(sandbox, kbooks_home):
    done = subprocess.run([sys.executable, "-c", EXIT_AFTER_RUN, str(kbooks_home)],
                          capture_output=True, text=True, env=dict(os.environ), check=True)
    run_id = done.stdout.strip()
    info = Journal(kbooks_home).run(run_id)
    assert (info.state, info.steps_done) == ("succeeded", 1)
    assert list((kbooks_home / "locks").iterdir()) == []


def _dead_log(home, name: str, content: bytes) -> None:
    """A log left by a process that died (nobody holds its lock)."""
    (home / "locks").mkdir(mode=0o700, exist_ok=True)
    (home / "locks" / f"{name}.lock").write_bytes(content)


def _begun(run_id: str, owner: str, step: int) -> list:
    writes = [("start_step", (run_id, 0, step, step, f"command {step}", step_key(run_id, 0, step),
                              1.0))]
    if step == 1:
        writes.insert(0, ("start_run", (run_id, "a.kog", "text\n", None, "test", "{}", 1.0,
                                        owner)))
    return writes


def test_a_dead_process_log_cut_short_is_taken_in_up_to_the_cut(kbooks_home):
    whole = journal_module._frame(1, _begun("run_t", "999-dead", 1))
    cut = journal_module._frame(2, _begun("run_t", "999-dead", 2))
    for keep in (len(cut) - 1, 5, 0):  # cut in its payload, in its header, not begun
        _dead_log(kbooks_home, "999-dead", whole + cut[:keep])
        journal = Journal(kbooks_home)
        assert [(s.step, s.state) for s in journal.steps("run_t")] == [(1, "started")]
        assert journal.run("run_t").state == "stopped"
        assert not (kbooks_home / "locks" / "999-dead.lock").exists()
        journal.close()
        (kbooks_home / "runs.sqlite").unlink()
        for side in ("runs.sqlite-wal", "runs.sqlite-shm"):
            (kbooks_home / side).unlink(missing_ok=True)


def test_what_a_dead_process_had_committed_is_not_added_again(kbooks_home):
    """It died after committing its first batch but before emptying its log."""
    journal = Journal(kbooks_home)
    journal.db.execute("INSERT INTO runs (id, source, text, options, state, started, owner) "
                       "VALUES ('run_c', 'a.kog', 'text', '{}', 'running', 1, '998-dead')")
    journal.db.execute("INSERT INTO steps (run_id, row, step, line, command, "
                       "idempotency_key, state, started) VALUES ('run_c', 0, 1, 1, "
                       "'command 1', 'k', 'succeeded', 1)")
    journal.db.execute("INSERT INTO owners (owner, seq) VALUES ('998-dead', 1)")
    _dead_log(kbooks_home, "998-dead", journal_module._frame(1, _begun("run_c", "998-dead", 1))
              + journal_module._frame(2, _begun("run_c", "998-dead", 2)))
    # batch 1 again would read step 1 as started again; only batch 2 is new
    assert [(s.step, s.state) for s in journal.steps("run_c")] == [(1, "succeeded"),
                                                                   (2, "started")]
    assert journal.db.execute("SELECT COUNT(*) FROM owners").fetchone()[0] == 0


def test_the_journal_keeps_what_stripe_sent_as_it_was_sent(rt, sandbox, kbooks_home):
    import sqlite3

    result = rt.run('create a customer in stripe with\n  the email is "kept@example.com"\n')
    record = result.steps[0].result
    assert record.text is not None and json.loads(record.text) == dict(record.data)
    rt.journal.flush()
    (kept,) = sqlite3.connect(kbooks_home / "runs.sqlite").execute(
        "SELECT result FROM steps WHERE run_id=?", (result.run_id,)).fetchone()
    assert kept == record.text  # the response body itself, not written out again
    assert Journal(kbooks_home).steps(result.run_id)[0].result == dict(record.data)
