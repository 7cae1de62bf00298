"""Part-periods and credits (docs/contract.md §7) against PostgreSQL: the worked example through
the projections and the tick worker, with the ledger keeping what a credit needs and the
credits table keeping each period credited once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.domain.catch_up import Policy
from charger.service_layer.handlers import handle_events
from pkgcontract.messages import AssignmentChanged, AssignmentEnded, PackageDefined
from tests.integration.test_catch_up import _assigned, _drain, _events, _setup, _tick


def _pbx() -> PackageDefined:
    return PackageDefined(
        package_id="pbx-seat",
        version=1,
        name="PBX seat",
        kind="recurring",
        retail="30.00",
        currency="USD",
        frequency="monthly",
        frequency_match=[1],
        effective_from=None,
        proration="daily",
    )


async def _project(pool: Any, *events: Any) -> None:
    uow = ChargerUnitOfWork(pool)
    async with uow:
        await handle_events(list(events), uow)
        await uow.commit()


async def test_the_worked_example_through_postgres(pool: Any) -> None:
    assigned = _assigned("acme", "pbx-seat", "2026-04-10", quantity=2)
    await _setup(pool, _pbx(), assigned)
    policy = Policy()
    await _tick(pool, datetime(2026, 4, 10, 0, 0, 1, tzinfo=UTC))
    await _drain(pool, policy)
    await _tick(pool, datetime(2026, 5, 1, 0, 0, 1, tzinfo=UTC))
    await _drain(pool, policy)
    debits = await _events(pool, "CreditDebited")
    assert [
        (d["period_start"], d["period_end"], d["amount"], d["charged_days"], d["period_days"])
        for d in debits
    ] == [
        ("2026-04-10", "2026-05-01", "42.000000", 21, 30),
        ("2026-05-01", "2026-06-01", "60.00", None, None),
    ]
    ended = AssignmentEnded(
        assignment_id=assigned.assignment_id,
        customer_id="acme",
        package_id="pbx-seat",
        end_date=date(2026, 5, 19),
        correlation_id="end-1",
    )
    await _project(pool, ended)
    await _project(pool, ended.model_copy(update={"event_id": uuid.uuid4()}))
    [credit] = await _events(pool, "CreditIssued")
    assert (credit["credited_from"], credit["credited_days"], credit["amount"]) == (
        "2026-05-20",
        12,
        "23.225806",
    )
    assert credit["debit_id"] == debits[1]["debit_id"] and credit["correlation_id"] == "end-1"
    assert credit["package_version"] == 1 and credit["reason"] == "ended_early"
    # Moved later again: nothing more is credited, nothing charged back.
    later = AssignmentChanged(
        **assigned.model_dump(exclude={"event_type", "event_id", "end_date"}),
        end_date=date(2026, 5, 25),
        effective_from=date(2026, 5, 1),
    )
    await _project(pool, later)
    await _tick(pool, datetime(2026, 6, 2, tzinfo=UTC))
    await _drain(pool, policy)
    assert len(await _events(pool, "CreditIssued")) == 1
    assert len(await _events(pool, "CreditDebited")) == 2
    async with pool.acquire() as conn:
        totals = await conn.fetchval(
            "SELECT sum(amount) FROM spend_limit_debits WHERE customer_id = 'acme'"
        )
    assert str(totals) == "102.000000"  # credits do not lower what the spend limit counts


async def test_an_end_known_before_the_period_cuts_its_debit(pool: Any) -> None:
    assigned = _assigned("acme", "pbx-seat", "2026-04-10", quantity=2, end_date=date(2026, 5, 19))
    await _setup(pool, _pbx(), assigned)
    await _tick(pool, datetime(2026, 6, 1, tzinfo=UTC))
    await _drain(pool, Policy())
    debits = await _events(pool, "CreditDebited")
    assert [(d["period_start"], d["period_end"], d["amount"]) for d in debits] == [
        ("2026-04-10", "2026-05-01", "42.000000"),
        ("2026-05-01", "2026-05-20", "36.774194"),
    ]
    assert await _events(pool, "CreditIssued") == []


def _daily(retail: str = "2.00") -> PackageDefined:
    return _pbx().model_copy(
        update={
            "package_id": "daily-seat",
            "retail": Decimal(retail),
            "frequency": "daily",
            "frequency_match": [],
        }
    )


def _end(assigned: Any, day: date) -> AssignmentEnded:
    return AssignmentEnded(
        assignment_id=assigned.assignment_id,
        customer_id=assigned.customer_id,
        package_id=assigned.package_id,
        end_date=day,
    )


def _days(first: date, last: date) -> list[str]:
    return [date.fromordinal(n).isoformat() for n in range(first.toordinal(), last.toordinal() + 1)]


async def test_a_daily_package_ended_early_while_running_credits_each_day_whole(pool: Any) -> None:
    """A daily package with proration "daily" charged far ahead (through 05-17), then ended on
    01-25: 112 days credited, each whole, once, through the ledger's SQL; read again: none."""
    assigned = _assigned("acme", "daily-seat", "2026-01-01")
    await _setup(pool, _daily(), assigned)
    await _tick(pool, datetime(2026, 5, 17, 0, 0, 1, tzinfo=UTC))
    await _drain(pool, Policy())
    debits = await _events(pool, "CreditDebited")
    assert len(debits) == 137
    ended = _end(assigned, date(2026, 1, 25))
    await _project(pool, ended)
    await _project(pool, ended.model_copy(update={"event_id": uuid.uuid4()}))
    credits = await _events(pool, "CreditIssued")
    assert [c["period_start"] for c in credits] == _days(date(2026, 1, 26), date(2026, 5, 17))
    by_debit = {d["debit_id"]: d for d in debits}
    for c in credits:
        debit = by_debit[c["debit_id"]]
        assert (c["credited_from"], c["credited_days"]) == (c["period_start"], 1)
        assert c["amount"] == "2.000000" and debit["amount"] == "2.00"
        assert c["period_end"] == debit["period_end"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM credits") == 112


async def test_a_finished_daily_assignment_ended_twice_credits_each_day_once(pool: Any) -> None:
    """Finished (its end passed), then ended earlier twice back to back: each move credits the
    days it newly uncovers, each day once; moved later: nothing credited or charged back, and
    the days after those charged are charged as they fall due inside the assignment."""
    assigned = _assigned("acme", "daily-seat", "2026-01-01", quantity=2, end_date=date(2026, 2, 10))
    await _setup(pool, _daily("1.50"), assigned)
    policy = Policy()
    await _tick(pool, datetime(2026, 3, 1, tzinfo=UTC))
    await _drain(pool, policy)
    assert len(await _events(pool, "CreditDebited")) == 41  # 01-01 .. 02-10, then finished
    await _project(pool, _end(assigned, date(2026, 2, 1)))
    await _project(pool, _end(assigned, date(2026, 1, 25)))
    credits = await _events(pool, "CreditIssued")
    assert [c["period_start"] for c in credits] == _days(date(2026, 2, 2), date(2026, 2, 10)) + (
        _days(date(2026, 1, 26), date(2026, 2, 1))
    )
    assert {(c["credited_days"], c["amount"]) for c in credits} == {(1, "3.000000")}
    later = AssignmentChanged(
        **assigned.model_dump(exclude={"event_type", "event_id", "end_date"}),
        end_date=date(2026, 2, 15),
        effective_from=date(2026, 1, 1),
    )
    await _project(pool, later)
    await _drain(pool, policy)  # read after the tick: due at once, as of it
    debits = [d["period_start"] for d in await _events(pool, "CreditDebited")]
    assert debits == _days(date(2026, 1, 1), date(2026, 2, 15))
    assert len(await _events(pool, "CreditIssued")) == 16
