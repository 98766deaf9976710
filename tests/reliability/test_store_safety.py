"""The credential store through the command line: a damaged or hand-edited store is reported
in one clear line and never written over, whatever the command, and nothing is sent; the
store and the journal stay private (0700 directories, 0600 files) after every write, even
when they were loosened by hand. (The store's own unit tests are in tests/host.)"""

from __future__ import annotations

import io
import json
import os
import sys

import pytest
from reliability_support import BASE_ENV, KEY_ENV, TEST_KEY, files_under, logged, mode

from kognitos_books.cli import main

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
    assert sorted(p.name for p in kbooks_home.iterdir()) == ["credentials.json"]
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
