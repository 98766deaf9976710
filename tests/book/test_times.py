"""Times people write (today, 3 days ago, in 2 weeks, last month, the end of last month),
found when the step runs, in the connection's time zone, with dateutil's calendar."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from test_corpus import show

from kognitos_books import Runtime, times
from kognitos_books.credentials import CredentialStore
from kognitos_books.language import LanguageError

NOW = datetime.datetime(2025, 3, 31, 15, 30, tzinfo=datetime.UTC)  # a Monday


def at(text: str, zone: str = "UTC") -> int:
    return int(datetime.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
               .timestamp())


@pytest.fixture
def rt(kbooks_home, monkeypatch):
    monkeypatch.setattr(times, "CLOCK", lambda: NOW)
    monkeypatch.delenv("KBOOKS_STRIPE_PAY_TIME_ZONE", raising=False)
    return Runtime(home=kbooks_home)


def calls(rt: Runtime, text: str) -> list[str]:
    return [show(s.call(lambda ref: f"<{ref.raw}>", None)) for s in rt.check(text)]


@pytest.mark.parametrize("said,expected", [
    ("is today", f"(created >= {at('2025-03-31')} and created < {at('2025-04-01')})"),
    ("is yesterday", f"(created >= {at('2025-03-30')} and created < {at('2025-03-31')})"),
    ("is after tomorrow", f"created >= {at('2025-04-02')}"),
    ("is before now", f"created < {at('2025-03-31T15:30')}"),
    ("is before 30 days ago", f"created < {at('2025-03-01T15:30')}"),
    # a month back from March 31st is February's last day
    ("is after 1 month ago", f"created > {at('2025-02-28T15:30')}"),
    ("is 3 days ago", f"(created >= {at('2025-03-28')} and created < {at('2025-03-29')})"),
    ("is before in 2 weeks", f"created < {at('2025-04-14T15:30')}"),
    ("is last month", f"(created >= {at('2025-02-01')} and created < {at('2025-03-01')})"),
    ("is this week", f"(created >= {at('2025-03-31')} and created < {at('2025-04-07')})"),
    ("is not next year", f"(created < {at('2026-01-01')} or created >= {at('2027-01-01')})"),
    ("is after the start of this month", f"created > {at('2025-03-01')}"),
    ("is at most the end of last month", f"created <= {at('2025-03-01') - 1}"),
    ("is before the start of today", f"created < {at('2025-03-31')}"),
])
def test_a_time_said_is_found_when_the_step_runs(rt, said, expected):
    assert calls(rt, f"get all customers from stripe whose created {said}") == [
        f"get customer many where {expected}"]


def test_inputs_and_the_connections_zone(rt, kbooks_home):
    CredentialStore(kbooks_home).save("stripe_pay", "default", {"api_key": "sk_test_" + "z" * 24},
                                      {"time_zone": "Asia/Tokyo"}, "test")
    tokyo = Runtime(home=kbooks_home)
    # 15:30 UTC is 00:30 the next day in Tokyo
    assert calls(tokyo, "get all customers from stripe whose created is today") == [
        f"get customer many where (created >= {at('2025-04-01', 'Asia/Tokyo')} and "
        f"created < {at('2025-04-02', 'Asia/Tokyo')})"]
    assert calls(tokyo, "create an invoice in stripe with\n  the customer is \"cus_1\"\n"
                        "  the due date is the end of next month") == [
        f'create invoice {{"customer": "cus_1", "due_date": {at("2025-06-01", "Asia/Tokyo") - 1}}}']


def test_a_checked_automation_finds_its_times_anew_each_run(rt, monkeypatch):
    (step,) = rt.check("get all customers from stripe whose created is today")
    first = step.call(lambda ref: None, None).where.items[0].value
    monkeypatch.setattr(times, "CLOCK", lambda: NOW + datetime.timedelta(days=1))
    (again,) = rt.check("get all customers from stripe whose created is today")
    assert again is step  # the same checked step, kept
    assert again.call(lambda ref: None, None).where.items[0].value == first + 86400


def test_a_time_where_no_time_goes_is_refused(rt):
    with pytest.raises(LanguageError, match='"name" takes text, not'):
        rt.check("create a customer in stripe with\n  the name is today")


def test_conditions_in_if_use_them_too(connected, monkeypatch):
    rt = connected
    rt.call("create a customer in stripe", email="new@times.test")
    result = rt.run("get all customers from stripe\nfor each customer in the customers\n"
                    "  if the customer's created is after 1 day ago\n"
                    "    say \"new: {the customer's email}\"\n")
    assert [s.result for s in result.steps if s.kind == "say"] == ["new: new@times.test"]


def test_an_automation_may_set_its_own_zone(rt):
    text = ('in time zone "Asia/Tokyo"\n'
            "get all customers from stripe whose created is 2025-01-31\n")
    assert calls(rt, text) == [
        f"get customer many where (created >= {at('2025-01-31', 'Asia/Tokyo')} and "
        f"created < {at('2025-02-01', 'Asia/Tokyo')})"]
    with pytest.raises(LanguageError, match="'Mars/Base' is not a time zone"):
        rt.check('in time zone "Mars/Base"\nget all customers from stripe\n')
    with pytest.raises(LanguageError, match="goes at the top of the automation"):
        rt.check('get all customers from stripe\nfor each customer in the customers\n'
                 '  in time zone "UTC"\n  stop\n')
