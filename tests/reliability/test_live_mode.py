"""Live-mode safety: a live key makes a live connection; a run says which mode it is about to
use; delete, void and pay on a live connection wait for --yes or a "y" at the terminal, and
nothing at all is sent before that; a dry run never sends anything.

The sandbox refuses live keys (401), so a request that does go out shows in its log as one
refused request, and never changes anything."""

from __future__ import annotations

import io
import json
import os
import sys

import pexpect
import pytest
from reliability_support import BASE_ENV, KEY_ENV, LIVE_KEY, TEST_KEY, logged

from kognitos_books import Runtime, mask
from kognitos_books.automation import NeedsConfirmation
from kognitos_books.cli import main
from kognitos_books.credentials import CredentialStore

SHOWN = mask(LIVE_KEY)  # sk_live_…1Ko: all a message may show of the key


@pytest.fixture
def live(sandbox, kbooks_home, monkeypatch):
    """A stored live connection to the sandbox, as an install against Stripe would leave
    it (the sandbox itself would refuse to verify it)."""
    CredentialStore(kbooks_home).save("stripe_pay", "default", {"api_key": LIVE_KEY},
                                      {"api_base": sandbox.url}, "live")
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.delenv(BASE_ENV)
    return sandbox


def destructive(verb: str) -> str:
    return {"delete": 'delete a customer in stripe with the id is "cus_1"\n',
            "void": 'void the invoice with the id is "in_1"\n',
            "pay": 'pay the invoice with the id is "in_1"\n'}[verb]


def test_install_with_a_live_key_is_refused_by_the_sandbox_and_stores_nothing(
        sandbox, kbooks, kbooks_home, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    out = kbooks("install", "stripe_pay", "--set", f"api_base={sandbox.url}",
                 input=LIVE_KEY + "\n")
    assert out.returncode == 1
    assert f"Stripe rejected the API key {SHOWN}" in out.stderr
    assert not (kbooks_home / "credentials.json").exists()
    assert [(e["method"], e["path"], e["status"]) for e in logged(sandbox.url)] == [
        ("GET", "/v1/customers", 401)]  # the one verifying request


def test_a_live_key_makes_a_live_connection_and_connecting_sends_nothing(live, kbooks,
                                                                         kbooks_home):
    shown = kbooks("connections")
    assert shown.returncode == 0 and "stripe_pay/default" in shown.stdout
    assert " live " in shown.stdout and SHOWN in shown.stdout
    rt = Runtime(home=kbooks_home)
    assert rt.connect("stripe_pay").mode == "live"
    # the mode comes from the key itself, not from what the store says
    CredentialStore(kbooks_home).save("stripe_pay", "default", {"api_key": LIVE_KEY},
                                      {"api_base": live.url}, "test")
    assert Runtime(home=kbooks_home).connect("stripe_pay").mode == "live"
    assert logged(live.url) == []


@pytest.mark.parametrize("verb", ["delete", "void", "pay"])
def test_destructive_steps_on_live_need_confirmation_before_anything_is_sent(
        live, kbooks_home, verb):
    text = 'create a customer in stripe with\n  the name is "first"\n' + destructive(verb)
    rt = Runtime(home=kbooks_home)
    with pytest.raises(NeedsConfirmation, match=f"line 3: {verb} on a live connection"):
        rt.run(text)
    asked: list[str] = []
    with pytest.raises(NeedsConfirmation):
        rt.run(text, confirm=lambda question: asked.append(question) or False)
    assert "LIVE" in asked[0] and verb in asked[0]
    assert logged(live.url) == []  # not even the create on line 1
    assert rt.journal.runs() == []

    alone = Runtime(home=kbooks_home).run(destructive(verb), yes=True)
    (step,) = alone.steps
    assert step.state == "failed" and f"Stripe rejected the API key {SHOWN}" in step.error
    assert [e["status"] for e in logged(live.url)] == [401]  # sent once confirmed


def test_a_live_resume_asks_again(live, kbooks_home):
    failed = Runtime(home=kbooks_home).run(destructive("void"), yes=True)
    with pytest.raises(NeedsConfirmation):
        Runtime(home=kbooks_home).resume(failed.run_id)
    assert len(logged(live.url)) == 1


def test_cli_says_the_mode_and_waits_for_yes(live, kbooks, tmp_path):
    kog = tmp_path / "delete.kog"
    kog.write_text(destructive("delete"))
    refused = kbooks("run", str(kog))
    assert refused.returncode == 2
    lines = refused.stderr.splitlines()
    assert lines[0] == "Using stripe_pay in LIVE mode."
    assert "line 1: delete on a live connection needs confirmation" in lines[1]
    assert "--yes" in refused.stderr and "Traceback" not in refused.stderr
    assert logged(live.url) == []

    confirmed = kbooks("run", str(kog), "--yes")
    assert confirmed.returncode == 1
    assert confirmed.stderr.startswith("Using stripe_pay in LIVE mode.\n")
    assert f"Stripe rejected the API key {SHOWN}" in confirmed.stderr
    assert [(e["method"], e["path"]) for e in logged(live.url)] == [
        ("DELETE", "/v1/customers/cus_1")]


@pytest.mark.parametrize("answer,code,sent", [("n", 2, 0), ("y", 1, 1)])
def test_a_terminal_is_asked(live, tmp_path, answer, code, sent):
    kog = tmp_path / "delete.kog"
    kog.write_text(destructive("delete"))
    exe = os.path.join(os.path.dirname(sys.executable), "kbooks")
    child = pexpect.spawn(exe, ["run", str(kog)], env=dict(os.environ), encoding="utf-8",
                          timeout=30)
    child.expect_exact("Using stripe_pay in LIVE mode.")
    child.expect_exact("This automation will delete on a LIVE connection (stripe_pay, line 1). "
                       "Continue? [y/N] ")
    assert logged(live.url) == []  # nothing sent while it asks
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code, child.before
    assert len(logged(live.url)) == sent


def test_kbooks_call_asks_too(live, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: no one to ask
    assert main(["call", "delete a customer in stripe", "id=cus_1"]) == 2
    assert "delete a customer on a LIVE connection (stripe_pay/default) needs confirmation" \
        in capsys.readouterr().err
    assert logged(live.url) == []
    assert main(["call", "delete a customer in stripe", "id=cus_1", "--yes"]) == 1
    assert [e["method"] for e in logged(live.url)] == ["DELETE"]


EVERY_VERB = """\
create a customer in stripe with
  the email is "dry@example.com"
get a customer from stripe whose email is "dry@example.com"
update the customer with
  the name is "Dry"
create an invoice in stripe with
  the customer is the customer's id
add an item to the invoice with
  the amount is $5.00
finalize the invoice
send the invoice
pay the invoice
mark the invoice as uncollectible
void the invoice
delete the invoice
delete the customer
"""


def test_dry_run_sends_nothing_live_or_test(live, kbooks, kbooks_home, tmp_path):
    kog = tmp_path / "every.kog"
    kog.write_text(EVERY_VERB)
    out = kbooks("run", str(kog), "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "Dry run: checking and planning only; nothing will be sent." in out.stderr
    assert "POST /v1/invoices/<the invoice>/void" in out.stdout
    assert "DELETE /v1/customers/<the customer>" in out.stdout
    assert "Checked 12 steps; nothing was sent." in out.stdout
    out = kbooks("run", str(kog), "--dry-run", "--json",
                 env={KEY_ENV: TEST_KEY, BASE_ENV: live.url})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["dry_run"] is True
    assert logged(live.url) == []
    assert Runtime(home=kbooks_home).journal.runs() == []
