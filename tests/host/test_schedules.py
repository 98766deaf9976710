"""The slots of a schedule (kognitos_books.schedules): in UTC and in a zone's time, across
the nights the clocks change, and the days some months lack."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kognitos_books.language import parse
from kognitos_books.schedules import FORMS, Schedule, ScheduleError, time_zone

UTC = dt.UTC
NY = "America/New_York"
NEW_YORK = ZoneInfo(NY)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def local(*parts: int, zone: str = NY, fold: int = 0) -> dt.datetime:
    """The moment the clock of ``zone`` shows ``parts`` (the second time, with ``fold``), in
    UTC, as slots are given: two datetimes of one zone compare by their wall clock."""
    return dt.datetime(*parts, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def clock(slot: dt.datetime, zone: str = NY) -> tuple[int, int, float]:
    """The hour, minute and UTC offset (in hours) the clock of ``zone`` shows at ``slot``."""
    shown = slot.astimezone(ZoneInfo(zone))
    return shown.hour, shown.minute, shown.utcoffset().total_seconds() / 3600


def slots(schedule: Schedule, start: dt.datetime, end: dt.datetime, zone: str = NY):
    return list(schedule.slots_between(start, end, zone))


def written(text: str) -> Schedule:
    """The schedule the language reads ``text`` as."""
    return parse(f"{text}\n  stop\n").statements[0].schedule


@pytest.mark.parametrize(("made", "cron"), [
    (Schedule.daily(9, 0), "0 9 * * *"),
    (Schedule.weekly(range(1, 6), 8, 0), "0 8 * * 1-5"),
    (Schedule.weekly([4, 1, 4], 10, 30), "30 10 * * 1,4"),
    (Schedule.weekly([0, 6], 10, 0), "0 10 * * 0,6"),
    (Schedule.monthly(1, 8, 0), "0 8 1 * *"),
    (Schedule.monthly(None, 18, 0), "0 18 L * *"),
    (Schedule.hourly(), "0 * * * *"),
    (Schedule.hourly(15), "15 * * * *"),
    (Schedule.hourly(30, 6), "30 */6 * * *"),
    (Schedule.minutely(), "* * * * *"),
    (Schedule.minutely(15), "*/15 * * * *"),
])
def test_each_form_makes_its_cron_expression(made, cron):
    assert made.cron == cron


def test_the_languages_forms_are_the_schedules_made_from_their_parts():
    made = [Schedule.daily(9, 0), Schedule.weekly(range(1, 6), 8, 0),
            Schedule.weekly([1], 8, 30), Schedule.weekly([1, 4], 10, 0), Schedule.hourly(),
            Schedule.hourly(15), Schedule.hourly(0, 2), Schedule.hourly(30, 6),
            Schedule.minutely(), Schedule.minutely(15), Schedule.monthly(1, 8, 0),
            Schedule.monthly(None, 18, 0)]
    assert [written(form.example).cron for form in FORMS] == [m.cron for m in made]


def test_a_cron_expression_has_five_fields():
    with pytest.raises(ValueError, match="five fields"):
        Schedule("0 9 * *")


def test_which_schedules_repeat_through_the_day():
    assert Schedule.hourly(15).repeats_through_the_day
    assert Schedule.hourly(0, 2).repeats_through_the_day
    assert Schedule.minutely(15).repeats_through_the_day
    assert not Schedule.daily(1, 30).repeats_through_the_day
    assert not Schedule.monthly(None, 1, 30).repeats_through_the_day


# ----------------------------------------------------------------------- in UTC


def test_the_next_slot_is_strictly_after_the_moment():
    daily = Schedule.daily(9, 0)
    assert daily.next_after(utc(2025, 1, 1, 8, 59, 59), "UTC") == utc(2025, 1, 1, 9)
    assert daily.next_after(utc(2025, 1, 1, 9), "UTC") == utc(2025, 1, 2, 9)
    assert daily.next_after(utc(2025, 1, 1, 9, 0, 1), "UTC") == utc(2025, 1, 2, 9)


def test_the_next_slot_is_read_in_utc_whatever_the_moments_zone():
    moment = dt.datetime(2025, 1, 1, 3, tzinfo=NEW_YORK)  # 08:00 UTC
    assert Schedule.daily(9, 0).next_after(moment, "UTC") == utc(2025, 1, 1, 9)
    assert Schedule.daily(9, 0).next_after(moment, NY) == utc(2025, 1, 1, 14)
    assert Schedule.daily(9, 0).next_after(moment, NY).tzinfo is UTC


def test_weekdays_skip_the_weekend():
    friday_evening = utc(2025, 1, 3, 18)
    assert written("every weekday at 08:00").next_after(friday_evening, "UTC") \
        == utc(2025, 1, 6, 8)
    monday_thursday = written("every monday and thursday at 10:00")
    assert slots(monday_thursday, utc(2025, 1, 1), utc(2025, 1, 14), "UTC") == [
        utc(2025, 1, 2, 10), utc(2025, 1, 6, 10), utc(2025, 1, 9, 10), utc(2025, 1, 13, 10)]


def test_slots_between_two_moments_after_the_start_up_to_the_end():
    hourly = written("every hour at :15")
    assert slots(hourly, utc(2025, 1, 1, 0, 15), utc(2025, 1, 1, 3, 15), "UTC") == [
        utc(2025, 1, 1, 1, 15), utc(2025, 1, 1, 2, 15), utc(2025, 1, 1, 3, 15)]
    assert slots(hourly, utc(2025, 1, 1, 0, 16), utc(2025, 1, 1, 1, 14), "UTC") == []
    quarter = written("every 15 minutes")
    assert len(slots(quarter, utc(2025, 1, 1), utc(2025, 1, 2), "UTC")) == 96


@pytest.mark.parametrize("text", ["every day at 2:30 am", "every hour at :30",
                                  "every 15 minutes", "on the last day of every month at 1am",
                                  "every 2 hours"])
@pytest.mark.parametrize("zone", ["UTC", NY, "Europe/London", "Australia/Lord_Howe"])
def test_slots_between_are_the_next_slots_one_after_the_other(text, zone):
    schedule = written(text)
    start, end = utc(2025, 3, 1), utc(2025, 4, 10)
    if schedule.cron.startswith("*/"):
        start, end = utc(2025, 3, 9, 4), utc(2025, 3, 9, 9)  # (a day of change, briefly)
    found = slots(schedule, start, end, zone)
    stepped, moment = [], start
    while (moment := schedule.next_after(moment, zone)) <= end:
        stepped.append(moment)
    assert found == stepped and found
    assert found == sorted(set(found))


def test_a_moment_and_an_end_need_their_time_zone():
    with pytest.raises(ValueError, match="time zone"):
        Schedule.daily(9, 0).next_after(dt.datetime(2025, 1, 1), "UTC")
    with pytest.raises(ValueError, match="time zone"):
        list(Schedule.daily(9, 0).slots_between(utc(2025, 1, 1), dt.datetime(2025, 1, 2), "UTC"))


def test_a_zone_the_database_does_not_know_is_refused_with_the_closest():
    with pytest.raises(ScheduleError) as caught:
        Schedule.daily(9, 0).next_after(utc(2025, 1, 1), "America/New_Yrok")
    assert caught.value.message.startswith(
        "'America/New_Yrok' is not a time zone; did you mean \"America/New_York\"")
    assert time_zone("UTC") is UTC
    assert time_zone(NY) == NEW_YORK


# ----------------------------------------------------------------------- in New York


def test_a_time_of_day_stays_on_the_local_clock_across_the_change():
    daily = written("every day at 09:00")
    assert slots(daily, utc(2025, 3, 8), utc(2025, 3, 10, 23), NY) == [
        utc(2025, 3, 8, 14), utc(2025, 3, 9, 13), utc(2025, 3, 10, 13)]  # EST, then EDT
    assert clock(daily.next_after(utc(2025, 3, 9), NY)) == (9, 0, -4)


def test_a_time_the_clock_skips_fires_once_as_much_later_as_the_clock_jumped():
    # 2025-03-09: New York's clocks go from 02:00 EST to 03:00 EDT
    daily = written("every day at 2:30am")
    assert slots(daily, local(2025, 3, 8, 12), local(2025, 3, 10, 12)) == [
        local(2025, 3, 9, 3, 30), local(2025, 3, 10, 2, 30)]
    assert daily.next_after(local(2025, 3, 9, 1, 59), NY) == local(2025, 3, 9, 3, 30)
    assert daily.next_after(local(2025, 3, 9, 3, 10), NY) == local(2025, 3, 9, 3, 30)
    assert daily.next_after(local(2025, 3, 9, 3, 30), NY) == local(2025, 3, 10, 2, 30)


def test_a_time_of_day_the_clock_shows_twice_fires_the_first_time_only():
    # 2025-11-02: New York's clocks go from 02:00 EDT back to 01:00 EST
    daily = written("every day at 1:30am")
    first = local(2025, 11, 2, 1, 30)
    assert clock(first) == (1, 30, -4)
    assert slots(daily, local(2025, 11, 1, 12), local(2025, 11, 3, 12)) == [
        first, local(2025, 11, 3, 1, 30)]
    # asked in the second 01:30 (EST), the next is the next day's
    assert daily.next_after(local(2025, 11, 2, 1, 20, fold=1), NY) == local(2025, 11, 3, 1, 30)


def test_an_hourly_schedule_fires_both_times_the_clock_shows_its_minute():
    hourly = written("every hour at :30")
    found = slots(hourly, local(2025, 11, 2, 0), local(2025, 11, 2, 3))
    assert [clock(slot) for slot in found] == [(0, 30, -4), (1, 30, -4), (1, 30, -5),
                                               (2, 30, -5)]
    assert all(b - a == dt.timedelta(hours=1) for a, b in zip(found, found[1:], strict=False))
    # from inside the repeated hour: the second 01:30 is next
    assert hourly.next_after(local(2025, 11, 2, 1, 45), NY) == local(2025, 11, 2, 1, 30, fold=1)


def test_a_minutes_schedule_never_pauses_nor_doubles_across_either_change():
    quarter = written("every 15 minutes")
    spring = slots(quarter, local(2025, 3, 9, 1), local(2025, 3, 9, 3, 30))
    assert [clock(slot)[:2] for slot in spring] == [
        (1, 15), (1, 30), (1, 45), (3, 0), (3, 15), (3, 30)]
    autumn = slots(quarter, local(2025, 11, 2, 0, 50), local(2025, 11, 2, 2, 0))
    assert [clock(slot) for slot in autumn] == [
        *((1, minute, -4) for minute in (0, 15, 30, 45)),
        *((1, minute, -5) for minute in (0, 15, 30, 45)), (2, 0, -5)]
    for found in (spring, autumn):
        assert all(b - a == dt.timedelta(minutes=15)
                   for a, b in zip(found, found[1:], strict=False))


def test_a_half_hour_change_shifts_a_skipped_time_by_half_an_hour():
    # 2025-10-05: Lord Howe Island's clocks go from 02:00 to 02:30
    zone = "Australia/Lord_Howe"
    daily = written("every day at 2:15am")
    assert slots(daily, local(2025, 10, 4, 12, zone=zone), local(2025, 10, 6, 0, zone=zone),
                 zone) == [local(2025, 10, 5, 2, 45, zone=zone)]


def test_a_skipped_day_fires_once_on_the_next():
    # Samoa skipped 2011-12-30 (from UTC-10 to UTC+14)
    zone = "Pacific/Apia"
    daily = written("every day at 09:00")
    assert slots(daily, local(2011, 12, 28, zone=zone), local(2012, 1, 1, zone=zone),
                 zone) == [local(2011, 12, 28, 9, zone=zone), local(2011, 12, 29, 9, zone=zone),
                           local(2011, 12, 31, 9, zone=zone)]


def test_a_schedule_read_with_its_zone_gives_its_slots_there():
    every = parse('every weekday at 8am in time zone "America/New_York"\n  stop\n').statements[0]
    saturday = utc(2025, 7, 5, 12)
    assert every.schedule.next_after(saturday, every.zone.value) == utc(2025, 7, 7, 12)


# ----------------------------------------------------------------------- months


def test_a_day_some_months_lack_fires_only_in_the_months_that_have_it():
    on_31st = written("on the 31st of every month at 08:00")
    assert on_31st.next_after(utc(2025, 4, 1), "UTC") == utc(2025, 5, 31, 8)
    found = slots(on_31st, utc(2025, 1, 1), utc(2025, 12, 31, 23), "UTC")
    assert [slot.month for slot in found] == [1, 3, 5, 7, 8, 10, 12]
    on_29th = written("on the 29th of every month at 08:00")
    assert on_29th.next_after(utc(2025, 2, 1), "UTC") == utc(2025, 3, 29, 8)
    assert on_29th.next_after(utc(2024, 2, 1), "UTC") == utc(2024, 2, 29, 8)


def test_the_last_day_of_every_month_is_each_months_own():
    last = written("on the last day of every month at 6pm")
    found = slots(last, utc(2024, 1, 1), utc(2024, 12, 31, 23, 59), "UTC")
    assert [(slot.month, slot.day) for slot in found] == [
        (1, 31), (2, 29), (3, 31), (4, 30), (5, 31), (6, 30), (7, 31), (8, 31), (9, 30),
        (10, 31), (11, 30), (12, 31)]
    assert last.next_after(utc(2025, 2, 1), NY) == local(2025, 2, 28, 18)
