"""Resume: a run killed mid-way (``kill -9``) is shown as stopped, and ``kbooks run --resume``
finishes it without creating anything twice, even the step that was in flight."""

from __future__ import annotations

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
        with pytest.raises(ConfigurationError, match="running in another process"), \
                Journal(kbooks_home).hold("run_a"):
            pass
    assert journal.run("run_a").state == "stopped"
    journal.finish_run("run_a", "succeeded")
    with journal.hold("run_a"):
        pass
    assert not (kbooks_home / "locks" / "run_a.lock").exists()
