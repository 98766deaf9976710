"""The plugin manager: discovery through entry points, blocking, broken books, routing."""

from __future__ import annotations

import attrs
import pytest

from kognitos_books import (
    Action,
    Book,
    Call,
    ConfigurationError,
    Noun,
    Record,
    entrypoints,
    hookimpl,
)
from kognitos_books.plugins import Plugins


def status(plugins: Plugins, name: str):
    return {s.name: s for s in plugins.statuses()}[name]


def test_book_found_only_through_its_entry_point(memo):
    plugins = Plugins()
    s = status(plugins, "memo")
    assert s.state == "ok"
    assert s.distribution == "kbooks-memo"
    assert s.book.title == "Memo"
    assert plugins.book("memo").target == "memo"


def test_entry_points_are_read_once(memo, monkeypatch):
    calls = []
    real = entrypoints.entry_points

    def counting(group):
        calls.append(group)
        return real(group)

    monkeypatch.setattr(entrypoints, "entry_points", counting)
    plugins = Plugins()
    assert calls == []  # lazy: nothing is loaded before it is needed
    plugins.statuses()
    plugins.books()
    plugins.book("memo")
    assert len(calls) == 1


def test_disable_env_blocks_a_book(memo, monkeypatch):
    monkeypatch.setenv("KBOOKS_DISABLE", "other, memo")
    plugins = Plugins()
    s = status(plugins, "memo")
    assert s.state == "disabled"
    assert "KBOOKS_DISABLE" in s.reason
    assert plugins.pm.get_plugin("memo") is None
    with pytest.raises(ConfigurationError, match="disabled"):
        plugins.book("memo")


def test_a_book_that_fails_to_import_is_reported_and_skipped(memo, book_site):
    book_site("kbooks-broken", "broken_import", "broken")
    plugins = Plugins()
    s = status(plugins, "broken")
    assert s.state == "broken"
    assert "cannot be imported" in s.reason and "not installed" in s.reason
    assert status(plugins, "memo").state == "ok"


def test_a_misspelled_hook_is_caught(book_site):
    book_site("kbooks-misspelled", "misspelled", "misspelled")
    s = status(Plugins(), "misspelled")
    assert s.state == "broken"
    assert "'conect'" in s.reason and "did you mean 'connect'" in s.reason


def test_a_book_must_describe_itself_under_its_own_name(book_site):
    book_site("kbooks-misnamed", "misnamed", "misnamed")
    s = status(Plugins(), "misnamed")
    assert s.state == "broken"
    assert "somebody_else" in s.reason


def test_a_wrong_hook_signature_breaks_only_that_book(memo):
    class BadArgs:
        @hookimpl
        def describe_book(self, unexpected_argument):
            return None

    plugins = Plugins()
    plugins.load()
    s = plugins.register(BadArgs(), "badargs")
    assert s.state == "broken" and "contract" in s.reason
    assert status(plugins, "memo").state == "ok"


class _Twin:
    """A second book implementing the same hooks, to prove calls are routed to one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.created = 0

    @hookimpl
    def describe_book(self) -> Book:
        return Book(name=self.name, title=self.name, target=self.name, credentials=(),
                    nouns=(Noun("thing", "things", ("create",)),))

    @hookimpl
    def create(self, connection, call) -> Record:
        self.created += 1
        return Record(self.name, "thing", f"{self.name}_1", {})


def test_each_call_reaches_exactly_one_book(memo):
    plugins = Plugins()
    plugins.load()
    a, b = _Twin("alpha"), _Twin("beta")
    assert plugins.register(a, "alpha").state == "ok"
    assert plugins.register(b, "beta").state == "ok"
    thing = Call(book="beta", verb="create", noun="thing")
    record = plugins.perform(None, thing)
    assert record.book == "beta"
    assert (a.created, b.created) == (0, 1)
    # a book that does not implement a hook answers nothing rather than another's answer
    gone = attrs.evolve(thing, book="alpha", verb="delete", id="alpha_1")
    assert plugins.perform(None, gone) is None
    assert not plugins.can_perform("alpha", "delete") and plugins.can_perform("alpha", "create")
    assert not plugins.can_perform("alpha", "archive")  # (an action: the act hook)
    plugins.unregister("beta")
    assert "beta" not in {s.name for s in plugins.statuses()}


def test_trace_prints_hook_calls_without_secrets(memo, monkeypatch, capsys):
    from kognitos_books import Secret

    monkeypatch.setenv("KBOOKS_TRACE", "1")
    plugins = Plugins()
    plugins.connect("memo", {"token": Secret("memo_test_topsecret99")}, {"shelf": "main"},
                    verify=True)
    err = capsys.readouterr().err
    assert "kbooks trace: connect(" in err and "-> [memo]" in err
    assert "topsecret" not in err


class _Declares:
    """A book whose noun is described as given."""

    def __init__(self, noun: Noun) -> None:
        self.noun = noun

    @hookimpl
    def describe_book(self) -> Book:
        return Book(name="decl", title="Decl", target="decl", credentials=(),
                    nouns=(self.noun, Noun("other", "others", ("get",))))


@pytest.mark.parametrize(("noun", "reason"), [
    (Noun("thing", "things", ("get", "archive")), "declare it in Noun.actions"),
    (Noun("thing", "things", ("add",)), "no parent"),
    (Noun("thing", "things", ("get",), actions=(Action("delete"),)), "a record duty"),
    (Noun("thing", "things", ("get",), actions=(Action("pin"), Action("pin"))), "twice"),
    (Noun("thing", "things", ("get",), actions=(Action("pin", returns="ghost"),)),
     "not one of the book's nouns"),
])
def test_a_book_that_declares_its_verbs_wrongly_is_broken(noun, reason):
    plugins = Plugins(entry_points=[])
    status = plugins.register(_Declares(noun), "decl")
    assert status.state == "broken" and reason in status.reason, status.reason


def test_well_declared_actions_are_accepted():
    plugins = Plugins(entry_points=[])
    noun = Noun("thing", "things", ("get",), actions=(Action("pin", returns="other"),))
    assert plugins.register(_Declares(noun), "decl").state == "ok"
