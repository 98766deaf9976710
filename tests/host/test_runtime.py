"""Runtime: procedures by name, connections, context."""

from __future__ import annotations

import pytest

from kognitos_books import InvalidCall, NotConnected, Runtime, UnknownProcedure
from kognitos_books.automation import NeedsConfirmation

TOKEN = "memo_test_zxcvbnmasd0001"


@pytest.fixture
def rt(memo, kbooks_home):
    runtime = Runtime(home=kbooks_home)
    runtime.install("memo", credentials={"token": TOKEN})
    return runtime


def test_procedure_by_english_id_case_and_articles(rt):
    by_id = rt.procedure("memo.note.create")
    assert rt.procedure("Create a NOTE in memo") == by_id
    assert rt.procedure("create  an note in memo") == by_id
    assert rt.procedure("get every note from memo").many
    assert rt.procedure("get the notes from memo").many


def test_unknown_procedure_suggests(rt):
    with pytest.raises(UnknownProcedure) as err:
        rt.call("creat a note in memo", title="x")
    assert "did you mean 'create a note in memo'" in str(err.value)


def test_unknown_and_missing_inputs(rt):
    with pytest.raises(InvalidCall, match='unknown field "titel" for a note; did you mean '
                       '"title"'):
        rt.call("create a note in memo", titel="x")
    with pytest.raises(InvalidCall, match='missing required input "title"') as info:
        rt.call("create a note in memo", body="x")
    assert info.value.hint == "pass title=..."


def test_field_names_with_spaces_and_case(rt):
    note = rt.call("create a note in memo", Title="Spaced")
    assert note["title"] == "Spaced"


def test_acting_on_nothing_remembered(rt):
    with pytest.raises(InvalidCall, match="no note to act on"):
        rt.call("delete a note in memo")


def test_not_connected_names_the_command(memo, kbooks_home):
    with pytest.raises(NotConnected) as err:
        Runtime(home=kbooks_home).call("create a note in memo", title="x")
    assert err.value.hint == "run: kbooks install memo"
    with pytest.raises(NotConnected) as err:
        Runtime(home=kbooks_home, connection="work").call("create a note in memo", title="x")
    assert "kbooks install memo --connection work" in err.value.hint


def test_environment_credentials_need_no_store(memo, kbooks_home, monkeypatch):
    monkeypatch.setenv("KBOOKS_MEMO_TOKEN", TOKEN)
    rt = Runtime(home=kbooks_home)
    assert rt.call("create a note in memo", title="env").id == "note_1"
    assert rt.connect("memo").name == "environment"
    assert not (kbooks_home / "credentials.json").exists()


def test_named_connections_and_live_mode(memo, kbooks_home):
    rt = Runtime(home=kbooks_home)
    rt.install("memo", connection="home", credentials={"token": TOKEN})
    rt.install("memo", connection="work", credentials={"token": "memo_live_abcdefgh0002"},
               settings={"shelf": "office"})
    work = Runtime(home=kbooks_home, connection="work").connect("memo")
    assert work.mode == "live" and work.account == "office" and work.name == "work"
    assert Runtime(home=kbooks_home).connect("memo").name == "home"


def test_procedures_answer_to_noun_aliases(rt):
    assert rt.procedure("add a label to the note") == rt.procedure("add a tag to the note")


def test_plans_know_whether_a_connection_is_open(rt):
    call = rt.build_call(rt.procedure("create a note in memo"), {"title": "x"})
    fresh = Runtime(home=rt.store.home)
    assert fresh.plan(call).strategy == "memory"
    rt.connect("memo")
    assert rt.plan(call).strategy == "memory (connected)"


def test_connect_before_a_run_sends_nothing_but_install_verifies(memo, kbooks_home):
    rt = Runtime(home=kbooks_home)
    rt.install("memo", credentials={"token": TOKEN})
    # a stored key that the service now refuses is not re-checked until asked
    rt.store.save("memo", "default", {"token": "memo_test_rejected"}, {}, "test")
    assert Runtime(home=kbooks_home).connect("memo").mode == "test"
    from kognitos_books import CredentialsRejected

    with pytest.raises(CredentialsRejected):
        Runtime(home=kbooks_home).connect("memo", verify=True)


def test_call_takes_any_wording_of_a_procedure(rt):
    rt.call("create a note in memo", title="a")
    assert rt.call("update the note", body="b")["body"] == "b"
    assert len(list(rt.call("get every note"))) == 1
    # a whole command, conditions and all, goes down the same road as an automation's
    assert rt.call('get a note from memo whose title is "a"')["title"] == "a"
    with pytest.raises(InvalidCall, match='unknown field "titl" for a note'):
        rt.call('get a note from memo whose titl is "a"')


def test_install_keeps_the_settings_it_verified_with(memo, kbooks_home, monkeypatch):
    rt = Runtime(home=kbooks_home)
    rt.install("memo", connection="plain", credentials={"token": TOKEN})
    rt.install("memo", connection="given", credentials={"token": TOKEN},
               settings={"shelf": "main"})  # given, though it is the default: kept
    monkeypatch.setenv("KBOOKS_MEMO_SHELF", "office")
    rt.install("memo", connection="env", credentials={"token": TOKEN})
    rt.install("memo", connection="both", credentials={"token": TOKEN},
               settings={"shelf": "attic"})  # the environment wins, as it did when verified
    assert {c.name: dict(c.settings) for c in rt.store.connections("memo")} == {
        "plain": {}, "given": {"shelf": "main"}, "env": {"shelf": "office"},
        "both": {"shelf": "office"}}
    monkeypatch.delenv("KBOOKS_MEMO_SHELF")
    later = Runtime(home=kbooks_home, connection="env").connect("memo")
    assert later.account == "office"


def test_a_bulk_delete_on_a_live_connection_says_how_many_it_touches(memo, kbooks_home):
    rt = Runtime(home=kbooks_home)
    rt.install("memo", credentials={"token": "memo_live_abcdefgh0003"})
    for title in ("old", "old", "new"):
        rt.call("create a note in memo", title=title)
    asked: list[str] = []
    with pytest.raises(NeedsConfirmation):
        rt.run('delete all notes from memo whose title is "old"\n',
               confirm=lambda question: asked.append(question) and False)
    assert asked == ["This automation will delete 2 notes on a LIVE connection (memo, "
                     "line 1). Continue?"]
    assert len(list(rt.call("get all notes from memo"))) == 3  # nothing deleted
    assert rt.run('delete all notes from memo whose title is "old"\n', yes=True).ok
    assert [n["title"] for n in rt.call("get all notes from memo")] == ["new"]
