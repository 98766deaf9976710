"""The credential store through the command line: a damaged or hand-edited store is reported
in one clear line and never written over, whatever the command, and nothing is sent; the
store and the journal stay private (0700 directories, 0600 files) after every write, even
when they were loosened by hand, and the store when it is only read. Processes changing the
store at once all keep their change; a writer killed mid-write leaves no copy of the keys
once the next change is made; a FIFO, device, directory or link in the store's place, and a
home or store of another user, are refused at once. A setting given by the environment at
install is kept. (The store's own unit tests are in tests/host.)"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from reliability_support import BASE_ENV, KEY_ENV, TEST_KEY, files_under, logged, mode

from kognitos_books.cli import main
from kognitos_books.credentials import CredentialStore

GOOD = {"version": 1, "books": {"stripe_pay": {"default": "default", "connections": {
    "default": {"credentials": {"api_key": TEST_KEY}, "settings": {}, "mode": "test",
                "created": 1.0}}}}}


def edited(change) -> str:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(GOOD))
    change(data["books"]["stripe_pay"], data["books"]["stripe_pay"]["connections"]["default"],
           data)
    return json.dumps(data)


DAMAGED = {
    "not JSON": ("{not json", "is not valid JSON (line 1, column 2)"),
    "empty": ("", "is not valid JSON"),
    "cut short": (json.dumps(GOOD)[:60], "is not valid JSON"),
    "a list": ("[]", "does not have the expected layout"),
    "binary": ("\x00\x01\x02", "is not valid JSON"),
    "key not text": (edited(lambda b, c, d: c["credentials"].update(api_key=5)),
                     "malformed connection stripe_pay/default"),
    "settings not a map": (edited(lambda b, c, d: c.update(settings="api_base")),
                           "malformed connection stripe_pay/default"),
    "mode not text": (edited(lambda b, c, d: c.update(mode=5)),
                      "malformed connection stripe_pay/default"),
    "default names nothing": (edited(lambda b, c, d: b.update(default="work")),
                              "names 'work' as the default connection of stripe_pay"),
    "from a newer kbooks": (edited(lambda b, c, d: d.update(version=9)),
                            "has version 9, which this kbooks does not know"),
}
COMMANDS = {
    "install": ["install", "stripe_pay", "--connection", "other"],
    "connections": ["connections"],
    "run": ["run", "{kog}"],
    "call": ["call", "get all customers from stripe"],
    "uninstall": ["uninstall", "stripe_pay"],
    "dry run": ["run", "{kog}", "--dry-run"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_store_is_reported_and_left_untouched(sandbox, kbooks_home, tmp_path,
                                                        monkeypatch, capsys, damage, command):
    monkeypatch.delenv(KEY_ENV)  # the stored key is the one that matters
    content, why = DAMAGED[damage]
    store = kbooks_home / "credentials.json"
    store.write_text(content)
    os.chmod(store, 0o600)
    kog = tmp_path / "get.kog"
    kog.write_text('get a customer from stripe whose email is "a@b.c"\n')
    monkeypatch.setattr(sys, "stdin", io.StringIO(TEST_KEY + "\n"))
    argv = [a.replace("{kog}", str(kog)) for a in COMMANDS[command]]
    code = main(argv)
    err = capsys.readouterr().err
    if command == "dry run":  # needs no connection, so it never reads the store
        assert code == 0, err
    else:
        assert code == 2, err
        line = next(x for x in err.splitlines() if x.startswith("kbooks: error:"))
        assert line.startswith(f"kbooks: error: the credential store {store} "), err
        assert why in line, err
        assert line.endswith("; it was left untouched")
        assert "hint: repair it by hand, or move it away" in err and "Traceback" not in err
    assert store.read_text() == content and mode(store) == 0o600
    # nothing else but what kbooks keeps to answer faster (cache/, never a key: see
    # tests/host/test_run_cache.py); no journal
    assert sorted(p.name for p in kbooks_home.iterdir() if p.name != "cache") == [
        "credentials.json"]
    assert logged(sandbox.url) == []


def test_a_hand_edited_key_says_where_it_came_from(sandbox, kbooks, kbooks_home, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    store = kbooks_home / "credentials.json"
    store.write_text(edited(lambda b, c, d: c.update(credentials={"api_key": TEST_KEY + " "},
                                                     settings={"api_base": sandbox.url})))
    before = store.read_bytes()
    out = kbooks("call", "get all customers from stripe")
    assert out.returncode == 1
    assert (f"Stripe API key does not look right: starts with sk_test_, sk_live_, rk_test_ or "
            f"rk_live_ (from the connection stripe_pay/default in {store})") in out.stderr
    assert TEST_KEY[8:] not in out.stderr
    missing = edited(lambda b, c, d: c.update(credentials={}))
    store.write_text(missing)
    out = kbooks("call", "get all customers from stripe")
    assert out.returncode == 2
    assert "the connection stripe_pay/default has no api_key" in out.stderr
    assert "kbooks install stripe_pay --connection default" in out.stderr
    assert store.read_text() == missing and before != missing
    assert logged(sandbox.url) == []


def test_loosened_permissions_are_tightened_by_the_next_write(sandbox, kbooks, kbooks_home,
                                                              tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.delenv(BASE_ENV)
    out = kbooks("install", "stripe_pay", "--set", f"api_base={sandbox.url}",
                 input=TEST_KEY + "\n")
    assert out.returncode == 0, out.stderr
    kog = tmp_path / "make.kog"
    kog.write_text('create a customer in stripe with\n  the name is "Perm"\n')
    assert kbooks("run", str(kog)).returncode == 0
    for path in [kbooks_home, *kbooks_home.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o666)
    assert kbooks("install", "stripe_pay", "--connection", "second", "--set",
                  f"api_base={sandbox.url}", input=TEST_KEY + "\n").returncode == 0
    assert kbooks("run", str(kog)).returncode == 0
    assert mode(kbooks_home) == 0o700
    for path in files_under(kbooks_home):
        assert mode(path) == 0o600, path
    for path in [p for p in kbooks_home.rglob("*") if p.is_dir()]:
        assert mode(path) == 0o700, path


# ------------------------------------------------------------- concurrent writers


def kbooks_exe() -> str:
    exe = shutil.which("kbooks", path=os.path.dirname(sys.executable))
    assert exe, "the kbooks console script is not installed next to this Python"
    return exe


def all_at_once(commands: list[list[str]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    """Run every command as its own ``kbooks`` process, all started before any is waited
    for; their exit codes and output, in order."""
    exe = kbooks_exe()
    processes = [subprocess.Popen([exe, *args], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, **env}) for args in commands]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))
    return results


def stored(home) -> dict:  # type: ignore[no-untyped-def]
    return json.loads((home / "credentials.json").read_text())["books"]


NAMES = [f"c{i}" for i in range(10)]


def test_concurrent_installs_keep_every_connection(sandbox, kbooks_home):
    results = all_at_once([["install", "stripe_pay", "--connection", n] for n in NAMES], {})
    for code, out, err in results:
        assert code == 0 and "Stored in" in out, err
    assert sorted(stored(kbooks_home)["stripe_pay"]["connections"]) == NAMES


def test_concurrent_uninstalls_remove_every_connection(sandbox, kbooks_home):
    store = CredentialStore(kbooks_home)
    for name in [*NAMES, "kept"]:
        store.save("stripe_pay", name, {"api_key": TEST_KEY}, {}, "test")
    results = all_at_once([["uninstall", "stripe_pay", "--connection", n] for n in NAMES], {})
    for code, out, err in results:
        assert code == 0 and out.startswith("Removed stripe_pay: c"), err
    assert list(stored(kbooks_home)["stripe_pay"]["connections"]) == ["kept"]


def test_concurrent_default_changes_are_all_kept(sandbox, kbooks_home):
    store = CredentialStore(kbooks_home)
    books = [f"book{i}" for i in range(10)]
    for book in books:
        store.save(book, "one", {"api_key": TEST_KEY}, {}, "test")
        store.save(book, "two", {"api_key": TEST_KEY}, {}, "test")
    results = all_at_once([["connections", "--default", f"{b}/two"] for b in books], {})
    for code, out, err in results:
        assert code == 0 and "is now the default connection" in out, err
    assert {b: e["default"] for b, e in stored(kbooks_home).items()} == dict.fromkeys(
        books, "two")


# ------------------------------------------------------------- a writer killed mid-write

KILLED_KEY = "sk_test_" + "Kd3" * 12
KILL_AT_RENAME = """\
import os
import sys

from kognitos_books.cli import main

# Dies where a kill hurts most: the new store is written in full beside the old one.
os.replace = lambda *args, **kwargs: os._exit(9)
sys.exit(main(["install", "stripe_pay", "--connection", "killed"]))
"""


def holding(home, secret: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(p.name for p in home.rglob("*")
                  if p.is_file() and secret.encode() in p.read_bytes())


@pytest.mark.parametrize("then", [
    ["install", "stripe_pay", "--connection", "next"],
    ["uninstall", "stripe_pay", "--connection", "first"],
    ["uninstall", "stripe_pay"],
])
def test_a_writer_killed_before_its_rename_leaves_no_copy_behind(sandbox, kbooks, kbooks_home,
                                                                 then):
    assert kbooks("install", "stripe_pay", "--connection", "first").returncode == 0
    before = (kbooks_home / "credentials.json").read_bytes()
    killed = subprocess.run([sys.executable, "-c", KILL_AT_RENAME], capture_output=True,
                            text=True, env={**os.environ, KEY_ENV: KILLED_KEY}, timeout=60)
    assert killed.returncode == 9, killed.stderr
    # The store is as it was; the killed writer's copy is beside it. So is one left by a
    # writer of an older kbooks, which named its copies at random.
    assert (kbooks_home / "credentials.json").read_bytes() == before
    strays = holding(kbooks_home, KILLED_KEY)
    assert len(strays) == 1 and strays[0].startswith(".credentials.json."), strays
    old = kbooks_home / ".credentials.json.k2x9q0ab"
    old.write_text(json.dumps({"api_key": KILLED_KEY}))
    os.chmod(old, 0o600)
    out = kbooks(*then)
    assert out.returncode == 0, out.stderr
    assert holding(kbooks_home, KILLED_KEY) == []
    assert sorted(p.name for p in kbooks_home.iterdir()) == ["credentials.json"]
    assert holding(kbooks_home, TEST_KEY) == (["credentials.json"] if then[0] == "install"
                                              else [])


# ------------------------------------------------------------- not a file of our own


def error_line(stderr: str) -> str:
    return next((x for x in stderr.splitlines() if x.startswith("kbooks: error:")), stderr)


def make_fifo(path) -> str:  # type: ignore[no-untyped-def]
    os.mkfifo(path, 0o600)
    return "a FIFO"


def make_device(path) -> str:  # type: ignore[no-untyped-def]
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # another /dev/null
    except PermissionError:
        pytest.skip("making a device node needs the mknod capability")
    return "a device"


def make_directory(path) -> str:  # type: ignore[no-untyped-def]
    path.mkdir(mode=0o700)
    return "a directory"


def make_link(path) -> str:  # type: ignore[no-untyped-def]
    elsewhere = path.parent.parent / f"{path.parent.name}-elsewhere.json"
    elsewhere.write_text(json.dumps(GOOD))
    os.chmod(elsewhere, 0o600)
    path.symlink_to(elsewhere)
    return f"a symbolic link to {elsewhere}"


@pytest.mark.parametrize("make", [make_fifo, make_device, make_directory, make_link],
                         ids=["fifo", "device", "directory", "symlink"])
def test_a_store_that_is_not_a_regular_file_is_refused_at_once(sandbox, kbooks, kbooks_home,
                                                               make):
    store = kbooks_home / "credentials.json"
    kind = make(store)
    for command in (["connections"], ["call", "get all customers from stripe"],
                    ["install", "stripe_pay", "--connection", "other"],
                    ["uninstall", "stripe_pay"], ["connections", "--default",
                                                  "stripe_pay/default"]):
        out = kbooks(*command, timeout=20)  # a read that waits for a writer fails here
        assert out.returncode == 2, (command, out.stderr)
        assert error_line(out.stderr) == (
            f"kbooks: error: the credential store {store} is {kind}, not a regular file; it "
            "was left untouched"), (command, out.stderr)
        assert "hint: " in out.stderr and "Traceback" not in out.stderr
    assert kind.startswith("a symbolic link") == store.is_symlink()
    assert sorted(p.name for p in kbooks_home.iterdir()) == ["credentials.json"]
    assert logged(sandbox.url) == []


# ------------------------------------------------------------- ownership and modes

NOBODY = 65534


def give_away(path) -> None:  # type: ignore[no-untyped-def]
    try:
        os.chown(path, NOBODY, NOBODY)
    except PermissionError:
        pytest.skip("giving a file to another user needs root")


def test_a_home_of_another_user_is_refused_and_left_alone(sandbox, kbooks, kbooks_home):
    os.chmod(kbooks_home, 0o755)
    give_away(kbooks_home)
    for command in (["install", "stripe_pay"], ["connections"],
                    ["call", "get all customers from stripe"]):
        out = kbooks(*command, input=TEST_KEY + "\n")
        assert out.returncode == 2, (command, out.stderr)
        assert error_line(out.stderr) == (
            f"kbooks: error: the directory {kbooks_home} belongs to another user (uid "
            f"{NOBODY}); kbooks keeps keys only where no one else can read or change them"
        ), (command, out.stderr)
        assert f"chmod 700 {kbooks_home}" in out.stderr
    st = os.stat(kbooks_home)
    assert (st.st_uid, mode(kbooks_home)) == (NOBODY, 0o755)
    assert list(kbooks_home.iterdir()) == []
    assert logged(sandbox.url) == []


def test_a_store_of_another_user_is_refused_and_left_alone(sandbox, kbooks, kbooks_home):
    store = kbooks_home / "credentials.json"
    store.write_text(json.dumps(GOOD))
    os.chmod(store, 0o600)
    give_away(store)
    for command in (["call", "get all customers from stripe"], ["connections"],
                    ["install", "stripe_pay", "--connection", "other"]):
        out = kbooks(*command)
        assert out.returncode == 2, (command, out.stderr)
        assert error_line(out.stderr) == (
            f"kbooks: error: the credential store {store} belongs to another user (uid "
            f"{NOBODY}); it was left untouched"), (command, out.stderr)
    assert (os.stat(store).st_uid, store.read_text()) == (NOBODY, json.dumps(GOOD))
    assert logged(sandbox.url) == []


def test_a_loose_store_is_tightened_when_it_is_read(sandbox, kbooks, kbooks_home):
    store = kbooks_home / "credentials.json"
    store.write_text(json.dumps(GOOD))
    os.chmod(store, 0o644)
    os.chmod(kbooks_home, 0o755)
    out = kbooks("connections")
    assert out.returncode == 0 and "stripe_pay/default" in out.stdout, out.stderr
    assert (mode(kbooks_home), mode(store)) == (0o700, 0o600)
    assert store.read_text() == json.dumps(GOOD)  # read, not written


# ------------------------------------------------------------- settings from the environment


def test_a_setting_from_the_environment_at_install_is_kept(sandbox, kbooks, kbooks_home,
                                                           monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    out = kbooks("install", "stripe_pay", input=TEST_KEY + "\n")  # BASE_ENV: the sandbox
    assert out.returncode == 0, out.stderr
    verified = len(logged(sandbox.url))
    assert verified >= 1
    monkeypatch.delenv(BASE_ENV)
    out = kbooks("call", "get all customers from stripe", timeout=60)
    assert out.returncode == 0, out.stderr
    requests = logged(sandbox.url)[verified:]
    assert [(r["method"], r["path"]) for r in requests] == [("GET", "/v1/customers")], requests
    assert stored(kbooks_home)["stripe_pay"]["connections"]["default"]["settings"] == {
        "api_base": sandbox.url}
