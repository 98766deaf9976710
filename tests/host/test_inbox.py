"""The inbox: events recorded once, work claimed once, taken over from a dead owner."""

from __future__ import annotations

import stat
import threading

from kognitos_books.triggers.inbox import Inbox, Offer


def offer(event_id: str, handlers=("h1",), **changes) -> Offer:
    fields = {"book": "memo", "connection": "default", "id": event_id, "type": "note.created",
              "created": 1_700_000_000, "body": "{}", "handlers": handlers, **changes}
    return Offer(**fields)


def everyone_alive(owner: str) -> bool:
    return True


def test_an_event_is_recorded_once_and_makes_its_work_once(tmp_path):
    inbox = Inbox(tmp_path)
    assert inbox.record([offer("mev_1", ("h1", "h2"))]) == [True]
    assert inbox.record([offer("mev_1", ("h1", "h2")), offer("mev_2")]) == [False, True]
    assert inbox.counts() == {"pending": 3}
    assert stat.S_IMODE(inbox.path.stat().st_mode) == 0o600


def test_threads_recording_at_once_share_commits_and_lose_nothing(tmp_path):
    inbox = Inbox(tmp_path)
    answers: list[list[bool]] = []
    lock = threading.Lock()

    def record(start: int) -> None:
        for n in range(start, start + 50):
            got = inbox.record([offer(f"mev_{n}")])
            with lock:
                answers.append(got)

    threads = [threading.Thread(target=record, args=(k * 50,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 400 and all(a == [True] for a in answers)
    assert inbox.counts() == {"pending": 400}


def test_work_is_claimed_by_one_owner_and_finished(tmp_path):
    inbox = Inbox(tmp_path)
    inbox.record([offer("mev_1")])
    work = inbox.claim("me", everyone_alive)
    assert work is not None and work.attempts == 1 and work.owner == "me"
    assert inbox.claim("other", everyone_alive) is None
    inbox.finish(work, "succeeded", run_id="run_x")
    assert inbox.counts() == {"succeeded": 1}
    assert inbox.work_for(["mev_1"])["mev_1"][0].run_id == "run_x"


def test_work_held_by_a_dead_owner_is_taken_over(tmp_path):
    inbox = Inbox(tmp_path)
    inbox.record([offer("mev_1")])
    assert inbox.claim("gone", everyone_alive) is not None
    assert inbox.claim("me", everyone_alive) is None  # (its owner still lives)
    taken = inbox.claim("me", lambda owner: owner != "gone")
    assert taken is not None and taken.attempts == 2 and taken.owner == "me"


def test_a_retry_is_due_later(tmp_path):
    now = [1000.0]
    inbox = Inbox(tmp_path, clock=lambda: now[0])
    inbox.record([offer("mev_1")])
    work = inbox.claim("me", everyone_alive)
    inbox.finish(work, "failed", error="timeout", retry_at=1010.0)
    assert inbox.claim("me", everyone_alive) is None
    now[0] = 1010.0
    again = inbox.claim("me", everyone_alive)
    assert again is not None and again.attempts == 2 and again.error == "timeout"


def test_a_replay_makes_the_work_due_again_as_a_new_run(tmp_path):
    inbox = Inbox(tmp_path)
    inbox.record([offer("mev_1")])
    work = inbox.claim("me", everyone_alive)
    inbox.finish(work, "succeeded", run_id="run_first")
    inbox.replay("h1", "memo", "default", "mev_1", "run_second")
    again = inbox.claim("me", everyone_alive, event="mev_1")
    assert again is not None and again.run_id == "run_second" and again.attempts == 1


def test_the_cursor_is_kept_per_book_and_connection(tmp_path):
    inbox = Inbox(tmp_path)
    assert inbox.cursor("memo", "default") is None
    inbox.set_cursor("memo", "default", "mev_5", 123)
    assert inbox.cursor("memo", "default") == ("mev_5", 123)
    assert Inbox(tmp_path).cursor("memo", "other") is None


def test_events_are_forgotten_long_after_their_work_ended_never_before(tmp_path):
    now = [1_000_000.0]
    inbox = Inbox(tmp_path, clock=lambda: now[0])
    inbox.record([offer("mev_done"), offer("mev_waiting"), offer("mev_none", handlers=())])
    done = inbox.claim("me", everyone_alive)
    assert done is not None and done.event == "mev_done"
    inbox.finish(done, "succeeded")
    now[0] += 10
    assert inbox.prune(keep=100) == 0  # (too recent)
    now[0] += 1000
    assert inbox.prune(keep=100) == 2  # done and no work; the waiting one stays
    assert inbox.event("memo", "default", "mev_waiting") is not None
    assert inbox.event("memo", "default", "mev_done") is None
    assert [w.event for w in inbox.all_work()] == ["mev_waiting"]
