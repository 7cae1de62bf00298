"""The charge of what is due, with its failure isolation, against the in-memory fakes
(docs/contract.md §4 Errors, ChargesHeld reason "failed: …"): a batch that fails is rolled back
and charged one customer, then one assignment at a time; an assignment that fails on every try
is held, and the tick settles without it; a failure of the infrastructure is raised and leaves
nothing. The same story runs against PostgreSQL in tests/integration/test_failing_charges.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from charger.service_layer import ticks
from charger.service_layer.charge_due import charge_due
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.handlers import handle_events
from pkgcontract import topics
from pkgcontract.messages import ClockTicked, Message, PackageAssigned, natural_event_id
from pkgshared.failures import Tries
from tests.unit.fakes.charger import FakeUnitsOfWork
from tests.unit.test_charger_handlers import _assigned, _package

pytestmark = pytest.mark.unit

TRIES = Tries(2, 0.0, 0.0)


async def _read(units: FakeUnitsOfWork, *events: Message) -> None:
    async with units() as uow:
        await handle_events(list(events), uow)
        await uow.commit()


async def _tick(units: FakeUnitsOfWork, at: datetime) -> uuid.UUID:
    tick = ClockTicked(tick_id=uuid.uuid4(), at=at)
    async with units() as uow:
        assert await ticks.accept_tick(tick, uow, Dependencies())
        await uow.commit()
    return tick.tick_id


def _debited(units: FakeUnitsOfWork, a: PackageAssigned) -> list[str]:
    return [
        d["period_start"]
        for d in units.events("CreditDebited")
        if d["assignment_id"] == str(a.assignment_id)
    ]


async def test_a_failing_assignment_is_held_and_the_tick_settles_without_it() -> None:
    units = FakeUnitsOfWork()
    daily = _package("daily")
    good = _assigned(daily, customer="mixed")
    bad = _assigned(daily, customer="mixed")
    others = [_assigned(daily, customer=f"other-{n}") for n in range(3)]
    await _read(units, daily, good, bad, *others)
    units.tables.failing.add(bad.assignment_id)

    tick = await _tick(units, datetime(2026, 1, 3, 12, tzinfo=UTC))
    opened = units.opened
    assert await charge_due(units, Dependencies(tries=TRIES))

    for a in (good, *others):
        assert _debited(units, a) == ["2026-01-01", "2026-01-02", "2026-01-03"]  # once each
    assert _debited(units, bad) == []
    [held] = units.events("ChargesHeld")
    assert held["assignment_id"] == str(bad.assignment_id)
    assert held["reason"].startswith("failed: ") and "cannot be read" in held["reason"]
    assert held["event_id"] == str(natural_event_id(f"held:{bad.assignment_id}:failed:{tick}"))
    assert held["count"] >= 1 and held["first_period_start"] == "2026-01-01"
    assert [s["tick_id"] for s in units.events("ChargesSettled")] == [str(tick)]
    [(topic, key, *_)] = [e for e in units.published if e[2] == "ChargesHeld"]
    assert (topic, key) == (topics.CHARGER_EVENTS, "mixed")
    # The batch, each customer, each of mixed's assignments: transactions of their own.
    assert units.opened - opened > 5
    assert units.tables.assignments[bad.assignment_id].tracked.hold == "held"

    # The next tick: the others go on, the held one waits and is not held again.
    second = await _tick(units, datetime(2026, 1, 4, 12, tzinfo=UTC))
    assert await charge_due(units, Dependencies(tries=TRIES))
    assert len(units.events("ChargesHeld")) == 1
    assert _debited(units, good)[-1] == "2026-01-04"
    assert [s["tick_id"] for s in units.events("ChargesSettled")][-1] == str(second)

    # Mended and released: the next tick makes every period it missed, once, in order.
    units.tables.failing.clear()
    async with units() as uow:
        await uow.ledger.release([bad.assignment_id])
        await uow.commit()
    await _tick(units, datetime(2026, 1, 5, 12, tzinfo=UTC))
    assert await charge_due(units, Dependencies(tries=TRIES))
    assert _debited(units, bad) == [f"2026-01-0{d}" for d in range(1, 6)]


async def test_a_batch_that_fails_is_rolled_back_before_it_is_charged_one_by_one() -> None:
    """What the failed batch wrote before its failure (another customer's ledger rows) is not
    kept: each charge is made once, by the transaction that commits; the held event still says
    how many charges were due, and which periods."""
    units = FakeUnitsOfWork()
    daily = _package("daily")
    first = _assigned(daily, customer="a-first")
    bad = _assigned(daily, customer="z-last")
    await _read(units, daily, first, bad)
    units.tables.refusing.add("z-last")
    await _tick(units, datetime(2026, 1, 2, 12, tzinfo=UTC))
    assert await charge_due(units, Dependencies(tries=TRIES))
    assert _debited(units, first) == ["2026-01-01", "2026-01-02"]
    assert sorted(r.customer_id for r in units.tables.ledger.values()) == ["a-first"] * 2
    [held] = units.events("ChargesHeld")
    assert (held["count"], held["first_period_start"], held["last_period_start"]) == (
        2,
        "2026-01-01",
        "2026-01-02",
    )
    assert "refuses" in held["reason"]


async def test_a_failure_of_the_infrastructure_is_raised_and_holds_nothing() -> None:
    units = FakeUnitsOfWork()
    daily = _package("daily")
    bad = _assigned(daily)
    await _read(units, daily, bad)
    units.tables.failing.add(bad.assignment_id)
    await _tick(units, datetime(2026, 1, 2, 12, tzinfo=UTC))

    async def down() -> bool:
        return False  # PostgreSQL does not answer: the failure is not the work's

    with pytest.raises(ValueError):
        await charge_due(units, Dependencies(tries=TRIES, healthy=down))
    assert units.events("ChargesHeld") == [] and units.events("ChargesSettled") == []
    assert units.tables.assignments[bad.assignment_id].tracked.hold is None
