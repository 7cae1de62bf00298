"""The clock guard with in-memory fakes (docs/contract.md §4 ClockTicked): a tick more than
CLOCK_MAX_AHEAD_SECONDS after the charger's wall clock is refused (TickRefused on
charger.events, key `clock`, once per tick_id), changes nothing and is not the latest tick;
0 turns the bound off."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from charger.domain.catch_up import Policy
from charger.domain.clock_guard import ClockGuard
from charger.service_layer.charge_due import settle_tick
from charger.service_layer.charging import charge_batch
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.handlers import handle_events
from charger.service_layer.ticks import take_ticks
from pkgcontract import topics
from pkgcontract.messages import (
    ClockTicked,
    PackageAssigned,
    PackageDefined,
    TickRefused,
    natural_event_id,
    read,
)
from tests.unit.fakes.charger import FakeUnitOfWork

pytestmark = pytest.mark.unit

WALL = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
DAY = 86_400


class _Open:
    """A barrier already passed (every input read to its end)."""

    async def check(self, _id: object, _positions: object) -> None:
        pass


def _tick(at: datetime) -> ClockTicked:
    return ClockTicked(tick_id=uuid.uuid4(), at=at)


async def _take(
    uow: FakeUnitOfWork, *ticks: ClockTicked, bound: int = DAY, wall: datetime = WALL
) -> Any:
    return await take_ticks(
        list(ticks),
        uow,
        Dependencies(inputs=_Open(), guard=ClockGuard(bound), wall_clock=lambda: wall),
    )  # type: ignore[arg-type]


async def _daily(uow: FakeUnitOfWork, start: str = "2026-12-05") -> PackageAssigned:
    package = PackageDefined(
        package_id="daily",
        version=1,
        name="daily",
        kind="recurring",
        retail="1.00",
        currency="GBP",
        frequency="daily",
        frequency_match=[],
        effective_from=None,
    )
    assigned = PackageAssigned(
        assignment_id=uuid.uuid4(),
        customer_id="acme",
        package_id="daily",
        package_version=1,
        quantity=1,
        start_date=start,
        auto_decrement_credit=True,
        timezone="UTC",
    )
    await handle_events([package, assigned], uow)
    return assigned


async def _charge(uow: FakeUnitOfWork, at: datetime, tick_id: uuid.UUID) -> None:
    while claimed := await uow.ledger.claim_due_customers(at, 100):
        await charge_batch(claimed, uow, Policy(), at, tick_id)


def test_the_bound_itself_is_accepted_a_microsecond_more_is_refused() -> None:
    guard = ClockGuard(DAY)
    assert not guard.refuses(WALL + timedelta(seconds=DAY), WALL)
    assert guard.refuses(WALL + timedelta(seconds=DAY, microseconds=1), WALL)
    assert not guard.refuses(WALL - timedelta(days=3650), WALL)  # the past is never refused
    assert not ClockGuard(0).refuses(datetime(2999, 12, 31, tzinfo=UTC), WALL)


async def test_a_tick_26_days_ahead_is_refused_and_changes_nothing() -> None:
    uow = FakeUnitOfWork()
    await _daily(uow)
    tick = _tick(WALL + timedelta(days=26))
    taken = await _take(uow, tick)

    assert (taken.accepted, taken.refused, taken.ignored) == (None, 1, 0)
    assert uow.tables.clock is None  # the clock did not move
    assert await uow.ledger.claim_due_customers(tick.at, 100) == ["acme"]  # due, yet uncharged
    assert await settle_tick(uow) is None  # nothing to settle
    assert uow.events("CreditDebited") == []
    [(topic, key, event_type, payload)] = uow.emitted
    assert (topic, key, event_type) == (topics.CHARGER_EVENTS, "clock", "TickRefused")
    refused = read(topics.CHARGER_EVENTS, payload)
    assert isinstance(refused, TickRefused)
    assert refused.event_id == natural_event_id(f"refused:{tick.tick_id}")
    assert (refused.tick_id, refused.at, refused.wall_clock) == (tick.tick_id, tick.at, WALL)
    assert "26 days" in refused.reason and "CLOCK_MAX_AHEAD_SECONDS" in refused.reason
    assert json.loads(payload)["wall_clock"] == "2026-12-06T04:00:00Z"


async def test_a_tick_at_exactly_the_bound_is_accepted() -> None:
    uow = FakeUnitOfWork()
    tick = _tick(WALL + timedelta(seconds=DAY))
    taken = await _take(uow, tick)
    assert (taken.accepted, taken.refused) == (tick, 0)
    assert uow.tables.clock == (tick.at, tick.tick_id)
    assert uow.events("TickRefused") == []


async def test_bound_zero_accepts_a_tick_in_2999() -> None:
    uow = FakeUnitOfWork()
    tick = _tick(datetime(2999, 12, 31, tzinfo=UTC))
    taken = await _take(uow, tick, bound=0)
    assert taken.accepted == tick
    assert uow.tables.clock == (tick.at, tick.tick_id)
    assert uow.emitted == []


async def test_a_refused_tick_is_not_the_latest_the_ticks_after_it_are_judged_as_usual() -> None:
    uow = FakeUnitOfWork()
    assigned = await _daily(uow)
    far = _tick(datetime(2999, 1, 1, tzinfo=UTC))
    now = _tick(WALL)
    # In one poll: the far tick is the latest by `at`, yet the tick at the wall clock is taken.
    taken = await _take(uow, now, far)
    assert (taken.accepted, taken.refused) == (now, 1)
    assert uow.tables.clock == (now.at, now.tick_id)
    await _charge(uow, now.at, now.tick_id)
    debits = uow.events("CreditDebited")
    assert [d["period_start"] for d in debits] == ["2026-12-05", "2026-12-06"]  # none ahead
    assert {d["assignment_id"] for d in debits} == {str(assigned.assignment_id)}
    settled = await settle_tick(uow)
    assert settled is not None and settled.tick_id == now.tick_id

    # In a later poll: a tick after the refused one, later than the clock, moves it.
    later = _tick(WALL + timedelta(hours=1))
    taken = await _take(uow, later, wall=WALL + timedelta(hours=1))
    assert (taken.accepted, taken.refused, taken.ignored) == (later, 0, 0)
    assert uow.tables.clock == (later.at, later.tick_id)


async def test_an_earlier_tick_after_a_refused_one_is_ignored_as_usual() -> None:
    uow = FakeUnitOfWork()
    first = _tick(WALL)
    await _take(uow, first)
    taken = await _take(uow, _tick(WALL + timedelta(days=30)), _tick(WALL - timedelta(hours=1)))
    assert (taken.accepted, taken.refused, taken.ignored) == (None, 1, 1)
    assert uow.tables.clock == (first.at, first.tick_id)


async def test_a_refused_tick_read_again_is_reported_once() -> None:
    uow = FakeUnitOfWork()
    tick = _tick(WALL + timedelta(days=26))
    await _take(uow, tick)
    again = await _take(uow, tick, tick, wall=WALL + timedelta(minutes=5))
    assert again.refused == 2
    assert len(uow.events("TickRefused")) == 1
    assert uow.tables.clock is None


async def test_the_wall_clock_is_read_when_the_tick_is_read() -> None:
    """A tick refused yesterday is judged again by today's wall clock if it is sent again."""
    uow = FakeUnitOfWork()
    tick = _tick(WALL + timedelta(days=2))
    assert (await _take(uow, tick)).refused == 1
    taken = await _take(uow, tick, wall=WALL + timedelta(days=1, hours=1))
    assert taken.accepted == tick


def test_the_setting_defaults_to_a_day_and_is_never_negative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    from charger.config import ChargerSettings

    monkeypatch.delenv("CLOCK_MAX_AHEAD_SECONDS", raising=False)
    assert ChargerSettings().clock_max_ahead_seconds == DAY
    monkeypatch.setenv("CLOCK_MAX_AHEAD_SECONDS", "0")
    assert ChargerSettings().clock_max_ahead_seconds == 0
    monkeypatch.setenv("CLOCK_MAX_AHEAD_SECONDS", "-1")
    with pytest.raises(ValidationError):
        ChargerSettings()
