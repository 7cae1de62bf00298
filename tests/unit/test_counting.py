"""Counting a catch-up from the calendar (charger.domain.counting) gives what listing the
charges and counting them gives (charges.due_charges + counted), for random packages, versions,
terms, starts, ends and horizons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charger.domain.charges import counted, due_charges
from charger.domain.counting import count_due, countable
from charger.domain.model import Terms
from tests.unit.test_charges import assignment, version

pytestmark = pytest.mark.unit

DAY0 = date(2025, 11, 20)

frequencies = st.sampled_from(
    [
        ("daily", ()),
        ("weekly", (1, 4)),
        ("monthly", (15,)),
        ("monthly", (1, 31)),
        ("yearly", ("02-29", "07-01")),
    ]
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[object, ...]:
    frequency, match = draw(frequencies)
    kind = draw(st.sampled_from(["recurring", "free_minutes"]))
    versions = [
        version(
            version=n + 1,
            effective_from=None if n == 0 else DAY0 + timedelta(days=draw(st.integers(0, 500))),
            kind=kind,
            retail=Decimal(draw(st.sampled_from(["0", "1.50"]))),
            setup_retail=draw(st.sampled_from([None, Decimal("0"), Decimal("9")])),
            frequency=frequency,
            frequency_match=match,
            free_minutes=draw(st.sampled_from([None, 0, 50])),
        )
        for n in range(draw(st.integers(1, 3)))
    ]
    terms = [
        Terms(
            None if n == 0 else DAY0 + timedelta(days=draw(st.integers(0, 500))),
            draw(st.integers(1, 3)),
            draw(st.booleans()),
            draw(st.sampled_from([None, 0, 20])),
        )
        for n in range(draw(st.integers(1, 3)))
    ]
    start = DAY0 + timedelta(days=draw(st.integers(0, 60)))
    end = draw(st.one_of(st.none(), st.integers(0, 700)))
    a = assignment(
        *terms,
        start_date=start,
        end_date=None if end is None else start + timedelta(days=end),
        timezone=draw(st.sampled_from(["UTC", "Europe/London", "Pacific/Kiritimati"])),
    )
    horizon = datetime(2025, 11, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 20_000)))
    since = draw(st.one_of(st.none(), st.integers(0, 400)))
    from_period = None if since is None else start + timedelta(days=since)
    until = draw(st.one_of(st.none(), st.integers(0, 600)))
    return (
        a,
        versions,
        horizon,
        from_period,
        draw(st.booleans()),
        None if until is None else start + timedelta(days=until),
    )


@settings(max_examples=300, deadline=None)
@given(cases())
def test_counting_from_the_calendar_is_counting_the_charges(case: tuple[object, ...]) -> None:
    a, versions, horizon, from_period, include_setup, until = case
    assert countable(versions)  # type: ignore[arg-type]
    listed = [
        c
        for c in due_charges(
            a,  # type: ignore[arg-type]
            versions,  # type: ignore[arg-type]
            horizon,  # type: ignore[arg-type]
            from_period,  # type: ignore[arg-type]
            include_setup,  # type: ignore[arg-type]
            until=until,  # type: ignore[arg-type]
            scheduled=True,
        ).charges
        if counted(c)
    ]
    found = count_due(a, versions, horizon, from_period, include_setup, until)  # type: ignore[arg-type]
    assert found.count == len(listed)
    assert found.first == (listed[0].period.start if listed else None)
    assert found.last == (listed[-1].period.start if listed else None)


def test_minimum_spend_and_part_periods_are_not_counted_from_the_calendar() -> None:
    assert not countable([version(kind="minimum_spend")])
    assert not countable([version(proration="daily")])
    assert not countable([])
