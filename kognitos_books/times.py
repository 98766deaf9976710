"""Times as people say them, found when a step runs: ``today``, ``3 days ago``, ``in 2
weeks``, ``last month``, ``the end of last month``, in a time zone.

The calendar arithmetic (a month back from March 31st, a week's start) is dateutil's
``relativedelta``; time zones are the zone database's (``zoneinfo``). Nothing here is
evaluated when an automation is checked: a checked automation may run tomorrow.
"""

from __future__ import annotations

import datetime
from typing import Any

import attrs

#: What "now" is: None for the system clock (tests and embedding code may set a function
#: returning an aware datetime).
CLOCK: Any = None

_OFFSET = {"last": -1, "this": 0, "next": 1, "yesterday": -1, "today": 0, "tomorrow": 1}


def zone_of(name: str) -> datetime.tzinfo:
    """The time zone called ``name`` (UTC without the zone database)."""
    if name == "UTC":
        return datetime.UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@attrs.frozen
class When:
    """A time said in an automation (an :class:`~kognitos_books.language.ast.Moment`),
    read in ``zone``. ``bound``: ``"start"`` the first second of what it names, ``"end"``
    its last second (``the end of last month``), ``"after"`` the first second after it
    (for "before the end" comparisons). :meth:`stamp` gives its Unix seconds now."""

    kind: str
    count: int
    unit: str
    bound: str
    zone: str
    raw: str = attrs.field(eq=False)

    def stamp(self, now: datetime.datetime | None = None) -> int:
        start, after = self.span(now)
        if self.bound == "start":
            return start
        if self.bound == "end":
            return after - 1 if after > start else after
        return after

    def span(self, now: datetime.datetime | None = None) -> tuple[int, int]:
        """What it names as (first second, first second after): a day, a week, a month,
        a year, or one instant (then both are that instant)."""
        tz = zone_of(self.zone)
        now = (now or current(tz)).astimezone(tz)
        if self.kind == "now":
            moment = int(now.timestamp())
            return moment, moment
        if self.kind in ("ago", "in"):
            from dateutil.relativedelta import relativedelta

            delta = relativedelta(**{f"{self.unit}s": self.count})  # type: ignore[arg-type]
            moment = int((now - delta if self.kind == "ago" else now + delta).timestamp())
            return moment, moment
        first, nxt = _period(now, self.unit, _OFFSET[self.kind])
        return int(first.timestamp()), int(nxt.timestamp())

    def __str__(self) -> str:
        return self.raw


def current(tz: datetime.tzinfo) -> datetime.datetime:
    """Now, in ``tz``."""
    return CLOCK().astimezone(tz) if CLOCK is not None else datetime.datetime.now(tz)


def day_span(when: When, now: datetime.datetime | None = None) -> tuple[int, int]:
    """The day ``when``'s instant falls on, in its zone."""
    tz = zone_of(when.zone)
    moment = datetime.datetime.fromtimestamp(when.span(now)[0], tz)
    first = datetime.datetime(moment.year, moment.month, moment.day, tzinfo=tz)
    nxt = first.date() + datetime.timedelta(days=1)
    return int(first.timestamp()), int(datetime.datetime(nxt.year, nxt.month, nxt.day,
                                                          tzinfo=tz).timestamp())


@attrs.frozen
class DayOf:
    """A bound of the day a :class:`When` instant falls on: ``bound`` ``"start"`` or
    ``"after"`` (``created is 3 days ago``: any time that day)."""

    when: When
    bound: str

    @property
    def raw(self) -> str:
        return self.when.raw

    def stamp(self, now: datetime.datetime | None = None) -> int:
        start, after = day_span(self.when, now)
        return start if self.bound == "start" else after

    def __str__(self) -> str:
        return self.when.raw


def _period(now: datetime.datetime, unit: str, offset: int
            ) -> tuple[datetime.datetime, datetime.datetime]:
    from dateutil.relativedelta import relativedelta

    tz = now.tzinfo
    midnight = datetime.datetime(now.year, now.month, now.day, tzinfo=tz)
    if unit == "day":
        first = midnight
    elif unit == "week":
        first = midnight - datetime.timedelta(days=now.weekday())  # weeks start on Monday
    elif unit == "month":
        first = midnight.replace(day=1)
    else:
        first = midnight.replace(month=1, day=1)
    step = relativedelta(**{f"{unit}s": 1})  # type: ignore[arg-type]
    first = _local(first + step * offset, tz)
    return first, _local(first + step, tz)


def _local(moment: datetime.datetime, tz: Any) -> datetime.datetime:
    """The same wall time in ``tz`` (a clock change between keeps midnight midnight)."""
    return datetime.datetime(moment.year, moment.month, moment.day, moment.hour,
                             moment.minute, moment.second, tzinfo=tz)


def moved(stamp: int, count: int, unit: str, zone: str = "UTC") -> int:
    """``stamp`` (Unix seconds) moved ``count`` units (day, week, month, year) later, on
    the calendar of ``zone``: a month after January 31st is February's last day."""
    from dateutil.relativedelta import relativedelta

    start = datetime.datetime.fromtimestamp(stamp, zone_of(zone))
    delta = relativedelta(**{f"{unit}s": count})  # type: ignore[arg-type]
    return int((start + delta).timestamp())
