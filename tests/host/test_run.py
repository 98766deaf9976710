"""Running English automations through the Runtime and `kbooks run`, on the memo book."""

from __future__ import annotations

import json

import pytest

from kognitos_books import Runtime
from kognitos_books.automation import NeedsConfirmation
from kognitos_books.language import LanguageError

TOKEN = "memo_test_runrunrun0001"

TOUR = """\
# a small tour
create a note in memo with
  the title is "Hello"
  the stars is 3
add a tag to the note with
  the label is "greeting"
get a note from memo whose title is "Hello"
update the note with
  the body is the note's title
get all notes from memo
delete a note in memo with
  the id is the note's id
"""


@pytest.fixture
def rt(memo, kbooks_home):
    runtime = Runtime(home=kbooks_home)
    runtime.install("memo", credentials={"token": TOKEN})
    return runtime


def shelf(rt):
    return rt.connect("memo").client


def test_a_tour_runs_with_context_and_references(rt):
    result = rt.run(TOUR)
    assert result.ok
    assert [s.state for s in result.steps] == ["succeeded"] * 6
    created, tag, got, updated, listed, deleted = (s.result for s in result.steps)
    assert tag["note"] == created.id and tag["label"] == "greeting"
    assert got.id == created.id
    assert updated["body"] == "Hello"  # the note's title, resolved at run time
    assert [r.id for r in listed] == [created.id]
    assert deleted["deleted"] is True and shelf(rt).notes == {}


def test_nothing_runs_when_any_line_is_wrong(rt):
    bad = TOUR + 'create a note in memo with\n  the titel is "x"\n'
    with pytest.raises(LanguageError) as err:
        rt.run(bad, source_name="tour.kog")
    assert err.value.location == "tour.kog:14:7"
    assert 'did you mean "title"' in str(err.value)
    assert shelf(rt).requests == []


def test_every_problem_is_reported_at_once(rt):
    text = ('get a nothing from memo\nsend the note\n'
            'create a note in memo with\n  the stars is "x"\n')
    with pytest.raises(LanguageError) as err:
        rt.run(text)
    assert [e.line for e in err.value.errors] == [1, 2, 4]  # a bad field hides "missing"


def test_references_to_nothing_and_wrong_ids_are_caught_up_front(rt):
    with pytest.raises(LanguageError) as err:
        rt.run('update a note in memo with\n  the id is the note\'s id\n  the body is "x"\n')
    assert "refers to nothing" in str(err.value)
    with pytest.raises(LanguageError) as err:
        rt.run('delete a note in memo with\n  the id is "tag_1"\n')
    assert err.value.location == "<automation>:2:13"
    assert "not a note id" in str(err.value)
    assert shelf(rt).requests == []


def test_dry_run_plans_and_sends_nothing(rt):
    result = rt.run(TOUR, dry_run=True)
    assert [s.state for s in result.steps] == ["planned"] * 6
    assert str(result.steps[0].plan.requests[0]) == "POST /notes title=Hello&stars=3"
    assert "<the note's title>" in str(result.steps[3].plan.requests[0])
    assert shelf(rt).requests == []
    assert rt.journal.runs() == []


def test_a_failed_step_stops_and_says_what_took_effect(rt):
    text = ('create a note in memo with\n  the title is "Kept"\n'
            'get a note from memo whose id is "note_404"\n'
            'delete the note\n')
    result = rt.run(text)
    assert not result.ok
    assert [s.state for s in result.steps] == ["succeeded", "failed", "skipped"]
    assert "No such note" in result.failures[0].error
    assert [s.step for s in result.steps if s.took_effect] == [1]
    run = rt.journal.run(result.run_id)
    assert run.state == "failed" and run.steps_done == 1 and run.steps_failed == 1


def test_each_row_with_concurrency(rt):
    rows = [{"title": f"note {i}", "stars": str(i)} for i in range(20)]
    seen = []
    result = rt.run("create a note in memo with\n  the title is the row's title\n",
                    rows=rows, concurrency=4, rate=0, on_progress=lambda p: seen.append(p.done))
    assert result.ok and result.rows == 20
    assert sorted(n["title"] for n in shelf(rt).notes.values()) == sorted(r["title"] for r in rows)
    assert seen[-1] == 20


def test_a_failing_row_does_not_stop_the_others(rt):
    rows = [{"id": "note_1"}, {"id": "note_999"}, {"id": "note_1"}]
    rt.call("create a note in memo", title="only")
    result = rt.run("get a note from memo whose id is the row's id\n", rows=rows)
    assert result.failed_rows == [1]
    assert [s.state for s in result.steps] == ["succeeded", "failed", "succeeded"]
    # one row at a time, so that no row after the failing one has started
    fast = rt.run("get a note from memo whose id is the row's id\n", rows=rows, fail_fast=True,
                  concurrency=1)
    assert len(fast.steps) == 2


def test_live_connections_need_confirmation_for_deletes(memo, kbooks_home):
    rt = Runtime(home=kbooks_home)
    rt.install("memo", credentials={"token": "memo_live_abcdefgh0003"})
    rt.call("create a note in memo", title="precious")
    text = 'delete a note in memo with\n  the id is "note_1"\n'
    with pytest.raises(NeedsConfirmation, match="live"):
        rt.run(text)
    assert "note_1" in shelf(rt).notes
    asked = []
    with pytest.raises(NeedsConfirmation):
        rt.run(text, confirm=lambda q: asked.append(q) or False)
    assert "LIVE" in asked[0]
    assert rt.run(text, yes=True).ok and shelf(rt).notes == {}


def test_a_live_connection_asks_before_an_action_its_book_declares_destructive(
        memo, kbooks_home):
    rt = Runtime(home=kbooks_home)
    rt.install("memo", credentials={"token": "memo_live_abcdefgh0003"})
    rt.call("create a note in memo", title="precious")
    assert rt.run("pin the note\n").ok  # (not destructive: no question)
    with pytest.raises(NeedsConfirmation, match="live"):
        rt.run("archive the note\n")
    with pytest.raises(NeedsConfirmation, match="archive"):
        rt.call("archive the note")
    assert "archived" not in shelf(rt).notes["note_1"]
    assert rt.call("archive the note", yes=True)["archived"] is True


def test_cli_run_exit_codes_and_json(memo, kbooks, tmp_path):
    kbooks("install", "memo", input=TOKEN + "\n")
    good = tmp_path / "tour.kog"
    good.write_text(TOUR)
    out = kbooks("run", str(good))
    assert out.returncode == 0, out.stderr
    assert "Using memo in test mode." in out.stderr
    assert "step 1 (line 2) ok" in out.stdout and "Done: 6 steps" in out.stdout

    lines = [json.loads(x) for x in kbooks("run", str(good), "--json").stdout.splitlines()]
    assert [x["state"] for x in lines[:-1]] == ["succeeded"] * 6
    assert lines[-1]["ok"] is True and lines[-1]["run_id"].startswith("run_")

    bad = tmp_path / "bad.kog"
    bad.write_text('create a note in memo with\n  the titel is "x"\n')
    out = kbooks("run", str(bad))
    assert out.returncode == 2
    assert f"\n{bad}:2:7: unknown field" in "\n" + out.stderr

    failing = tmp_path / "fail.kog"
    failing.write_text('create a note in memo with\n  the title is "a"\n'
                       'get a note from memo whose id is "note_77"\n')
    out = kbooks("run", str(failing))
    assert out.returncode == 1
    assert "Stopped: step 2 (line 3) failed" in out.stderr
    assert "Already took effect" in out.stderr and "kbooks run --resume run_" in out.stderr

    dry = kbooks("run", str(good), "--dry-run")
    assert dry.returncode == 0 and "POST /notes title=Hello&stars=3" in dry.stdout
    assert "nothing was sent" in dry.stdout

    runs = kbooks("runs", "--json")
    states = sorted(r["state"] for r in json.loads(runs.stdout))
    assert states == ["failed", "succeeded", "succeeded"]


def test_cli_each_reads_csv(memo, kbooks, tmp_path):
    kbooks("install", "memo", input=TOKEN + "\n")
    rows = tmp_path / "rows.csv"
    rows.write_text("Title,Stars\nfirst,1\nsecond,2\n")
    kog = tmp_path / "each.kog"
    kog.write_text("create a note in memo with\n  the title is the row's title\n")
    out = kbooks("run", str(kog), "--each", str(rows), "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert sorted(x["result"]["title"] for x in lines[:-1]) == ["first", "second"]
    empty = tmp_path / "empty.csv"
    empty.write_text("title\n")
    out = kbooks("run", str(kog), "--each", str(empty))
    assert out.returncode == 2 and "has no rows" in out.stderr


def test_runs_share_the_runtimes_context(rt):
    note = rt.call("create a note in memo", title="from python")
    result = rt.run("add a tag to the note with\n  the label is \"later\"\n")
    assert result.steps[0].result["note"] == note.id
    rt.run('create a note in memo with\n  the title is "second"\n')
    assert rt.context["note"]["title"] == "second"
    assert rt.call("update the note", body="b")["title"] == "second"
