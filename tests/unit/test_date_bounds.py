"""Every pure date function is total over the contract's date bounds (docs/contract.md §2:
1900-01-01..2999-12-31) in every IANA zone: a date or zone at the ends of the calendar never
raises (an OverflowError in the charger's projection once stopped every tick), and the shared
models refuse what lies outside."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charger.domain.charges import due_charges, next_due
from charger.domain.model import Terms
from charger.domain.schedule import day_start, last_date_started_by, next_billing_date
from pkgcontract import topics
from pkgcontract.messages import Rejected, Unreadable, read
from pkgcontract.messages.fields import EARLIEST, LATEST
from pkgtools.testing.system import command
from tests.unit.test_charges import assignment, version

ZONES = sorted(zoneinfo.available_timezones())
in_bounds = st.dates(min_value=EARLIEST, max_value=LATEST)
edges = st.sampled_from(
    [EARLIEST, EARLIEST + timedelta(days=1), LATEST - timedelta(days=1), LATEST]
)
dates = edges | in_bounds
zones = st.sampled_from(ZONES)
schedules = st.sampled_from(
    [
        ("daily", ()),
        ("weekly", (1, 7)),
        ("monthly", (31,)),
        ("monthly", (1, 15)),
        ("yearly", ("02-29",)),
        ("yearly", ("12-31",)),
    ]
)


@settings(max_examples=400, deadline=None)
@given(day=dates, zone=zones, schedule=schedules)
def test_schedule_functions_are_total_over_the_bounds(
    day: date, zone: str, schedule: tuple[str, tuple[int, ...] | tuple[str, ...]]
) -> None:
    frequency, match = schedule
    start = day_start(day, zone)
    assert start.tzinfo is not None
    assert last_date_started_by(start, zone) == day
    following = next_billing_date(frequency, match, day)
    assert following > day
    # RunPackage's horizon: the start of the day after its date.
    assert day_start(day + timedelta(days=1), zone) > start


@settings(max_examples=300, deadline=None)
@given(
    start=dates,
    zone=zones,
    schedule=schedules,
    kind=st.sampled_from(["recurring", "minimum_spend"]),
)
def test_due_moments_and_charges_at_the_ends_of_the_calendar(
    start: date,
    zone: str,
    schedule: tuple[str, tuple[int, ...] | tuple[str, ...]],
    kind: str,
) -> None:
    frequency, match = schedule
    v = version(
        kind=kind,
        frequency=frequency,
        frequency_match=match,
        free_minutes=None,
        destination_prefixes=(),
        setup_retail=None,
    )
    a = assignment(Terms(None, 1, True, None), start_date=start, timezone=zone)
    due = next_due(a, [v], None, False)
    assert due is not None
    # A year on from the start, or the last tick the contract admits.
    last_tick = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
    horizon = min(last_tick, day_start(min(start + timedelta(days=400), LATEST), zone))
    charges = due_charges(a, [v], horizon, include_setup=True)
    assert all(start <= c.period.start <= LATEST for c in charges.charges)
    if charges.charges:
        after = next_due(a, [v], charges.charges[-1].period.start, True)
        assert after is None or after > charges.charges[0].valid_from


@pytest.mark.parametrize("value", ["1899-12-31", "3000-01-01", "9999-12-31", "0001-01-01"])
def test_commands_with_dates_out_of_bounds_are_rejected(value: str) -> None:
    cmd = command(
        "AssignPackage",
        assignment_id="00000000-0000-4000-8000-000000000001",
        customer_id="c1",
        package_id="p",
        quantity=1,
        start_date=value,
    )
    with pytest.raises(Rejected) as caught:
        read(topics.ASSIGNMENT_COMMANDS, command_bytes(cmd))
    assert caught.value.errors[0].field == "start_date"


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00+09:00", "9999-12-31T00:00:00Z", "1899-12-31T23:59:59Z"]
)
def test_ticks_out_of_bounds_are_unreadable(at: str) -> None:
    tick = command("ClockTicked", tick_id="00000000-0000-4000-8000-000000000002", at=at)
    with pytest.raises(Unreadable, match="between 1900-01-01 and 2999-12-31"):
        read(topics.CLOCK_TICKS, command_bytes(tick))


@pytest.mark.parametrize(
    ("field", "value", "rejected"),
    [
        ("customer_id", "a\u0001b", True),
        ("customer_id", "a\tb", True),
        ("timezone", "UTC\n", True),
        ("customer_id", "a\u0000b", True),
        ("customer_id", "\ud800", True),
        ("customer_id", "ünïcode ok", False),
    ],
)
def test_ids_hold_no_control_characters(field: str, value: str, rejected: bool) -> None:
    cmd = command(
        "AssignPackage",
        assignment_id="00000000-0000-4000-8000-000000000003",
        customer_id="c1",
        package_id="p",
        quantity=1,
        start_date="2026-01-01",
    ) | {field: value}
    if rejected:
        with pytest.raises(Rejected) as caught:
            read(topics.ASSIGNMENT_COMMANDS, command_bytes(cmd))
        assert caught.value.errors[0].field == field
    else:
        assert read(topics.ASSIGNMENT_COMMANDS, command_bytes(cmd)).customer_id == value  # type: ignore[attr-defined]


def test_names_may_hold_tabs_and_line_breaks_but_no_other_control_character() -> None:
    base = command(
        "DefinePackage",
        package_id="p",
        kind="recurring",
        retail="1.00",
        currency="GBP",
        frequency="daily",
    )
    assert read(topics.CATALOG_COMMANDS, command_bytes(base | {"name": "a\tb\r\nc"}))
    with pytest.raises(Rejected):
        read(topics.CATALOG_COMMANDS, command_bytes(base | {"name": "a\u0007b"}))


def command_bytes(obj: dict[str, object]) -> bytes:
    import json

    return json.dumps(obj).encode()
