"""The tick workers against PostgreSQL: the catch-up limit (ChargesHeld, release), a tick's
work bounded per transaction by charges, and notices (ChargeUpcoming) once per period.
Driven through the store and the worker's `drain`, events read back from the outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from charger.adapters.clock import ClockRepository
from charger.adapters.ledger import LedgerRepository
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.bootstrap import MIGRATIONS
from charger.domain.catch_up import Policy
from charger.service_layer.charge_due import charge_due
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.handlers import handle_events
from pkgcontract.messages import PackageAssigned, PackageDefined
from pkgshared.db import SHARED_MIGRATIONS, migrate


def _package(package: str, frequency: str, match: list[int], **extra: Any) -> PackageDefined:
    return PackageDefined(
        package_id=package,
        version=1,
        name=package,
        kind="recurring",
        retail="2.50",
        currency="GBP",
        frequency=frequency,
        frequency_match=match,
        effective_from=None,
        **extra,
    )


def _assigned(customer: str, package: str, start: str, **extra: Any) -> PackageAssigned:
    fields: dict[str, Any] = {
        "auto_decrement_credit": True,
        "timezone": "UTC",
        "quantity": 1,
        **extra,
    }
    return PackageAssigned(
        assignment_id=uuid.uuid4(),
        customer_id=customer,
        package_id=package,
        package_version=1,
        start_date=start,
        **fields,
    )


async def _setup(pool: Any, *events: PackageDefined | PackageAssigned) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    uow = ChargerUnitOfWork(pool)
    async with uow:
        await handle_events(list(events), uow)
        await uow.commit()


async def _tick(pool: Any, at: datetime) -> uuid.UUID:
    tick_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        assert await ClockRepository(conn).advance_clock(at, tick_id)
        await LedgerRepository(conn).wake_released(at)
    return tick_id


async def _events(pool: Any, event_type: str) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT e.payload FROM outbox_batches b, "
            "unnest(b.event_types, b.payloads) WITH ORDINALITY AS e(event_type, payload, n) "
            "WHERE e.event_type = $1 ORDER BY b.id, e.n",
            event_type,
        )
    return [json.loads(r["payload"]) for r in rows]


async def _drain(pool: Any, policy: Policy) -> bool:
    return await charge_due(partial(ChargerUnitOfWork, pool), Dependencies(policy=policy))


async def test_a_tick_years_ahead_holds_the_assignment_until_released(pool: Any) -> None:
    """A monthly assignment and a tick 50 years on: 600 charges, over the limit of 400. None
    is made, ChargesHeld is written once, the next ticks make nothing for it; released, the
    next tick makes every period once, in order, and the limit applies again after that."""
    assigned = _assigned("far", "monthly", "2026-01-01")
    await _setup(pool, _package("monthly", "monthly", [1]), assigned)
    policy = Policy(catch_up_limit=400)
    tick = await _tick(pool, datetime(2076, 1, 1, 12, tzinfo=UTC))
    await _drain(pool, policy)
    held = await _events(pool, "ChargesHeld")
    assert [(h["count"], h["first_period_start"], h["last_period_start"]) for h in held] == [
        (601, "2026-01-01", "2076-01-01")
    ]
    assert held[0]["tick_id"] == str(tick)
    assert held[0]["assignment_id"] == str(assigned.assignment_id)
    assert await _events(pool, "CreditDebited") == []

    await _tick(pool, datetime(2076, 3, 1, 12, tzinfo=UTC))
    await _drain(pool, policy)
    assert len(await _events(pool, "ChargesHeld")) == 1
    assert await _events(pool, "CreditDebited") == []

    async with pool.acquire() as conn, conn.transaction():
        store = LedgerRepository(conn)
        assert await store.hold_of("far", assigned.assignment_id) == "held"
        await store.release([assigned.assignment_id])
    await _drain(pool, policy)  # released: nothing until the next tick
    assert await _events(pool, "CreditDebited") == []

    await _tick(pool, datetime(2076, 4, 1, 12, tzinfo=UTC))
    await _drain(pool, policy)
    debits = await _events(pool, "CreditDebited")
    starts = [d["period_start"] for d in debits]
    assert len(starts) == 604 and len(set(starts)) == 604
    assert starts == sorted(starts) and starts[0] == "2026-01-01" and starts[-1] == "2076-04-01"
    async with pool.acquire() as conn:
        assert await LedgerRepository(conn).hold_of("far", assigned.assignment_id) == "none"


async def test_under_the_limit_and_skipped_debits_are_not_held(pool: Any) -> None:
    """400 charges are made (the limit is "more than"); debits auto_decrement_credit = false
    skips do not count, however many."""
    await _setup(
        pool,
        _package("daily", "daily", []),
        _assigned("at-limit", "daily", "2026-01-01"),
        _assigned("skipped", "daily", "2026-01-01", auto_decrement_credit=False),
    )
    await _tick(pool, datetime(2027, 2, 4, 1, tzinfo=UTC))  # 400 days from 1 January 2026
    await _drain(pool, Policy(catch_up_limit=400))
    debits = await _events(pool, "CreditDebited")
    assert len(debits) == 400 and {d["customer_id"] for d in debits} == {"at-limit"}
    assert await _events(pool, "ChargesHeld") == []


async def test_a_released_catch_up_is_charged_a_bounded_batch_at_a_time(pool: Any) -> None:
    """3,000 daily periods released with 500 charges per transaction: at least six
    transactions, each period once and in order, the customer's other assignment with it."""
    first = _assigned("big", "daily", "2020-01-01")
    other = _assigned("big", "daily", "2028-03-01")
    await _setup(pool, _package("daily", "daily", []), first, other)
    policy = Policy(catch_up_limit=400, batch_charges=500)
    at = datetime(2028, 3, 18, 12, tzinfo=UTC)  # day 3,000 from 1 January 2020
    await _tick(pool, at)
    await _drain(pool, policy)
    assert len(await _events(pool, "ChargesHeld")) == 1
    async with pool.acquire() as conn, conn.transaction():
        await LedgerRepository(conn).release([first.assignment_id])
    await _tick(pool, datetime(2028, 3, 18, 13, tzinfo=UTC))
    await _drain(pool, policy)
    debits = await _events(pool, "CreditDebited")
    mine = [d["period_start"] for d in debits if d["assignment_id"] == str(first.assignment_id)]
    assert len(mine) == 3000 and len(set(mine)) == len(mine) and mine == sorted(mine)
    theirs = [d for d in debits if d["assignment_id"] == str(other.assignment_id)]
    assert len(theirs) == 18  # charged at the first tick (1-18 March), not again
    async with pool.acquire() as conn:
        units = await conn.fetch(
            "SELECT n FROM outbox_batches WHERE 'CreditDebited' = ANY(event_types) ORDER BY id"
        )
    assert len(units) >= 6 and max(r["n"] for r in units) <= 500 + 2


async def test_a_notice_is_sent_once_ahead_of_each_period(pool: Any) -> None:
    """Monthly on the 15th in Paris, 7 days' notice: the notice moment is midnight in Paris
    on the 8th (23:00 UTC on the 7th in winter). A tick before it sends nothing, one after it
    sends the notice once, a tick that passes both moments of a period sends none for it."""
    assigned = _assigned("paris", "monthly", "2027-01-15", timezone="Europe/Paris")
    await _setup(pool, _package("monthly", "monthly", [15], notice_days=7), assigned)
    policy = Policy()
    await _tick(pool, datetime(2027, 1, 15, 0, tzinfo=UTC))  # the first period is due
    await _drain(pool, policy)
    assert await _events(pool, "ChargeUpcoming") == []
    await _tick(pool, datetime(2027, 2, 7, 22, 59, tzinfo=UTC))
    await _drain(pool, policy)
    assert await _events(pool, "ChargeUpcoming") == []
    await _tick(pool, datetime(2027, 2, 7, 23, 0, tzinfo=UTC))
    await _drain(pool, policy)
    await _tick(pool, datetime(2027, 2, 10, tzinfo=UTC))
    await _drain(pool, policy)
    notices = await _events(pool, "ChargeUpcoming")
    assert [(n["period_start"], n["period_end"], n["due_at"], n["amount"]) for n in notices] == [
        ("2027-02-15", "2027-03-15", "2027-02-14T23:00:00Z", "2.50")
    ]
    assert notices[0]["exceeds_spend_limit"] is False
    # One tick passes March's notice moment and due moment (no notice), and April's notice
    await _tick(pool, datetime(2027, 4, 14, tzinfo=UTC))
    await _drain(pool, policy)
    notices = await _events(pool, "ChargeUpcoming")
    assert [n["period_start"] for n in notices] == ["2027-02-15", "2027-04-15"]
    debits = await _events(pool, "CreditDebited")
    assert [d["period_start"] for d in debits] == ["2027-01-15", "2027-02-15", "2027-03-15"]


async def test_no_notice_without_a_debit_to_make(pool: Any) -> None:
    """No notice when auto_decrement_credit is false, when the assignment ends before the
    period, or when no notice days are set (the charger's default is 0)."""
    await _setup(
        pool,
        _package("noticed", "monthly", [1], notice_days=10),
        _package("silent", "monthly", [1]),
        _assigned("manual", "noticed", "2027-01-01", auto_decrement_credit=False),
        _assigned("ending", "noticed", "2027-01-01", end_date=date(2027, 1, 31)),
        _assigned("default", "silent", "2027-01-01"),
        _assigned("told", "noticed", "2027-01-01"),
    )
    await _tick(pool, datetime(2027, 1, 25, tzinfo=UTC))
    await _drain(pool, Policy())
    notices = await _events(pool, "ChargeUpcoming")
    assert [(n["customer_id"], n["period_start"]) for n in notices] == [("told", "2027-02-01")]
