"""Triggers through the host with the memo book: checked up front, each event run once.

The memo book is not Stripe: these tests prove that the contract, the listener and the
workers hold for any book that declares events.
"""

from __future__ import annotations

import datetime

import pytest

from kognitos_books import Runtime
from kognitos_books.language import LanguageError
from kognitos_books.testing.listening import Listening, wait_for
from kognitos_books.triggers.inbox import Inbox
from kognitos_books.triggers.listener import Listener

MEMO_TOKEN = "memo_test_abcdefgh5678"

PIN_NEW_NOTES = """\
when a note is created in memo
  pin the note
  say "pinned {the note's title}"

when a note is pinned in memo
  add a tag to the note with
    the label is the event's type
"""


@pytest.fixture
def rt(memo, kbooks_home):
    runtime = Runtime(home=kbooks_home)
    runtime.install("memo", credentials={"token": MEMO_TOKEN})
    return runtime






def test_each_handler_runs_once_per_event_and_its_writes_make_events_too(rt):
    notes = [rt.call("create a note in memo", title=f"n{k}") for k in range(3)]
    listener = Listener(rt, [("pin.kb", PIN_NEW_NOTES)], poll=0.05, workers=2)
    inbox = Inbox(rt.store.home)
    with Listening(listener) as running:
        # 3 created, then 3 pinned by the first handler, each tagged by the second
        assert wait_for(lambda: inbox.counts() == {"succeeded": 6}), inbox.counts()
        said = sorted(line.split(": ", 1)[1] for line in running.lines if " line 3: " in line)
        assert said == ["pinned n0", "pinned n1", "pinned n2"], running.lines
    for note in notes:
        found = rt.call("get a note from memo", id=note.id)
        assert found["pinned"] is True and found["tags"] == ["note.pinned"]
    # started again: everything is known, nothing runs twice
    again = Listener(rt, [("pin.kb", PIN_NEW_NOTES)], poll=0.05, workers=2)
    with Listening(again) as running:
        assert wait_for(lambda: any("caught up" in line for line in running.lines))
    assert inbox.counts() == {"succeeded": 6}
    assert all(rt.call("get a note from memo", id=n.id)["tags"] == ["note.pinned"]
               for n in notes)


def test_every_mistake_in_every_block_is_found_before_anything_listens(rt):
    text = ("when a note is creatd in memo\n  pin the note\n\n"
            "when a note is pinned in memmo\n  pin the note\n\n"
            "when a note is archived in memo\n  say \"{the event's tpye}\"\n"
            "  say \"{the invoice's id}\"\n")
    with pytest.raises(LanguageError) as err:
        Listener(rt, [("bad.kb", text)], poll=1)
    found = [(e.line, e.message) for e in err.value.errors]
    assert [line for line, _ in found] == [1, 4, 8, 9], found
    assert 'did you mean "a note is created"' in found[0][1]
    assert 'did you mean "memo"' in found[1][1]
    assert 'did you mean "type"' in found[2][1]
    assert "refers to nothing" in found[3][1]


def test_a_file_without_triggers_is_refused(rt):
    from kognitos_books import ConfigurationError

    with pytest.raises(ConfigurationError, match="nothing to listen for"):
        Listener(rt, [("plain.kb", 'create a note in memo with\n  the title is "x"\n')],
                 poll=1)


def test_the_event_is_known_only_inside_its_block(rt):
    text = "when a note is created in memo\n  pin the note\nsay \"{the event's id}\"\n"
    with pytest.raises(LanguageError):
        rt.handlers(text, source_name="scope.kb")


def test_a_schedule_slot_runs_once_across_restarts(rt):
    text = "every day at 09:00\n  create a note in memo with\n    the title is \"daily\"\n"
    clock = [datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.UTC)]
    inbox = Inbox(rt.store.home)

    def listener() -> Listener:
        return Listener(rt, [("daily.kb", text)], workers=1, now=lambda: clock[0])

    first = listener()
    handler = first.handlers[0]
    assert first.first_slot(handler) is False  # the first start runs no past slot
    clock[0] = datetime.datetime(2026, 12, 1, 9, 0, 30, tzinfo=datetime.UTC)
    assert first.due_slots([handler], clock[0] - datetime.timedelta(minutes=1)) == 1
    # a restart at 09:01 sees the 09:00 slot made already: not made again
    second = listener()
    assert second.first_slot(handler) is False
    assert second.due_slots([handler], clock[0] - datetime.timedelta(minutes=1)) == 0
    # down from 08:59 on the 2nd to 10:00 on the 3rd: only the latest missed slot runs
    clock[0] = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.UTC)
    third = listener()
    assert third.first_slot(handler) is True
    slots = sorted(w.event for w in inbox.all_work() if w.handler == handler.key)
    assert slots == ["slot:2026-12-01T09:00:00Z", "slot:2026-12-03T09:00:00Z"]


def test_a_schedule_slot_runs_its_block_with_the_slot_s_time(rt):
    from kognitos_books.triggers.worker import Worker

    text = ('every day at 09:00\n  say "it is {the schedule\'s time}"\n'
            '  create a note in memo with\n    the title is the schedule\'s time\n')
    clock = [datetime.datetime(2026, 12, 1, 9, 0, 30, tzinfo=datetime.UTC)]
    listener = Listener(rt, [("daily.kb", text)], workers=1, now=lambda: clock[0])
    handler = listener.handlers[0]
    assert listener.due_slots([handler], clock[0] - datetime.timedelta(minutes=1)) == 1
    journal = rt.journal
    worker = Worker(rt, listener.inbox, listener.by_key, listener.texts,
                    owner=journal.owner(), alive=journal.owner_alive)
    assert worker.run_one() is True and worker.run_one() is False
    assert listener.inbox.counts() == {"succeeded": 1}
    notes = list(rt.call("get all notes from memo"))
    assert [n["title"] for n in notes] == ["2026-12-01T09:00:00Z"]


@pytest.mark.parametrize("yes", [False, True])
def test_a_destructive_handler_on_a_live_connection_runs_only_when_allowed(memo, kbooks_home,
                                                                           yes):
    runtime = Runtime(home=kbooks_home)
    runtime.install("memo", credentials={"token": "memo_live_abcdefgh5678"})
    note = runtime.call("create a note in memo", title="live")
    text = "when a note is created in memo\n  archive the note\n"
    listener = Listener(runtime, [("live.kb", text)], poll=0.05, workers=1, yes=yes)
    inbox = Inbox(runtime.store.home)
    with Listening(listener) as running:
        assert wait_for(lambda: inbox.counts() in ({"failed": 1}, {"succeeded": 1}))
    assert "is a LIVE connection" in running.lines[0]
    (work,) = inbox.all_work()
    archived = runtime.call("get a note from memo", id=note.id).get("archived", False)
    if yes:
        assert work.state == "succeeded" and archived is True
    else:
        assert work.state == "failed" and "needs confirmation" in work.error
        assert archived is False and work.attempts == 1
