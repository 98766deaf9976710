"""When a schedule block's time comes: the slots of a :class:`Schedule`, in a time zone.

An automation's ``every day at 09:00`` (or ``on the 1st of every month at 08:00``, ...) is
read by the language into a :class:`Schedule`: a cron expression of five fields and the
words as written. The calendar arithmetic is croniter's; the time zone the zone database's
(``zoneinfo``). Cron reads its fields on the wall clock of the zone, and two rules say what
a wall clock time means on the days the clocks change:

- A time the clock skips (02:30 the night the clocks go forward) fires once, as much later
  as the clock jumped (03:30 where it jumps by an hour): the moment ``zoneinfo`` gives the
  time with the offset of before the change. A slot that lands on another slot fires once.
- A time the clock shows twice (01:30 the night the clocks go back) fires the first time
  only, for a schedule at a time of day (its hour field is fixed: every day, every weekday,
  every monday, on the 1st of every month). A schedule that repeats through the day (its
  hour field is ``*`` or ``*/N``: every hour, every 15 minutes, every 2 hours) fires both
  times, as the clock reads its minute again: it never stops for an hour. (Vixie cron's
  rule.)

A day of the month some months lack (``on the 31st``) fires only in the months that have
it, as in cron; ``on the last day of every month`` is each month's last day.
"""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Iterable, Iterator

import attrs

from .model import ConfigurationError

__all__ = ["FORMS", "Form", "Schedule", "ScheduleError", "time_zone"]

#: How far from a moment a change of the clock is looked for: more than a day, the largest
#: jump of any zone (Samoa skipped 30 December 2011).
_REACH = datetime.timedelta(hours=27)
_NO_JUMP = datetime.timedelta(0)


class ScheduleError(ConfigurationError):
    """A schedule that cannot be computed: a time zone the zone database does not know."""


@attrs.frozen
class Form:
    """One form of schedule the language reads, as docs/LANGUAGE.md's table shows it:
    ``written`` with its parts in capitals, and an ``example``."""

    written: str
    example: str


#: Every form of schedule, in the order docs/LANGUAGE.md lists them (its table is tested
#: against this one, and each example against the cron expression the table gives).
FORMS: tuple[Form, ...] = (
    Form("every day at TIME", "every day at 09:00"),
    Form("every weekday at TIME", "every weekday at 08:00"),
    Form("every WEEKDAY at TIME", "every monday at 8:30 am"),
    Form("every WEEKDAY and WEEKDAY at TIME", "every monday and thursday at 10:00"),
    Form("every hour", "every hour"),
    Form("every hour at :MINUTE", "every hour at :15"),
    Form("every N hours", "every 2 hours"),
    Form("every N hours at :MINUTE", "every 6 hours at :30"),
    Form("every minute", "every minute"),
    Form("every N minutes", "every 15 minutes"),
    Form("on the DAY of every month at TIME", "on the 1st of every month at 08:00"),
    Form("on the last day of every month at TIME", "on the last day of every month at 6pm"),
)


def _check_cron(instance: Schedule, attribute: attrs.Attribute[str], value: str) -> None:
    if len(value.split()) != 5:
        raise ValueError(f"a cron expression has five fields, not {value!r}")


@attrs.frozen
class Schedule:
    """When a schedule block runs: ``cron``, five fields (minute, hour, day of the month,
    month, day of the week; Sunday is 0), read on the wall clock of the zone it is asked
    in; ``text``, the schedule as written (``every monday at 8:30 am``).

    The class methods make one from its parts; :meth:`next_after` and
    :meth:`slots_between` give its slots (see the module for the rules of the days the
    clocks change).
    """

    cron: str = attrs.field(validator=_check_cron)
    text: str = ""

    # -- made from its parts (hours 0 to 23, minutes 0 to 59, weekdays 0 (Sunday) to 6;
    # written as nothing: the language sets ``text``)

    @classmethod
    def daily(cls, hour: int, minute: int) -> Schedule:
        return cls(f"{minute} {hour} * * *")

    @classmethod
    def weekly(cls, days: Iterable[int], hour: int, minute: int) -> Schedule:
        """On ``days`` of the week; Monday to Friday is written ``1-5``."""
        found = sorted(set(days))
        weekdays = "1-5" if found == [1, 2, 3, 4, 5] else ",".join(map(str, found))
        return cls(f"{minute} {hour} * * {weekdays}")

    @classmethod
    def monthly(cls, day: int | None, hour: int, minute: int) -> Schedule:
        """On ``day`` of each month (1 to 31; None for the month's last day, cron's ``L``)."""
        return cls(f"{minute} {hour} {'L' if day is None else day} * *")

    @classmethod
    def hourly(cls, minute: int = 0, hours: int = 1) -> Schedule:
        """At ``minute`` past every hour, or every ``hours`` hours from midnight."""
        return cls(f"{minute} {'*' if hours == 1 else f'*/{hours}'} * * *")

    @classmethod
    def minutely(cls, minutes: int = 1) -> Schedule:
        """Every ``minutes`` minutes from the hour's start."""
        return cls(f"{'*' if minutes == 1 else f'*/{minutes}'} * * * *")

    # -- its slots

    @property
    def repeats_through_the_day(self) -> bool:
        """Whether its hour field is ``*`` or ``*/N``: then it fires both times the clock
        shows a time twice."""
        return self.cron.split()[1].startswith("*")

    # (A slot is given in UTC: Python compares two datetimes of one zone by their wall
    # clock, so that the two 01:30s of a night the clocks go back would be equal.
    # ``slot.astimezone(ZoneInfo(zone))`` shows it on the zone's clock.)

    def next_after(self, moment: datetime.datetime, zone: str) -> datetime.datetime:
        """The first slot strictly after ``moment`` (an aware datetime), the schedule read
        on ``zone``'s clock; an aware datetime in UTC."""
        return next(self._slots(moment, zone))

    def slots_between(self, start: datetime.datetime, end: datetime.datetime,
                      zone: str) -> Iterator[datetime.datetime]:
        """The slots after ``start`` up to ``end`` included, in order, each once (in UTC,
        as :meth:`next_after` gives them): those a run that last looked at ``start`` and
        looks again at ``end`` has to run."""
        if end.tzinfo is None or end.utcoffset() is None:
            raise ValueError(f"the end of the slots needs its time zone: {end!r}")
        end = end.astimezone(datetime.UTC)
        for slot in self._slots(start, zone):
            if slot > end:
                return
            yield slot

    def _slots(self, after: datetime.datetime, zone: str) -> Iterator[datetime.datetime]:
        """Every slot after ``after``, in order.

        Cron's wall clock times come in the order of the clock, which is the order of time
        except near a change of the clock (a skipped time fired later, a repeated one fired
        twice). So the times are read from as far before ``after`` as the clock jumps near
        it, and a slot is given out once no later wall clock time can come before it: once
        the times read are past it by more than the jump near it.
        """
        if after.tzinfo is None or after.utcoffset() is None:
            raise ValueError(f"a moment needs its time zone to find a slot after it: {after!r}")
        from croniter import croniter

        tz = time_zone(zone)
        after = after.astimezone(datetime.UTC)
        wall = after.astimezone(tz).replace(tzinfo=None, fold=0) - _jump(tz, after)
        times = croniter(self.cron, wall)
        waiting: list[tuple[datetime.datetime, datetime.datetime]] = []  # (slot, its time)
        last = after
        repeats = self.repeats_through_the_day
        while True:
            wall = times.get_next(datetime.datetime)
            while waiting and waiting[0][1] + _jump(tz, waiting[0][0]) < wall:
                slot, _ = heapq.heappop(waiting)
                if slot > last:  # (a skipped time fired later may land on another slot)
                    last = slot
                    yield slot
            for slot in _moments(wall, tz, repeats):
                if slot > after:
                    heapq.heappush(waiting, (slot, wall))


def _moments(wall: datetime.datetime, tz: datetime.tzinfo,
             repeats: bool) -> list[datetime.datetime]:
    """The moments (in UTC) a wall clock time of ``tz`` fires at: one, or for a time the
    clock shows twice, the first (and the second too if the schedule ``repeats`` through
    the day). A time the clock skips is read with the offset of before the change."""
    first = wall.replace(tzinfo=tz)
    second = wall.replace(tzinfo=tz, fold=1)
    moments = [first.astimezone(datetime.UTC)]
    if repeats and first.utcoffset() != second.utcoffset():
        again = second.astimezone(datetime.UTC)
        if again.astimezone(tz).replace(tzinfo=None) == wall:  # shown twice, not skipped
            moments.append(again)
    return moments


def _jump(tz: datetime.tzinfo, moment: datetime.datetime) -> datetime.timedelta:
    """How far the clock of ``tz`` is changed within :data:`_REACH` of ``moment`` (UTC);
    nothing for most moments."""
    try:
        before = (moment - _REACH).astimezone(tz).utcoffset()
        later = (moment + _REACH).astimezone(tz).utcoffset()
    except OverflowError:
        return _NO_JUMP  # (at the ends of the calendar: no zone changes its clock there)
    assert before is not None and later is not None
    return abs(later - before)


def time_zone(name: str) -> datetime.tzinfo:
    """The time zone called ``name`` in the zone database (UTC is known without it);
    :class:`ScheduleError` with the closest names for any other name."""
    if name == "UTC":
        return datetime.UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        from .language.errors import did_you_mean

        raise ScheduleError(
            f"{name!r} is not a time zone{did_you_mean(name, sorted(available_timezones()))}",
            hint="use a name from the zone database, such as UTC, Europe/Paris or "
            "America/New_York") from None
