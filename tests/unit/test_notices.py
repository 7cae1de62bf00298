"""Notices (ChargeUpcoming) against the schedule's reference (property-based): for random
schedules, zones with DST, month ends and 02-29, and random runs of ticks, the worker's
reading (look at an assignment only once its wake moment has come, carry noticed_through)
sends exactly the notices the contract's sentence describes: a period gets one when the first
tick at or after midnight of `period_start - notice_days` comes before the period is due."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from charger.domain.charges import due_charges
from charger.domain.model import Assignment, PackageVersion, Terms
from charger.domain.notices import upcoming, wake_at
from charger.domain.schedule import day_start
from tests.unit.test_schedule import reference_dates, schedules

ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "America/Santiago",  # midnight skipped at the spring change
    "Australia/Lord_Howe",  # half-hour DST
    "Asia/Kolkata",
]


def _version(frequency: str, match: list[int] | list[str], days: int | None) -> PackageVersion:
    return PackageVersion(
        package_id="p",
        version=1,
        effective_from=None,
        kind="recurring",
        retail=Decimal("1.00"),
        cost=None,
        setup_retail=None,
        setup_cost=None,
        currency="GBP",
        frequency=frequency,
        frequency_match=tuple(match),  # type: ignore[arg-type]
        free_minutes=None,
        notice_days=days,
    )


@settings(max_examples=300, deadline=None)
@given(
    schedule=schedules,
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    length=st.one_of(st.none(), st.integers(0, 400)),
    zone=st.sampled_from(ZONES),
    days=st.one_of(st.none(), st.integers(1, 45)),
    default=st.sampled_from([0, 3]),
    steps=st.lists(st.integers(1, 24 * 40), min_size=1, max_size=30),
)
def test_notices_follow_the_contract_under_any_run_of_ticks(
    schedule: tuple[str, list[int] | list[str]],
    start: date,
    length: int | None,
    zone: str,
    days: int | None,
    default: int,
    steps: list[int],
) -> None:
    frequency, match = schedule
    version = _version(frequency, match, days)
    end = None if length is None else start + timedelta(days=length)
    a = Assignment(
        assignment_id=uuid.UUID(int=1),
        customer_id="c",
        did=None,
        package_id="p",
        start_date=start,
        end_date=end,
        timezone=zone,
        terms=(Terms(None, 1, True, None),),
    )
    versions = [version]
    notice = default if days is None else days
    first_tick = day_start(start - timedelta(days=50), zone)
    ticks = [first_tick]
    for hours in steps:
        ticks.append(ticks[-1] + timedelta(hours=hours))

    # The worker's reading: an assignment is looked at only when its wake moment has come.
    through: date | None = None
    setup_done = False
    noticed: date | None = None
    wake = wake_at(a, versions, None, False, None, default)
    sent: list[date] = []
    for at in ticks:
        if wake is None or at < wake:
            continue
        due = due_charges(
            a,
            versions,
            at,
            from_period=through + timedelta(days=1) if through else None,
            include_setup=not setup_done,
            scheduled=True,
        )
        through = due.through or through
        setup_done = setup_done or due.setup_examined
        found = upcoming(a, versions, at, noticed, default)
        sent += [n.period.start for n in found.notices]
        assert all(n.due_at == day_start(n.period.start, zone) for n in found.notices)
        noticed = found.through
        wake = wake_at(a, versions, through, setup_done, noticed, default)
        assert wake is None or wake > at  # never looked at twice for one tick

    # The contract's sentence, from the reference billing dates.
    expected: list[date] = []
    if notice > 0:
        last = ticks[-1].date() + timedelta(days=notice + 400)
        for p in reference_dates(frequency, match, start, last if end is None else end):
            moment = day_start(p - timedelta(days=notice), zone)
            reached = next((t for t in ticks if t >= moment), None)
            if reached is not None and reached < day_start(p, zone):
                expected.append(p)
    assert sent == expected


def test_a_notice_in_a_zone_where_midnight_is_skipped() -> None:
    """Santiago skipped midnight on 2026-09-06 (clocks went from 00:00 to 01:00): the notice
    moment of a period starting on the 13th, 7 days ahead, is when that day began (01:00)."""
    version = _version("monthly", [13], 7)
    a = Assignment(
        assignment_id=uuid.UUID(int=2),
        customer_id="c",
        did=None,
        package_id="p",
        start_date=date(2026, 9, 13),
        end_date=None,
        timezone="America/Santiago",
        terms=(Terms(None, 1, True, None),),
    )
    began = day_start(date(2026, 9, 6), "America/Santiago")
    assert began == datetime(2026, 9, 6, 4, tzinfo=UTC)  # 01:00 at UTC-3
    assert wake_at(a, [version], None, False, None, 0) == began
    before = upcoming(a, [version], began - timedelta(seconds=1), None, 0)
    assert before.notices == []
    at = upcoming(a, [version], began, None, 0)
    assert [n.period.start for n in at.notices] == [date(2026, 9, 13)]
