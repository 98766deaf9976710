"""``kbooks listen`` and ``kbooks events`` as a user runs them: the receiving and the running
roles in two processes, what came and what ran, a replay on purpose, and the checks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import stripe
from stripe_flows import TEST_KEY

HANDLER = """\
when a customer is created in stripe
  create a product in stripe with
    the name is the customer's id
"""


def kbooks_exe() -> str:
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe, "the kbooks console script is not installed next to this Python"
    return exe


def kbooks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kbooks_exe(), *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


class Role:
    """``kbooks listen FILE --role ROLE`` in its own process, its output read line by line."""

    def __init__(self, file: Path, role: str, *extra: str, **popen: Any) -> None:
        self.process = subprocess.Popen(
            [kbooks_exe(), "listen", str(file), "--role", role, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
            **popen)
        self.lines: list[str] = []

    def wait_for_line(self, text: str, timeout: float = 60) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in: {''.join(self.lines)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def client(stripe_env: Any) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": stripe_env.url})


def names(client: stripe.StripeClient) -> list[str]:
    return sorted(p.name for p in client.v1.products.list({"limit": 100}).auto_paging_iter())


def test_receiving_and_running_in_two_processes_then_a_replay(
        client: stripe.StripeClient, stripe_env: Any, tmp_path: Path) -> None:
    file = tmp_path / "new.kb"
    file.write_text(HANDLER)
    receiver = Role(file, "receive", "--port", "0")
    worker = Role(file, "work")
    try:
        receiver.wait_for_line("listening on http://127.0.0.1:")
        customer = client.v1.customers.create({"email": "two@example.com"})
        worker.wait_for_line("succeeded: line 1 (when a customer is created in stripe)")
        assert names(client) == [customer.id]
    finally:
        receiver.stop()
        worker.stop()
    listed = kbooks("events", "--json")
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    assert [(e["type"], [r["state"] for r in e["runs"]]) for e in events] == [
        ("customer.created", ["succeeded"])]
    human = kbooks("events")
    assert events[0]["id"] in human.stdout and "succeeded" in human.stdout
    # on purpose: the automation that ran, as it was, runs again as a new run
    replayed = kbooks("events", "replay", events[0]["id"])
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replaying line 1" in replayed.stdout and "succeeded" in replayed.stdout
    assert names(client) == [customer.id, customer.id]
    again = json.loads(kbooks("events", "--json").stdout)[0]["runs"][0]
    assert again["run_id"] != events[0]["runs"][0]["run_id"]


@pytest.mark.parametrize("extra", [("--poll", "0.2"), ("--port", "0")])
def test_ctrl_c_stops_it_even_when_started_with_ctrl_c_ignored(
        stripe_env: Any, tmp_path: Path, extra: tuple[str, ...]) -> None:
    # (as a shell without job control starts a background process: `kbooks listen ... &`)
    file = tmp_path / "new.kb"
    file.write_text(HANDLER)
    listening = Role(file, "all", *extra,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        listening.wait_for_line("caught up")
        listening.process.send_signal(signal.SIGINT)
        assert listening.process.wait(30) == 0, "".join(listening.lines)
    finally:
        listening.stop()


def test_check_shows_what_would_listen_and_mistakes_exit_2_with_their_line(
        stripe_env: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.kb"
    good.write_text(HANDLER + '\nevery monday at 08:30\n  say "weekly"\n')
    checked = kbooks("listen", str(good), "--check")
    assert checked.returncode == 0, checked.stderr
    assert "stripe_pay: customer.created" in checked.stdout
    assert "schedule 30 8 * * 1 (UTC)" in checked.stdout
    bad = tmp_path / "bad.kb"
    bad.write_text("when an invoice is payed in stripe\n  say \"x\"\n")
    refused = kbooks("listen", str(bad))
    assert refused.returncode == 2
    assert "bad.kb:1" in refused.stderr and "an invoice is paid" in refused.stderr
    run = kbooks("run", str(good))
    assert run.returncode == 2 and "kbooks listen" in run.stderr


def test_types_lists_every_event_with_its_english(stripe_env: Any) -> None:
    listed = kbooks("events", "--types", "stripe_pay", "--json")
    assert listed.returncode == 0, listed.stderr
    found = {t["type"]: t for t in json.loads(listed.stdout)}
    assert found["invoice.paid"]["english"] == "an invoice is paid"
    assert "a subscription is canceled" in found["customer.subscription.deleted"]["aliases"]


@pytest.mark.parametrize("doc", ["README.md", "docs/TRIGGERS.md"])
def test_the_trigger_examples_in_the_docs_check(stripe_env: Any, doc: str) -> None:
    import re

    from kognitos_books import Runtime

    text = (Path(__file__).parents[2] / doc).read_text()
    blocks = [b for b in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)
              if re.search(r"^(when|every) ", b, re.M)]
    assert blocks, f"{doc} shows no trigger"
    for block in blocks:
        handlers = Runtime().handlers(block, source_name=doc)
        assert len(handlers) == len(re.findall(r"^(?:when|every|on the) ", block, re.M))
