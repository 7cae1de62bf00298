"""Billing dates and periods (docs/contract.md §5), and the moments they begin.

Pure and calendar-only: no package, no money. Dates are generated a month (or a year) at a
time rather than day by day, so long catch-ups stay cheap.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

Match = Sequence[int] | Sequence[str]


@dataclass(frozen=True, order=True)
class Period:
    """[start, end): starts on a billing date and ends on the next one; or a part of such a
    period charged by the day (docs/contract.md §7), whose `charged_days` of its enclosing
    period's `period_days` are given."""

    start: date
    end: date
    charged_days: int | None = field(default=None, compare=False)
    period_days: int | None = field(default=None, compare=False)


def _month_days(year: int, month: int, match: Sequence[int]) -> list[int]:
    last = calendar.monthrange(year, month)[1]
    return sorted({min(d, last) for d in match})


def _year_dates(year: int, match: Sequence[str]) -> list[date]:
    out = set()
    for entry in match:
        month, day = int(entry[:2]), int(entry[3:])
        if month == 2 and day == 29 and not calendar.isleap(year):
            day = 28
        out.add(date(year, month, day))
    return sorted(out)


def billing_dates(frequency: str, match: Match, lo: date, hi: date | None = None) -> Iterator[date]:
    """Billing dates d with lo <= d (<= hi when given), in order. Without `hi` it never ends."""
    if frequency == "daily":
        d = lo
        while hi is None or d <= hi:
            yield d
            d += timedelta(days=1)
    elif frequency == "weekly":
        weekdays = {int(m) for m in match}
        d = lo
        while hi is None or d <= hi:
            if d.isoweekday() in weekdays:
                yield d
            d += timedelta(days=1)
    elif frequency == "monthly":
        days = [int(m) for m in match]
        year, month = lo.year, lo.month
        while hi is None or date(year, month, 1) <= hi:
            for day in _month_days(year, month, days):
                d = date(year, month, day)
                if d >= lo and (hi is None or d <= hi):
                    yield d
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    elif frequency == "yearly":
        entries = [str(m) for m in match]
        year = lo.year
        while hi is None or date(year, 1, 1) <= hi:
            for d in _year_dates(year, entries):
                if d >= lo and (hi is None or d <= hi):
                    yield d
            year += 1
    else:
        raise ValueError(f"unknown frequency {frequency!r}")


def next_billing_date(frequency: str, match: Match, after: date) -> date:
    """The first billing date strictly after `after`."""
    return next(billing_dates(frequency, match, after + timedelta(days=1)))


LONGEST_PERIOD_DAYS = 366
"""No period is longer (a yearly one with one date a year)."""


def enclosing_period(frequency: str, match: Match, day: date) -> Period:
    """[b0, b1) with b0 the latest billing date on or before `day` and b1 the first after it
    (docs/contract.md §7)."""
    lo = max(date.min, day - timedelta(days=LONGEST_PERIOD_DAYS))
    b0 = None
    for d in billing_dates(frequency, match, lo, day):
        b0 = d
    assert b0 is not None  # a billing date lies in any span of a longest period
    return Period(b0, next_billing_date(frequency, match, day))


def periods(frequency: str, match: Match, lo: date, hi: date | None = None) -> Iterator[Period]:
    """Periods whose start lies in [lo, hi] (hi None: no end), in order."""
    dates = billing_dates(frequency, match, lo, hi)
    current = next(dates, None)
    while current is not None:
        following = next(dates, None)
        end = following if following is not None else next_billing_date(frequency, match, current)
        yield Period(current, end)
        current = following


@lru_cache(maxsize=4096)
def period_list(
    frequency: str, match: tuple[int, ...] | tuple[str, ...], lo: date, hi: date
) -> tuple[Period, ...]:
    """`periods` as a tuple, cached: the assignments of a package mostly ask for the same
    stretch (the periods since the last tick), a million times per tick."""
    return tuple(periods(frequency, match, lo, hi))


@lru_cache(maxsize=4096)
def first_period(
    frequency: str, match: tuple[int, ...] | tuple[str, ...], lo: date, hi: date | None
) -> Period | None:
    """The first of `periods`, cached like `period_list`."""
    return next(periods(frequency, match, lo, hi), None)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65536)
def day_start(day: date, timezone: str) -> datetime:
    """The first instant of `day` in `timezone`, in UTC (cached: a tick asks for the same few
    dates in the same few zones a million times).

    Midnight in the zone; where the clocks jump over midnight (a DST gap) the day begins at
    the jump, which is what fold=0 resolves to; where midnight happens twice, the first."""
    local = datetime.combine(day, time(0), tzinfo=_zone(timezone))
    return local.astimezone(UTC)


@lru_cache(maxsize=4096)
def last_date_started_by(at: datetime, timezone: str) -> date:
    """The latest date whose start in `timezone` is at or before `at`."""
    local = at.astimezone(_zone(timezone)).date()
    # Around a gap the local date at `at` may have begun later than `at` itself suggests.
    while day_start(local, timezone) > at:
        local -= timedelta(days=1)
    return local
