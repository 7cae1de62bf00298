"""The schedule engine against a deliberately simple reference (property-based), plus tables of
edge cases: month ends, clamped duplicates, 02-29, leap years, DST days."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charger.domain.schedule import (
    billing_dates,
    day_start,
    last_date_started_by,
    next_billing_date,
    periods,
)


def is_billing_date(frequency: str, match: list[int] | list[str], d: date) -> bool:
    """The reference: docs/contract.md §5's table, one day at a time."""
    if frequency == "daily":
        return True
    if frequency == "weekly":
        return d.isoweekday() in match
    last = calendar.monthrange(d.year, d.month)[1]
    if frequency == "monthly":
        return any(min(int(m), last) == d.day for m in match)
    for entry in match:
        month, day = int(str(entry)[:2]), int(str(entry)[3:])
        if month == 2 and day == 29 and not calendar.isleap(d.year):
            day = 28
        if (month, day) == (d.month, d.day):
            return True
    return False


def reference_dates(frequency: str, match: list[int] | list[str], lo: date, hi: date) -> list[date]:
    return [
        lo + timedelta(days=n)
        for n in range((hi - lo).days + 1)
        if is_billing_date(frequency, match, lo + timedelta(days=n))
    ]


days = st.dates(min_value=date(1999, 1, 1), max_value=date(2040, 12, 31))
schedules = st.one_of(
    st.just(("daily", [])),
    st.tuples(st.just("weekly"), st.lists(st.integers(1, 7), min_size=1, max_size=7)),
    st.tuples(st.just("monthly"), st.lists(st.integers(1, 31), min_size=1, max_size=5)),
    st.tuples(
        st.just("yearly"),
        st.lists(
            st.dates(min_value=date(2000, 1, 1), max_value=date(2000, 12, 31)).map(
                lambda d: d.strftime("%m-%d")
            ),
            min_size=1,
            max_size=4,
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(schedule=schedules, lo=days, span=st.integers(0, 800))
def test_billing_dates_match_the_reference(
    schedule: tuple[str, list[int] | list[str]], lo: date, span: int
) -> None:
    frequency, match = schedule
    hi = lo + timedelta(days=span)
    assert list(billing_dates(frequency, match, lo, hi)) == reference_dates(
        frequency, match, lo, hi
    )


@settings(max_examples=300, deadline=None)
@given(schedule=schedules, lo=days, span=st.integers(0, 800))
def test_periods_tile_time_from_one_billing_date_to_the_next(
    schedule: tuple[str, list[int] | list[str]], lo: date, span: int
) -> None:
    frequency, match = schedule
    hi = lo + timedelta(days=span)
    found = list(periods(frequency, match, lo, hi))
    assert [p.start for p in found] == reference_dates(frequency, match, lo, hi)
    for p in found:
        assert p.end > p.start
        assert is_billing_date(frequency, match, p.end)
        gap = reference_dates(frequency, match, p.start + timedelta(days=1), p.end)
        assert gap == [p.end]  # no billing date strictly inside a period
    for a, b in itertools.pairwise(found):
        assert a.end == b.start


@settings(max_examples=200, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(
        [
            "UTC",
            "Europe/London",
            "America/New_York",
            "America/Santiago",
            "Asia/Tokyo",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
        ]
    ),
)
def test_the_last_date_started_is_the_last_whose_start_is_not_after_the_instant(
    at: datetime, zone: str
) -> None:
    d = last_date_started_by(at, zone)
    assert day_start(d, zone) <= at < day_start(d + timedelta(days=1), zone)


@pytest.mark.parametrize(
    ("frequency", "match", "lo", "hi", "expected"),
    [
        (
            "monthly",
            [31],
            date(2026, 1, 1),
            date(2026, 4, 30),
            [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)],
        ),
        (
            "monthly",
            [30, 31],
            date(2026, 2, 1),
            date(2026, 3, 31),
            [date(2026, 2, 28), date(2026, 3, 30), date(2026, 3, 31)],
        ),  # clamped twice: once
        ("monthly", [29], date(2028, 2, 1), date(2028, 2, 29), [date(2028, 2, 29)]),
        (
            "yearly",
            ["02-29"],
            date(2026, 1, 1),
            date(2028, 12, 31),
            [date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)],
        ),
        ("yearly", ["02-28", "02-29"], date(2027, 1, 1), date(2027, 12, 31), [date(2027, 2, 28)]),
        ("weekly", [7], date(2026, 1, 1), date(2026, 1, 14), [date(2026, 1, 4), date(2026, 1, 11)]),
    ],
)
def test_edge_cases(
    frequency: str, match: list[int] | list[str], lo: date, hi: date, expected: list[date]
) -> None:
    assert list(billing_dates(frequency, match, lo, hi)) == expected


def test_next_billing_date_skips_to_the_next_year() -> None:
    assert next_billing_date("yearly", ["02-29"], date(2028, 2, 29)) == date(2029, 2, 28)


@pytest.mark.parametrize(
    ("day", "zone", "expected"),
    [
        (date(2026, 3, 29), "Europe/London", datetime(2026, 3, 29, 0, tzinfo=UTC)),  # GMT
        (date(2026, 3, 30), "Europe/London", datetime(2026, 3, 29, 23, tzinfo=UTC)),  # BST
        (date(2026, 10, 25), "Europe/London", datetime(2026, 10, 24, 23, tzinfo=UTC)),
        (date(2026, 1, 15), "Asia/Tokyo", datetime(2026, 1, 14, 15, tzinfo=UTC)),
        # Santiago jumps from 00:00 to 01:00 on 2026-09-06: the day begins at the jump.
        (date(2026, 9, 6), "America/Santiago", datetime(2026, 9, 6, 4, tzinfo=UTC)),
    ],
)
def test_day_start_across_dst(day: date, zone: str, expected: datetime) -> None:
    assert day_start(day, zone) == expected
