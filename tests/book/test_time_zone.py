"""Dates are read in the connection's time zone (its ``time_zone`` setting, UTC by
default): a date compared with a moment is its whole day there, clock changes included."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from test_corpus import show

from kognitos_books import ConfigurationError, Runtime
from kognitos_books.credentials import CredentialStore


def stamp(text: str, zone: str) -> int:
    return int(datetime.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
               .timestamp())


def checked(rt: Runtime, text: str) -> str:
    (step,) = rt.check(text, given=("customer",))
    return show(step.call(lambda ref: f"<{ref.raw}>", None))


@pytest.fixture
def zoned(kbooks_home, monkeypatch):
    def make(zone: str) -> Runtime:
        CredentialStore(kbooks_home).save("stripe_pay", "default",
                                          {"api_key": "sk_test_" + "z" * 24},
                                          {"time_zone": zone}, "test")
        return Runtime(home=kbooks_home)

    monkeypatch.delenv("KBOOKS_STRIPE_PAY_TIME_ZONE", raising=False)
    return make


def test_a_date_is_its_whole_day_in_the_connections_zone(zoned):
    rt = zoned("Europe/Paris")
    start, end = stamp("2025-01-31", "Europe/Paris"), stamp("2025-02-01", "Europe/Paris")
    assert start == 1738278000  # 23:00 UTC the day before
    assert checked(rt, "get all customers from stripe whose created is 2025-01-31") == (
        f"get customer many where (created >= {start} and created < {end})")
    assert checked(rt, "get all customers from stripe whose created is after 2025-01-31") == (
        f"get customer many where created >= {end}")
    due = stamp("2030-01-31", "Europe/Paris")
    assert checked(rt, "create an invoice in stripe with\n  the customer is the customer's id\n"
                       "  the due date is 2030-01-31") == (
        f'create invoice {{"customer": "<the customer\'s id>", "due_date": {due}}}')


def test_a_day_the_clocks_change_is_not_24_hours(zoned):
    rt = zoned("America/New_York")
    start, end = stamp("2025-03-09", "America/New_York"), stamp("2025-03-10", "America/New_York")
    assert end - start == 23 * 3600
    assert checked(rt, "get all customers from stripe whose created is 2025-03-09") == (
        f"get customer many where (created >= {start} and created < {end})")


def test_the_environment_sets_the_zone_and_utc_is_the_default(zoned, monkeypatch):
    rt = zoned("UTC")
    assert checked(rt, "get all customers from stripe whose created is before 2025-01-31") == (
        "get customer many where created < 1738281600")
    monkeypatch.setenv("KBOOKS_STRIPE_PAY_TIME_ZONE", "Asia/Tokyo")
    assert checked(rt, "get all customers from stripe whose created is before 2025-01-31") == (
        f"get customer many where created < {stamp('2025-01-31', 'Asia/Tokyo')}")


def test_an_unknown_zone_is_refused(zoned, monkeypatch):
    rt = zoned("Mars/Olympus")
    with pytest.raises(ConfigurationError, match="'Mars/Olympus' is not a time zone"):
        rt.check("get all customers from stripe whose created is 2025-01-31")


def test_install_refuses_an_unknown_zone_before_sending_anything(kbooks_home):
    with pytest.raises(ConfigurationError, match="time_zone 'Nowhere' is not a time zone"):
        Runtime(home=kbooks_home).install("stripe_pay", credentials={
            "api_key": "sk_test_" + "z" * 24}, settings={"time_zone": "Nowhere",
                                                         "api_base": "http://127.0.0.1:9"})
    assert not (kbooks_home / "credentials.json").exists()
