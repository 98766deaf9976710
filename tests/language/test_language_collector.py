"""Parsing puts off Python's full collections, and sets the collector back as it found it,
whatever the threads and however the work ends."""

from __future__ import annotations

import gc
import threading

import pytest

from kognitos_books.language import LanguageError, parse
from kognitos_books.language.parser import full_collections_put_off


def test_full_collections_are_put_off_while_parsing_and_the_thresholds_set_back():
    before = gc.get_threshold()
    seen = []
    with full_collections_put_off(1000):
        seen.append(gc.get_threshold())
        with full_collections_put_off(1000):  # nested: still put off
            seen.append(gc.get_threshold())
        seen.append(gc.get_threshold())
    assert gc.get_threshold() == before
    assert [t[:2] for t in seen] == [before[:2]] * 3  # the young generations as they were
    assert all(t[2] > 1_000_000 for t in seen)


def test_a_few_lines_are_read_with_the_collector_as_it_is():
    before = gc.get_threshold()
    with full_collections_put_off(3):
        assert gc.get_threshold() == before


def test_the_thresholds_come_back_after_a_syntax_error():
    before = gc.get_threshold()
    with pytest.raises(LanguageError):
        parse("get a customer from stripe\n" * 100 + "get a customer from stripe whose email is\n")
    assert gc.get_threshold() == before


def test_threads_parsing_at_once_leave_the_thresholds_as_they_were():
    before = gc.get_threshold()
    text = "".join(f'get a customer from stripe whose email is "c{i}@example.com"\n'
                   for i in range(300))
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(5):
                assert len(parse(text).commands) == 300
        except BaseException as exc:  # (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert gc.get_threshold() == before
