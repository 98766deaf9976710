"""The kbooks command line, run as a real process (console script and ``-m``)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pexpect
import pytest

TOKEN = "memo_test_qwertyuiop1234"


def test_version_and_module_entry(kbooks):
    out = kbooks("--version")
    assert out.returncode == 0 and out.stdout.startswith("kbooks ")
    mod = subprocess.run([sys.executable, "-m", "kognitos_books", "--version"],
                         capture_output=True, text=True)
    assert mod.stdout == out.stdout


def test_help_lists_commands_and_book_commands(memo, kbooks):
    out = kbooks("--help")
    assert out.returncode == 0
    for command in ("books", "install", "uninstall", "connections", "procedures", "call",
                    "memo-hello"):
        assert command in out.stdout


@pytest.mark.parametrize("args", [["--help"], ["books"]])
def test_help_and_books_do_not_import_stripe(kbooks_home, args):
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "kognitos_books", *args],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines()
                if line.startswith("import time:")}
    assert any(name.startswith("stripe_pay") for name in imported)  # the book was loaded...
    assert "stripe" not in imported  # ...but not the SDK
    assert not any(name.startswith("stripe.") for name in imported)


def test_books_shows_working_and_broken_books(memo, book_site, kbooks):
    book_site("kbooks-broken", "broken_import", "broken")
    out = kbooks("books")
    assert out.returncode == 0
    assert "memo" in out.stdout and "ok" in out.stdout
    assert "broken" in out.stdout and "cannot be imported" in out.stdout
    data = {b["name"]: b for b in json.loads(kbooks("books", "--json").stdout)}
    assert data["memo"]["state"] == "ok" and data["memo"]["distribution"] == "kbooks-memo"
    assert data["broken"]["state"] == "broken"


def test_install_from_standard_input_then_call_list_and_uninstall(memo, kbooks, kbooks_home):
    out = kbooks("install", "memo", input=TOKEN + "\n")
    assert out.returncode == 0, out.stderr
    assert "memo/default in test mode" in out.stdout and "memo_test_…1234" in out.stdout
    store = kbooks_home / "credentials.json"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(kbooks_home).st_mode) == 0o700

    listed = kbooks("connections")
    assert "memo/default" in listed.stdout and "memo_test_…1234" in listed.stdout
    assert TOKEN not in listed.stdout + out.stdout + out.stderr
    rows = json.loads(kbooks("connections", "--json").stdout)
    assert rows == [{"book": "memo", "name": "default", "default": True, "mode": "test",
                     "credentials": {"token": "memo_test_…1234"},
                     "settings": {}}]

    created = kbooks("call", "create a note in memo", "title=Hello", "stars:=4", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["stars"] == 4

    removed = kbooks("uninstall", "memo")
    assert removed.returncode == 0 and "default" in removed.stdout
    assert kbooks("connections", "--json").stdout.strip() == "[]"
    again = kbooks("uninstall", "memo")
    assert again.returncode == 2 and "no connection to remove" in again.stderr


def test_install_with_a_terminal_hides_the_secret(memo, kbooks_home):
    exe = os.path.join(os.path.dirname(sys.executable), "kbooks")
    child = pexpect.spawn(exe, ["install", "memo", "--connection", "tty"], env=dict(os.environ),
                          encoding="utf-8", timeout=30)
    child.expect("Memo token: ")
    child.sendline(TOKEN)
    child.expect(pexpect.EOF)
    child.close()
    transcript = child.before
    assert child.exitstatus == 0, transcript
    assert "memo/tty in test mode" in transcript
    assert TOKEN not in transcript  # not echoed


def test_environment_variable_answers_the_prompt(memo, kbooks):
    out = kbooks("install", "memo", "--set", "shelf=kitchen", env={"KBOOKS_MEMO_TOKEN": TOKEN})
    assert out.returncode == 0, out.stderr
    assert "(kitchen)" in out.stdout


def test_rejected_and_malformed_credentials(memo, kbooks):
    rejected = kbooks("install", "memo", input="memo_test_rejected\n")
    assert rejected.returncode == 1
    assert "Memo rejected the token memo_test_…" in rejected.stderr
    malformed = kbooks("install", "memo", input="nonsense\n")
    assert malformed.returncode == 1 and "does not look right" in malformed.stderr
    assert "Traceback" not in rejected.stderr + malformed.stderr
    assert kbooks("connections", "--json").stdout.strip() == "[]"


def test_unknown_setting_and_book(memo, kbooks):
    out = kbooks("install", "memo", "--set", "shlf=x", input=TOKEN + "\n")
    assert out.returncode == 2 and "no setting 'shlf'" in out.stderr
    out = kbooks("install", "mem")
    assert out.returncode == 2 and "did you mean 'memo'" in out.stderr


def test_calling_without_a_connection_names_the_fix(memo, kbooks):
    out = kbooks("call", "create a note in memo", "title=x")
    assert out.returncode == 2
    assert "no connection" in out.stderr and "kbooks install memo" in out.stderr


def test_procedures_lists_english_and_inputs(memo, kbooks):
    out = kbooks("procedures", "memo")
    assert out.returncode == 0
    assert "create a note in memo with" in out.stdout
    assert "add a tag to the note" in out.stdout
    assert 'adds to: the note remembered last, or name it: the note is "..."' in out.stdout
    assert 'acts on: the note remembered last, or name it: the id is "..."' in out.stdout
    assert "    required: title\n    inputs: body, stars\n" in out.stdout
    procs = {p["id"]: p for p in json.loads(kbooks("procedures", "memo", "--json").stdout)}
    assert procs["memo.note.create"]["inputs"][0] == {
        "name": "title", "type": "string", "required": True, "choices": []}
    assert procs["memo.note.list"]["english"] == "get all notes from memo"


def test_book_contributed_command_runs(memo, kbooks):
    out = kbooks("memo-hello")
    assert out.returncode == 0 and out.stdout == "memo\n"


def test_disabled_book_is_shown_and_its_commands_vanish(memo, kbooks):
    env = {"KBOOKS_DISABLE": "memo"}
    assert "disabled" in kbooks("books", env=env).stdout
    assert "memo-hello" not in kbooks("--help", env=env).stdout


def test_unexpected_errors_are_one_line_unless_debug(memo, kbooks):
    kbooks("install", "memo", input=TOKEN + "\n")
    out = kbooks("call", "get a note from memo", "id=note_404")
    assert out.returncode == 1 and "No such note" in out.stderr
    assert "Traceback" not in out.stderr
    debug = kbooks("--debug", "call", "get a note from memo", "id=note_404")
    assert "Traceback" in debug.stderr


def test_a_closed_pipe_ends_quietly(memo, kbooks_home):
    exe = os.path.join(os.path.dirname(sys.executable), "kbooks")
    out = subprocess.run(f"'{exe}' procedures | head -1", shell=True, capture_output=True,
                         text=True, env=dict(os.environ))
    assert out.returncode == 0
    assert "Error" not in out.stderr and "Traceback" not in out.stderr


def test_the_default_connection_can_be_changed(memo, kbooks):
    kbooks("install", "memo", input=TOKEN + "\n")
    kbooks("install", "memo", "--connection", "work", input="memo_live_abcdefgh0009\n")
    rows = {r["name"]: r["default"] for r in json.loads(kbooks("connections", "--json").stdout)}
    assert rows == {"default": True, "work": False}
    out = kbooks("connections", "--default", "memo/work")
    assert out.returncode == 0 and "memo/work is now the default" in out.stdout
    rows = {r["name"]: r["default"] for r in json.loads(kbooks("connections", "--json").stdout)}
    assert rows == {"default": False, "work": True}
    bad = kbooks("connections", "--default", "memo/nope")
    assert bad.returncode == 2 and "no connection named 'nope'" in bad.stderr
    assert kbooks("connections", "--default", "memo").returncode == 2


def test_procedures_of_one_noun_by_name_plural_or_alias(memo, kbooks):
    for noun in ("tag", "tags", "label", "Tag"):
        out = kbooks("procedures", "memo", noun)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[:2] == ["add a tag to the note with",
                                               "    id: memo.tag.add"]
        assert "note in memo" not in out.stdout
    procs = json.loads(kbooks("procedures", "memo", "notes", "--json").stdout)
    assert [p["id"] for p in procs] == ["memo.note.get", "memo.note.list", "memo.note.create",
                                        "memo.note.update", "memo.note.delete",
                                        "memo.note.pin", "memo.note.archive"]
    # what a live connection asks about first, as the book declares it
    assert [p["id"] for p in procs if p["needs_confirmation"]] == ["memo.note.delete",
                                                                   "memo.note.archive"]
    text = kbooks("procedures", "memo", "notes").stdout
    archive = text[text.index("archive the note"):]
    assert "asks first on a live connection" in archive.splitlines()[3]
    assert "asks first" not in text[text.index("pin the note"):text.index("archive the note")]
    unknown = kbooks("procedures", "memo", "notte")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr == ("kbooks: error: memo has no noun 'notte'; did you mean 'note'?\n"
                              "  hint: its nouns: note, tag\n")


# ---------------------------------------------------------------- on the Stripe sandbox

STRIPE_KEY = "sk_test_cli0000000000000000000000001"


@pytest.fixture(scope="module")
def sandbox_server():
    from stripe_pay.sandbox import SandboxServer

    with SandboxServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def stripe(sandbox_server, kbooks_home, monkeypatch):
    """The sandbox, emptied, and the environment that points the Stripe Pay book at it."""
    sandbox_server.reset()
    monkeypatch.setenv("KBOOKS_STRIPE_PAY_API_KEY", STRIPE_KEY)
    monkeypatch.setenv("KBOOKS_STRIPE_PAY_API_BASE", sandbox_server.url)
    return sandbox_server


def add_customers(sandbox, count: int) -> None:
    """``count`` more customers in the sandbox, then an empty request log."""
    import urllib.request

    from kognitos_books import Runtime

    rt = Runtime()
    for i in range(count):
        rt.call("create a customer in stripe", email=f"c{i}@example.com")
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/requests", method="DELETE")
    urllib.request.urlopen(request, timeout=10).close()


def list_requests(sandbox) -> list[tuple[str, dict]]:
    return [(r["method"], r["params"]) for r in sandbox.requests()
            if r["path"] == "/v1/customers"]


@pytest.mark.parametrize("count, said", [(3, None), (7, "5 of 7 shown"),
                                         (150, "5 of 100 or more shown")])
def test_a_list_says_how_many_it_holds_from_one_page(stripe, kbooks, tmp_path, count, said):
    add_customers(stripe, count)
    automation = tmp_path / "list.kog"
    automation.write_text("get all customers from stripe\n")
    out = kbooks("run", str(automation))
    assert out.returncode == 0, out.stderr
    shown = out.stdout.splitlines()[1]
    assert shown.startswith("    -> customer cus_"), shown
    if said is None:  # all of it is shown
        assert shown.count("customer cus_") == count and "…" not in shown
    else:
        assert shown.count("customer cus_") == 5 and shown.endswith(f"; … {said}"), shown
    # counted from the first page alone: 150 customers are not all fetched for the line
    assert list_requests(stripe) == [("GET", {"limit": "100"})]


def test_call_prints_a_page_of_a_list_and_how_many(stripe, kbooks):
    out = kbooks("call", "get all customers from stripe")
    assert out.returncode == 0 and out.stdout == "none found\n"
    add_customers(stripe, 7)
    lines = kbooks("call", "get all customers from stripe").stdout.splitlines()
    assert len(lines) == 8 and lines[-1] == "7 found"
    assert all(line.startswith("customer cus_") for line in lines[:-1])
    add_customers(stripe, 143)
    lines = kbooks("call", "get all customers from stripe").stdout.splitlines()
    assert len(lines) == 101 and len(set(lines[:-1])) == 100
    assert lines[-1] == "… 100 of 100 or more shown; --json prints them all"
    assert list_requests(stripe) == [("GET", {"limit": "100"})]
    every = kbooks("call", "get all customers from stripe", "--json").stdout.splitlines()
    assert len({json.loads(line)["id"] for line in every}) == 150


FAILING = ('create a customer in stripe with\n  the email is "jo@example.com"\n'
           'get a customer from stripe whose id is "cus_nope"\n')


def test_runs_shows_one_run_and_its_steps(stripe, kbooks, tmp_path):
    import re

    automation = tmp_path / "fails.kog"
    automation.write_text(FAILING)
    ran = kbooks("run", str(automation))
    assert ran.returncode == 1
    run_id = re.search(r"run_[0-9a-f]+", ran.stderr).group()
    customer = re.search(r"cus_\w+", ran.stdout).group()
    out = kbooks("runs", run_id)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"{run_id}  failed"
    assert lines[1] == f"    source:   {automation}"
    assert lines[2] == "    mode:     test (connection environment)"  # from KBOOKS_..._API_KEY
    assert re.fullmatch(r"    started:  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", lines[3])
    assert re.fullmatch(r"    finished: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+\.\d\ds\)", lines[4])
    assert lines[5].startswith("    error:    No such customer: 'cus_nope'")
    assert lines[6:] == [
        "    steps:    1 done, 1 failed",
        f"step 1 (line 1) succeeded create a customer in stripe with -> customer {customer}",
        'step 2 (line 3) refused   get a customer from stripe whose id is "cus_nope"',
        lines[5].replace("    error:    ", "    error: "),
        f"  hint: kbooks run --resume {run_id} finishes it",
    ]
    data = json.loads(kbooks("runs", run_id, "--json").stdout)
    assert (data["id"], data["state"], data["source"], data["mode"], data["rows"]) == (
        run_id, "failed", str(automation), "test", None)
    assert [(s["row"], s["step"], s["line"], s["state"], s["record_id"]) for s in data["steps"]
            ] == [(None, 1, 1, "succeeded", customer), (None, 2, 3, "refused", None)]
    assert data["steps"][1]["error"].startswith("No such customer: 'cus_nope'")


def test_runs_shows_the_rows_of_a_bulk_run(stripe, kbooks, tmp_path):
    import re

    automation = tmp_path / "each.kog"
    automation.write_text("create a customer in stripe with\n  the email is the row's email\n")
    rows = tmp_path / "rows.csv"
    rows.write_text("email\na@example.com\nb@example.com\n")
    ran = kbooks("run", str(automation), "--each", str(rows))
    assert ran.returncode == 0, ran.stderr
    run_id = re.search(r"run_[0-9a-f]+", ran.stdout).group()
    lines = kbooks("runs", run_id).stdout.splitlines()
    assert lines[0] == f"{run_id}  succeeded"
    assert "    steps:    2 done, 0 failed, over 2 rows" in lines
    assert [line.split(" -> ")[0] for line in lines if "step 1" in line] == [
        "row 1 step 1 (line 1) succeeded create a customer in stripe with",
        "row 2 step 1 (line 1) succeeded create a customer in stripe with"]
    data = json.loads(kbooks("runs", run_id, "--json").stdout)
    assert data["rows"] == 2 and [s["row"] for s in data["steps"]] == [1, 2]


def test_runs_of_an_unknown_id_says_where_to_look(stripe, kbooks):
    out = kbooks("runs", "run_nope")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == ("kbooks: error: no run 'run_nope' in the journal\n"
                          "  hint: kbooks runs lists them\n")
