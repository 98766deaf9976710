"""Each hook of the contract, exercised through the Runtime on the memo book.

``test_every_hook_has_a_test`` fails when a hook is added without its own test here.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from kognitos_books import (
    BookError,
    CredentialsRejected,
    InvalidCall,
    Plan,
    Record,
    Runtime,
    Secret,
    hookimpl,
    hookspecs,
)
from kognitos_books.cli import build_parser
from kognitos_books.language import LanguageError

MEMO_TOKEN = "memo_test_abcdefgh5678"


@pytest.fixture
def rt(memo, kbooks_home):
    runtime = Runtime(home=kbooks_home)
    runtime.install("memo", credentials={"token": MEMO_TOKEN})
    return runtime


def spec_names() -> list[str]:
    return [n for n in dir(hookspecs)
            if hasattr(getattr(hookspecs, n), "kognitos_books_spec")]


def test_every_hook_has_a_test():
    source = Path(__file__).read_text()
    tested = set(re.findall(r"def test_hook_(\w+)\(", source))
    assert set(spec_names()) - tested == set()


def test_hook_describe_book(memo):
    book = Runtime().book("memo")
    assert book.name == "memo" and book.target == "memo"
    assert [n.name for n in book.nouns] == ["note", "tag"]
    assert book.credentials[0].secret


def test_hook_describe_inputs(rt):
    fields = {f.name: f for f in rt.inputs("memo", "note", "create")}
    assert fields["title"].required and fields["stars"].type == "integer"
    full = {p.id: p for p in rt.procedures("memo")}["memo.note.create"]
    assert [f.name for f in full.inputs] == ["title", "body", "stars"]


def test_hook_connect(memo, kbooks_home):
    rt = Runtime(home=kbooks_home)
    conn = rt.install("memo", credentials={"token": MEMO_TOKEN})
    assert conn.mode == "test" and conn.book == "memo" and conn.name == "default"
    assert conn.masked == "memo_test_…5678"
    with pytest.raises(CredentialsRejected) as err:
        rt.install("memo", connection="bad", credentials={"token": "memo_test_rejected"})
    assert "rejected" in str(err.value)
    assert rt.store.get("memo", "bad") is None  # a rejected key is never stored


def test_hook_check_call(rt):
    with pytest.raises(InvalidCall, match="not a note id"):
        rt.call("delete a note in memo", id="tag_123")


def test_check_call_in_an_automation_reaches_wrappers_and_the_trace(rt, monkeypatch, capsys):
    """An automation's steps are checked with the book's implementation called straight
    while it is the only one; a wrapper registered later, or the trace, still sees them."""
    text = 'delete a note in memo with the id is "tag_1"\n'
    with pytest.raises(LanguageError, match="not a note id"):
        rt.check(text)
    seen = []

    class Watching:
        @hookimpl(wrapper=True)
        def check_call(self, call):
            seen.append(call.id)
            return (yield)

    rt.plugins.pm.register(Watching())
    with pytest.raises(LanguageError, match="not a note id"):
        rt.check(text + 'delete a note in memo with the id is "tag_2"\n')
    assert seen == ["tag_1", "tag_2"]
    monkeypatch.setenv("KBOOKS_TRACE", "1")
    traced = Runtime(home=rt.store.home)
    with pytest.raises(LanguageError, match="not a note id"):
        traced.check('delete a note in memo with the id is "tag_3"\n')
    assert "kbooks trace: check_call(" in capsys.readouterr().err


def test_hook_plan_call(rt):
    proc = rt.procedure("create a note in memo")
    call = rt.build_call(proc, {"title": "Hi"})
    plan = rt.plan(call)
    assert isinstance(plan, Plan)
    assert str(plan.requests[0]) == "POST /notes title=Hi"


def test_hook_create(rt):
    note = rt.call("create a note in memo", title="Groceries", stars=3)
    assert isinstance(note, Record) and note.id == "note_1" and note["stars"] == 3
    assert rt.context["note"] is note


def test_hook_get(rt):
    first = rt.call("create a note in memo", title="One")
    rt.call("create a note in memo", title="Two")
    assert rt.call("get a note from memo", id=first.id)["title"] == "One"
    assert rt.call("get a note from memo", title="Two")["title"] == "Two"
    everything = rt.call("get all notes from memo")
    assert [r["title"] for r in everything] == ["Two", "One"]
    assert [r["title"] for r in rt.call("memo.note.list")] == ["Two", "One"]
    with pytest.raises(BookError, match="No such note"):
        rt.call("get a note from memo", id="note_99")


def test_hook_update(rt):
    rt.call("create a note in memo", title="Draft")
    updated = rt.call("update a note in memo", body="done")  # acts on the remembered note
    assert updated["body"] == "done" and updated["title"] == "Draft"


def test_hook_delete(rt):
    note = rt.call("create a note in memo", title="Bye")
    gone = rt.call("memo.note.delete", id=note.id)
    assert gone["deleted"] is True


def test_hook_act(rt):
    note = rt.call("create a note in memo", title="Tagged")
    tag = rt.call("add a tag to the note", label="urgent")
    assert tag["note"] == note.id
    assert rt.call("get a note from memo", id=note.id)["tags"] == ["urgent"]
    # the book's own actions, named as it declares them
    assert rt.call("pin the note")["pinned"] is True
    assert rt.call("memo.note.archive", id=note.id)["archived"] is True


def test_hook_describe_triggers(rt):
    triggers = rt.plugins.triggers("memo")
    assert [t.type for t in triggers] == ["note.created", "note.pinned", "note.archived"]
    assert triggers[0].english == "a note is created" and triggers[0].noun == "note"


def test_hook_verify_event(rt):
    import importlib
    import json
    import time

    from kognitos_books import DeliveryRejected

    conn = rt.connect("memo")
    body = json.dumps({"id": "mev_9", "type": "note.pinned", "created": 1,
                       "object": {"id": "note_1", "title": "x"}}).encode()
    secret = Secret("memosec_00000001")
    sign = importlib.import_module("memo_book").sign
    event = rt.plugins.verify_event(conn, {"memo-signature": sign(body, secret.reveal())},
                                    body, secret)
    assert (event.id, event.type, event.record.id) == ("mev_9", "note.pinned", "note_1")
    for headers, why in (({}, "no Memo-Signature"),
                         ({"memo-signature": sign(body, "memosec_other")}, "does not match"),
                         ({"memo-signature": sign(body, secret.reveal(),
                                                  int(time.time()) - 301)}, "too old")):
        with pytest.raises(DeliveryRejected, match=why) as err:
            rt.plugins.verify_event(conn, headers, body, secret)
        assert secret.reveal() not in str(err.value)
    forged = body.replace(b"note_1", b"note_2")
    with pytest.raises(DeliveryRejected):
        rt.plugins.verify_event(conn, {"memo-signature": sign(body, secret.reveal())},
                                forged, secret)


def test_hook_list_events(rt):
    rt.call("create a note in memo", title="One")
    rt.call("create a note in memo", title="Two")
    rt.call("pin the note")
    conn = rt.connect("memo")
    every = list(rt.plugins.list_events(conn, None, ()))
    assert [e.type for e in every] == ["note.created", "note.created", "note.pinned"]
    after = list(rt.plugins.list_events(conn, every[0], ()))
    assert [e.id for e in after] == [e.id for e in every[1:]]
    assert [e.type for e in rt.plugins.list_events(conn, None, ("note.pinned",))] == [
        "note.pinned"]


def test_hook_ensure_endpoint(rt):
    conn = rt.connect("memo")
    first = rt.plugins.ensure_endpoint(conn, "https://example.test/hook", ("note.created",))
    assert first.created and first.secret is not None
    again = rt.plugins.ensure_endpoint(conn, "https://example.test/hook",
                                       ("note.created", "note.pinned"))
    assert (again.id, again.created, again.secret) == (first.id, False, None)
    assert again.types == ("note.created", "note.pinned")


def test_hook_remove_endpoint(rt):
    conn = rt.connect("memo")
    rt.plugins.ensure_endpoint(conn, "https://example.test/hook", ("note.created",))
    assert rt.plugins.remove_endpoint(conn, "https://example.test/hook") is True
    assert rt.plugins.remove_endpoint(conn, "https://example.test/hook") is False


def test_hook_register_commands(memo, capsys):
    from kognitos_books.plugins import Plugins

    parser = build_parser(Plugins())
    args = parser.parse_args(["memo-hello", "--shout"])
    assert args.run(args) == 0
    assert capsys.readouterr().out == "MEMO!\n"
    assert isinstance(parser, argparse.ArgumentParser)


def test_secret_never_shows_in_reprs(rt):
    conn = rt.connect("memo")
    stored = rt.store.get("memo")
    for text in (repr(conn), repr(stored), repr(rt), str(stored.credentials),
                 repr(Secret(MEMO_TOKEN)), f"{Secret(MEMO_TOKEN)}"):
        assert MEMO_TOKEN not in text


def test_a_fresh_runtime_sees_a_book_s_triggers_before_anything_else_loads_it(memo,
                                                                            kbooks_home):
    assert Runtime(home=kbooks_home).plugins.triggers("memo")
